"""Reading a persisted copy that may be deleted under its reader.

Copies are immutable once published, and a copy taken out of the index is
deleted only after the store's grace period (``persist_grace``), so a reader
normally finishes with the copy it resolved. When the copy is gone anyway (a
read that outlived the grace period, ``gc(grace=0)``, ``clear()``, a hand
deletion), the source that reads it does not fail from the middle of a
library with an ``IndexError`` or a bare ``FileNotFoundError``:

1. it resolves the entry again through the index, once, under its
   ``persist_mode`` (``store.resolve``: the current copy, a fresh copy when the
   entry has expired, or the original when the store has none);
2. if that does not give a readable source, it reads the original;
3. only then it fails, with :class:`~intake_persist.errors.CopyGoneError`
   naming the store, the entry and the key.

How a reader knows its copy was whole: a copy's files are deleted meta file
first (``<token>/<vid>.meta.yaml``), data after. After each read of a copy the
guard checks that the meta file is still there; if it is, no data file was
deleted before or during the read. If it is not, the result is thrown away and
the read is done again as above. A failed read is retried the same way only
when the meta file is gone; otherwise its error is the real one and is raised.

The guard (:class:`CopyGuard`) sits in the ``_ip_guard`` attribute of the
sources :meth:`PersistStore._build` makes; the reading methods of every
:class:`~intake_persist.sources.base.DataSource` (see
:data:`GUARDED_METHODS`) consult it. It pickles without its store object, so
sources sent to dask workers keep it.
"""

from __future__ import annotations

import threading
import weakref

from . import layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The reading methods a guard covers (on every DataSource subclass that has them).
GUARDED_METHODS = (
    "read",
    "read_partition",
    "_load_schema",
    "to_dask",
    "read_partition_arrow",
    "_dask_meta",
)

_local = threading.local()
_guards: weakref.WeakSet[CopyGuard] = weakref.WeakSet()
_guards_lock = threading.Lock()


def held_open(path: str, key: str, vid: str) -> bool:
    """True when a source of this process reads copy ``vid`` of ``key`` in the store
    at ``path``: it has started reading (schema, a partition...) and is neither
    closed nor garbage. Pruning leaves such a copy alone (see :func:`.copies.reap`)."""
    with _guards_lock:
        guards = list(_guards)
    return any(g.opened and g.vid == vid and g.key == key and g.path == path
               for g in guards)


def _register(guard: CopyGuard) -> None:
    with _guards_lock:
        _guards.add(guard)


def _busy() -> set[int]:
    """Ids of the guarded sources this thread is reading now (inner calls of a
    guarded call, ``read`` calling ``read_partition``, are not guarded again)."""
    busy = getattr(_local, "busy", None)
    if busy is None:
        busy = _local.busy = set()
    return busy


class _Gone(Exception):
    """A candidate copy lost its files during the read."""


