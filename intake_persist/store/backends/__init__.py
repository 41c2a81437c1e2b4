"""Storage backends of the persist store: the :class:`~.base.Backend` interface and
one module per kind of storage (:mod:`.local`, :mod:`.fsspec`, :mod:`.s3`).

:func:`backend_for` picks the class for a persist path by its protocol in
:data:`known_backends`, which maps protocols to dotted class names imported on
first use (as fsspec's ``known_implementations``), so no backend module is
imported before a store needs it; other protocols use :class:`~.fsspec.FsspecBackend`.
Register another class with :func:`register_backend`.
"""

from __future__ import annotations

import importlib

from ..._io import is_local, protocol
from .base import Backend, Claim, Item, Tag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Backend", "Claim", "Item", "Tag", "backend_for", "backend_class",
           "known_backends", "register_backend"]

_HERE = __name__

#: protocol -> the backend class (a dotted name, imported on first use, or the class);
#: ``file`` is for local paths, ``""`` for any other protocol
known_backends: dict[str, str | type[Backend]] = {
    "file": f"{_HERE}.local.LocalBackend",
    "s3": f"{_HERE}.s3.S3Backend",
    "s3a": f"{_HERE}.s3.S3Backend",
    "": f"{_HERE}.fsspec.FsspecBackend",
}


def register_backend(protocol_name: str, cls: str | type[Backend]) -> None:
    """Use ``cls(root, **storage_options)`` for persist paths of this protocol;
    ``cls`` a :class:`~.base.Backend` subclass or its dotted name
    (``"package.module.Class"``, imported when first used)."""
    if not (isinstance(cls, str) or (isinstance(cls, type) and issubclass(cls, Backend))):
        raise TypeError(f"register_backend({protocol_name!r}, ...) needs a Backend subclass "
                        f"or its dotted name, got {cls!r}")
    known_backends[protocol_name] = cls


def backend_class(protocol_name: str) -> type[Backend]:
    """The backend class for a protocol (``file`` for local paths), imported if needed."""
    target = known_backends.get(protocol_name, known_backends[""])
    if isinstance(target, str):
        module, _, name = target.rpartition(".")
        cls = getattr(importlib.import_module(module), name, None)
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TypeError(f"the backend {target!r} registered for {protocol_name!r} "
                            "is not a Backend subclass")
        return cls
    return target


def backend_for(url: str, **storage_options: Any) -> Backend:
    """The backend for the persist path ``url`` (local paths use the standard library)."""
    proto = "file" if is_local(url) else protocol(url) or ""
    return backend_class(proto)(url, **storage_options)
