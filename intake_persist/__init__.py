"""intake_persist: open intake 0.x YAML catalogs and persist their sources.

Heavy libraries (fsspec, pandas, dask, pyarrow, zarr, s3fs, jinja2) are imported
when first needed, so ``import intake_persist`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "open_catalog": "intake_persist.catalog.loader",
    "Catalog": "intake_persist.catalog.catalog",
    "DataSource": "intake_persist.sources.base",
    "Schema": "intake_persist.sources.base",
    "register_driver": "intake_persist.sources.registry",
    "known_drivers": "intake_persist.sources.registry",
    "PersistStore": "intake_persist.store.persist_store",
    "get_store": "intake_persist.store",
    "tokenize": "intake_persist.tokens",
    "IntakePersistError": "intake_persist.errors",
}

__all__ = [*_LAZY, "store", "__version__"]

if TYPE_CHECKING:  # for type checkers and IDEs; resolved lazily at run time
    from .catalog.catalog import Catalog  # noqa: F401
    from .catalog.loader import open_catalog  # noqa: F401
    from .sources.base import DataSource, Schema  # noqa: F401
    from .sources.registry import known_drivers, register_driver  # noqa: F401
    from .store import get_store  # noqa: F401
    from .store.persist_store import PersistStore  # noqa: F401


def __getattr__(name: str) -> Any:
    if name == "store":
        from .store import get_store

        return get_store()
    if name == "tokenize":
        from .tokens import token_of

        return token_of
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'intake_persist' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