def _call_on(obj: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``obj.name(*args, **kwargs)``, or its equivalent for a source (the original)
    that lacks a method of the copy's driver."""
    method = getattr(obj, name, None)
    if method is not None:
        return method(*args, **kwargs)
    if name == "_dask_meta":
        from ..containers import dataframe_meta

        return dataframe_meta(obj)
    if name == "read_partition_arrow":
        import pyarrow as pa

        return pa.Table.from_pandas(obj.read_partition(*args, **kwargs))
    raise AttributeError(f"{type(obj).__name__} has no method {name!r}")


class CopyGuard:
    """Keeps a source reading persisted copy ``vid`` of ``key`` honest (see module
    docstring)."""

    def __init__(self, store: Any, key: str, vid: str, mode: str = "default"):
        self.store = store
        self.path = store.path
        self.storage_options = dict(store.storage_options)
        self.grace = getattr(store, "_grace", None)
        self.retry = getattr(store, "retry_policy", None)
        self.key = key
        self.vid = vid
        self.mode = mode
        self.replacement: Any = None
        self.opened = False  # a read began and the source was not closed since
        _register(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["store"] = None  # rebuilt from path and options where it lands
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("opened", False)
        _register(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> CopyGuard:
        new = object.__new__(CopyGuard)
        new.__dict__.update(self.__dict__)
        new.replacement = None
        new.opened = False
        _register(new)
        return new

    def _store(self) -> Any:
        if self.store is None:
            from .persist_store import PersistStore

            self.store = PersistStore(self.path, grace=self.grace, retry=self.retry,
                                      **self.storage_options)
        return self.store

    def intact(self, data: bool = False) -> bool:
        """True while the copy's meta file (and, with ``data``, its data) exists, or
        when the store cannot tell."""
        try:
            backend = self._store().backend
            return backend.exists(layout.meta_rel(self.key, self.vid)) and (
                not data or backend.exists(layout.data_rel(self.key, self.vid)))
        except Exception:  # cannot tell: trust the read
            return True

    # ---- the guarded call --------------------------------------------------------
    def call(self, src: Any, name: str, fn: Any,
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        busy = _busy()
        if id(src) in busy:
            return fn(src, *args, **kwargs)
        replacement = self.replacement
        if replacement is not None:
            return _call_on(replacement, name, args, kwargs)
        self.opened = True
        busy.add(id(src))
        try:
            try:
                result = fn(src, *args, **kwargs)
            except Exception as exc:
                if self.intact(data=True):
                    raise
                cause: BaseException | None = exc
            else:
                if name == "to_dask" or self.intact():
                    return result
                cause = None
        finally:
            busy.discard(id(src))
        return self.recover(src, name, args, kwargs, cause)

    def _attempt(self, new: Any, name: str,
                 args: tuple[Any, ...], kwargs: dict[str, Any], src: Any) -> Any:
        """The call on a candidate, without recovery of its own."""
        guard = new.__dict__.get("_ip_guard")
        busy = _busy()
        busy.add(id(new))
        try:
            if name in ("read_partition", "read_partition_arrow"):
                schema = src.__dict__.get("_schema")
                if schema is not None and new.npartitions != schema.npartitions:
                    raise ValueError(
                        f"it has {new.npartitions} partition(s), the copy had "
                        f"{schema.npartitions}"
                    )
            result = _call_on(new, name, args, kwargs)
        finally:
            busy.discard(id(new))
        if guard is not None and name != "to_dask" and not guard.intact():
            raise _Gone(f"copy {guard.vid} was deleted while it was being read")
        return result

    def recover(self, src: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                cause: BaseException | None) -> Any:
        from ..errors import CopyGoneError
        from .records import original_of

        store = self._store()
        md = src.metadata or {}
        entry = md.get("original_name") or src.entry_name
        tried: list[str] = [f"copy {self.vid}: "
                            + (f"{type(cause).__name__}: {cause}" if cause is not None
                               else "deleted while it was being read")]
        last: BaseException | None = cause
        try:
            original = original_of(src)
        except Exception as exc:
            original = None
            tried.append(f"original: cannot be rebuilt ({exc})")
            last = exc
        candidates: list[Any] = []
        if original is not None:
            try:  # 1. the index, once, under persist_mode
                new = store.resolve(original, self.mode)
            except Exception as exc:
                tried.append(f"index: {type(exc).__name__}: {exc}")
                last = exc
            else:
                guard = new.__dict__.get("_ip_guard")
                if guard is None or guard.vid != self.vid:
                    candidates.append(new)
            if not candidates or candidates[0].__dict__.get("_ip_guard") is not None:
                candidates.append(original)  # 2. the original
        for new in candidates:
            guard = new.__dict__.get("_ip_guard")
            what = f"copy {guard.vid}" if guard is not None else "original"
            try:
                result = self._attempt(new, name, args, kwargs, src)
            except Exception as exc:
                tried.append(f"{what}: {type(exc).__name__}: {exc}")
                last = exc
                continue
            self.replacement = new
            return result
        label = f"entry {entry!r}" if entry else "an entry"
        raise CopyGoneError(
            f"the persisted copy of {label} (key {self.key}) in the persist store "
            f"{store.path} was deleted while it was being read, and no other copy nor "
            f"the original could be read instead: " + "; ".join(tried),
            store=store.path, entry=entry, key=self.key,
        ) from last
