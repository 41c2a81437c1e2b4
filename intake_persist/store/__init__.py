"""The persist store: persisted copies of sources and their central index.

``get_store()`` returns the shared :class:`~.persist_store.PersistStore` for the
current configuration (``INTAKE_PERSIST_PATH``, ``conf.yaml``); one store object is
kept per (path, storage options), so changing the environment is honoured.
Nothing is read or imported from storage at import time.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import types
from collections.abc import Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .persist_store import PersistStore

__all__ = ["get_store", "reset_store", "PersistStore", "MODES"]

from ..errors import PERSIST_MODES as MODES  # noqa: E402

_stores: dict[tuple[str, str], PersistStore] = {}
_fast: dict[tuple[Any, ...], PersistStore] = {}
_lock = threading.Lock()
# sub-modules, some named as store methods (gc, index, refresh, versions): never the store's
_SUBMODULES = {"layout", "backends", "index", "journal", "offsets", "persist_store", "export",
               "retry", "copies", "freshness", "gc", "pending", "readers", "records",
               "refresh", "results", "shared", "versions"}


def get_store() -> PersistStore:
    """The shared store for the configured persist path and storage options.

    Called on every catalog entry access, so the answer is cached under what it
    depends on: ``INTAKE_PERSIST_PATH``, the conf directory, the stat of its
    ``conf.yaml`` (and the working directory, for relative paths)."""
    from .. import config

    confdir = config.confdir()
    try:
        st = os.stat(os.path.join(confdir, "conf.yaml"))
        stamp: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    fast_key = (os.environ.get("INTAKE_PERSIST_PATH"), confdir, stamp, os.getcwd())
    store = _fast.get(fast_key)
    if store is not None:
        return store
    store = _fast[fast_key] = _get_store(config)
    return store


def _get_store(config: types.ModuleType) -> PersistStore:
    conf = config.load_conf()
    path = config.persist_path(conf)
    options = config.persist_storage_options(conf)
    key = (path, json.dumps(options, sort_keys=True, default=str))
    store = _stores.get(key)
    if store is None:
        from .persist_store import PersistStore

        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = PersistStore(path, **options)
    return store


def reset_store() -> None:
    """Forget the shared store objects (the next ``get_store()`` makes a new one)."""
    _stores.clear()
    _fast.clear()


def __getattr__(name: str) -> Any:
    if name == "PersistStore":
        from .persist_store import PersistStore

        return PersistStore
    ps = sys.modules.get(f"{__name__}.persist_store")
    cls = getattr(ps, "PersistStore", None) if ps is not None else None
    if ps is None and not name.startswith("_") and name not in _SUBMODULES:
        from .persist_store import PersistStore as cls
    if name.startswith("_") or cls is None or not hasattr(cls, name) and name != "path":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # ``intake_persist.store`` *is* the shared store. Importing this subpackage
    # makes ``intake_persist.store`` the module, so the module stands in for the
    # store: ``intake_persist.store.persist(...)``, ``.gc()``, ``.path``...
    return getattr(get_store(), name)


class _StoreModule(types.ModuleType):
    """This module's class: container protocol forwarded to the shared store."""

    def __iter__(self) -> Iterator[str]:
        return iter(get_store())

    def __len__(self) -> int:
        return len(get_store())

    def __contains__(self, key: Any) -> bool:
        return key in get_store()

    def __getitem__(self, key: Any) -> Any:
        return get_store()[key]


sys.modules[__name__].__class__ = _StoreModule
