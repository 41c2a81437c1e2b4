"""The shared store: ``intake_persist.store`` (and ``from intake_persist import store``).

One object, :data:`SHARED`, that is a :class:`~.persist_store.PersistStore` bound to
the configured persist path at each use: every attribute it does not define itself
(``path``, ``backend``, ``index``...) comes from ``get_store()``, the store of the
current configuration (``INTAKE_PERSIST_PATH``, ``conf.yaml``). So a name imported
once follows the configuration, and nothing is read before the first use.

Names of the ``intake_persist.store`` sub-package that the store does not have
(``get_store``, ``persist_store``, ``layout``...) are answered from it, so that
``import intake_persist.store.layout as layout`` keeps working although
``intake_persist.store`` is the store.
"""

from __future__ import annotations

import sys
from typing import Any

from .persist_store import PersistStore

_PACKAGE = __name__.rsplit(".", 1)[0]  # intake_persist.store


def _bound() -> PersistStore:
    from . import get_store

    return get_store()


class SharedStore(PersistStore):
    """The configured :class:`PersistStore`, re-bound when the configuration changes."""

    def __init__(self) -> None:  # noqa: D107 - bound at each use, see __getattr__
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(_bound(), name)
        except AttributeError:
            pass
        package = sys.modules.get(_PACKAGE)
        if package is not None and not name.startswith("_"):
            found = vars(package).get(name, sys.modules.get(f"{_PACKAGE}.{name}"))
            if found is not None:
                return found
        raise AttributeError(f"'PersistStore' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"cannot set {name!r} on the shared store; configure it with INTAKE_PERSIST_PATH "
            "or conf.yaml, or make an explicit PersistStore(path)"
        )

    def __dir__(self) -> list[str]:
        return sorted(set(dir(type(self))) | set(vars(_bound())))

    def __repr__(self) -> str:
        return f"<PersistStore {self.path!r} (the configured store)>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (shared, ())


SHARED = SharedStore()


def shared() -> SharedStore:
    """The shared store object (the same one every time)."""
    return SHARED
