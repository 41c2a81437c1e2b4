"""intake_persist: open intake 0.x YAML catalogs and persist their sources.

Heavy libraries (fsspec, pandas, dask, pyarrow, zarr, s3fs, jinja2) are imported
when first needed, so ``import intake_persist`` stays fast.
"""

from __future__ import annotations

import sys
import types

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
    "CopyInfo": "intake_persist.store.results",
    "GcReport": "intake_persist.store.results",
    "tokenize": "intake_persist.tokens",
    "IntakePersistError": "intake_persist.errors",
    "persisted": "intake_persist.functions",
    "Version": "intake_persist.store.versions",
}

__all__ = [*_LAZY, "store", "__version__"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers and IDEs; resolved lazily at run time
    from typing import Any

    # ``name as name``: an explicit re-export (mypy's no_implicit_reexport)
    from .catalog.catalog import Catalog as Catalog
    from .catalog.loader import open_catalog as open_catalog
    from .errors import IntakePersistError as IntakePersistError
    from .functions import persisted as persisted
    from .sources.base import DataSource as DataSource
    from .sources.base import Schema as Schema
    from .sources.registry import known_drivers as known_drivers
    from .sources.registry import register_driver as register_driver
    from .store import get_store as get_store
    from .store.persist_store import PersistStore as PersistStore
    from .store.results import CopyInfo as CopyInfo
    from .store.results import GcReport as GcReport
    from .store.shared import SharedStore
    from .store.versions import Version as Version
    from .tokens import token_of

    tokenize = token_of


def __getattr__(name: str) -> Any:
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


class _Package(types.ModuleType):
    """The class of this module: ``intake_persist.store`` is the configured store.

    The name is also that of the ``intake_persist.store`` sub-package; when the
    sub-package is imported, the import system sets it as this module's attribute,
    which the setter keeps out of the way (it stays in ``sys.modules``)."""

    @property
    def store(self) -> SharedStore:
        """The shared :class:`PersistStore` of the configured persist path, bound at
        each use (``INTAKE_PERSIST_PATH``, ``conf.yaml``)."""
        from .store.shared import shared

        return shared()

    @store.setter
    def store(self, value: Any) -> None:
        if not isinstance(value, types.ModuleType):
            raise AttributeError(
                "intake_persist.store is the configured store; set INTAKE_PERSIST_PATH or "
                "conf.yaml, or make an explicit PersistStore(path)"
            )

    @store.deleter
    def store(self) -> None:
        pass


sys.modules[__name__].__class__ = _Package
