"""PersistStore: persisted copies of sources, keyed by the original's token.

The store's public face: the mapping of keys to persisted copies, persisting,
refreshing, removing and listing them. What it records is built by
:mod:`.records`; copies leaving the index are handled by :mod:`.copies`; garbage
collection is :mod:`.gc`. See ``docs/design.rst`` ("The persist store") for the
layout and the protocol that keeps the store consistent under concurrency and
crashes.
"""

from __future__ import annotations

import contextlib
import copy as _copy
import time
import warnings
from collections.abc import Callable, Iterator

from ..errors import PERSIST_MODES as MODES  # noqa: F401
from ..errors import NotPersistedError, check_persist_mode  # noqa: F401
from ..sources.registry import make_source
from . import copies, layout
from .backends import backend_for
from .claims import CopyStart, VidTaken
from .freshness import (  # noqa: F401 - check_keep, check_ttl, is_expired: public here too
    check_grace,
    check_keep,
    check_ttl,
    copy_is_current,
    hands_back_original,
    is_expired,
)
from .index import Index
from .index_file import Entries
from .pending import PendingFold
from .records import (
    CATALOG_DIR,
    added_entry,
    copy_entry,
    install,
    is_copy,
    original_of,
    render_catalog_dir,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .results import CopyInfo, GcReport
    from .versions import AsOf, Version

REFRESH_LOCK = layout.REFRESH_LOCK

check_mode = check_persist_mode


class PersistStore:
    """A read-only catalog of persisted sources, keyed by the original's token, and
    the operations that change it (``persist``, ``remove``, ``refresh``, ``gc``...)."""

    def __init__(self, path: str | None = None, *, retry: Any = None,
                 grace: float | None = None, **storage_options: Any):
        """``retry``: how hard to retry transient failures of an object store (``None``
        for the default, a number of attempts, a mapping of
        :class:`~.retry.RetryPolicy` fields, or a policy); ``grace``: seconds a copy
        taken out of the index stays for its readers (default: ``persist_grace``);
        ``storage_options`` go to fsspec."""
        from .retry import policy_from

        self.retry_policy = policy_from(retry)
        if grace is not None:
            grace = check_grace(grace)
        self._grace = grace
        if path is None:
            from .. import config

            conf = config.load_conf()
            path = config.persist_path(conf)
            storage_options = {**config.persist_storage_options(conf), **storage_options}
        self.backend = backend_for(path, **storage_options)
        self.backend.retry_policy = self.retry_policy
        # as the backend takes them (S3: with timeouts), for the copies' readers
        self.storage_options = dict(self.backend.storage_options)
        self.path = self.backend.url()
        self.index = Index(self.backend)
        self._pending = PendingFold(self.backend)
        self.index.hook = self._pending

    def __repr__(self) -> str:
        return f"<PersistStore {self.path!r}>"

    @property
    def grace(self) -> float:
        """Seconds a copy taken out of the index stays on storage, so that readers
        that resolved it finish: the ``grace=`` given to the store, else
        ``INTAKE_PERSIST_GRACE`` / ``persist_grace`` in conf.yaml (default 300)."""
        if self._grace is not None:
            return self._grace
        from .. import config

        return config.persist_grace()

    # ---- mapping ------------------------------------------------------------------
    def get_tok(self, x: Any) -> str:
        """The key for a token string, an original source or a persisted copy."""
        if isinstance(x, str):
            return x
        md = getattr(x, "metadata", None) or {}
        if "original_tok" in md:
            return str(md["original_tok"])
        token = getattr(x, "token", None)
        if isinstance(token, str):
            return token
        raise TypeError(f"expected a token string or a source, got {type(x).__name__}")

    def __iter__(self) -> Iterator[str]:
        return iter(self.index.snapshot().keys())

    def __len__(self) -> int:
        return len(self.index.snapshot().keys())

    def keys(self) -> list[str]:
        return list(self)

    def __contains__(self, x: Any) -> bool:
        try:
            key = self.get_tok(x)
        except TypeError:
            return False
        return self.index.lookup(key) is not None

    def _entry(self, x: Any) -> tuple[str, dict[str, Any]]:
        key = self.get_tok(x)
        entry = self.index.lookup(key)
        if entry is None:
            raise NotPersistedError(f"no persisted copy with key {key!r} in {self.path}")
        return key, entry

    def __getitem__(self, key: Any) -> Any:
        key, entry = self._entry(key)
        return self._build(key, entry)

    def get(self, key: Any, default: Any = None, *, as_of: AsOf | None = None) -> Any:
        """The persisted source under ``key``, else ``default``; with ``as_of``, the
        copy that was current then (see :meth:`as_of`: an entry with no copy that old
        is an error, not ``default``)."""
        if as_of is not None:
            if key not in self:
                return default
            return self.as_of(key, as_of)
        try:
            return self[key]
        except NotPersistedError:
            return default

    def _build(self, key: str, entry: dict[str, Any], mode: str = "default") -> Any:
        """The source that reads a persisted copy, from its index entry. A copy made
        by this store is guarded (see :mod:`.readers`): should it be deleted under
        its reader, the read goes on from the index's current copy or the original
        (``mode`` decides), or fails with :class:`~intake_persist.errors.CopyGoneError`."""
        args = render_catalog_dir(_copy.deepcopy(entry.get("args") or {}), self.path)
        if self.storage_options and not self.backend.local_paths:
            args.setdefault("storage_options", dict(self.storage_options))
        md = _copy.deepcopy(entry.get("metadata") or {})
        md.setdefault("original_tok", key)
        src = make_source(entry["driver"], args, md, entry.get("description"),
                          container=md.get("container"))
        src.entry_name = md.get("original_name")
        vid = md.get("version")
        urlpath = (entry.get("args") or {}).get("urlpath")
        if (isinstance(vid, str) and layout.is_token(key) and layout.is_vid(vid)
                and isinstance(urlpath, str) and urlpath.startswith(CATALOG_DIR)):
            from .readers import CopyGuard

            src.__dict__["_ip_guard"] = CopyGuard(self, key, vid, mode)
        return src

    # ---- freshness ----------------------------------------------------------------
    def needs_refresh(self, source: Any) -> bool:
        """True when the store has no copy of ``source`` or its copy has expired."""
        entry = self.index.lookup(self.get_tok(source))
        return entry is None or is_expired(entry)

    def resolve(self, source: Any, mode: str = "default") -> Any:
        """What a catalog hands back for ``source`` under a persist mode (SPEC 6)."""
        if hands_back_original(mode, source):
            return source
        key = source.token
        try:
            entry = self.index.lookup(key)
        except OSError as exc:  # an unreachable store must not make catalogs unusable
            warnings.warn(
                f"persist store {self.path} could not be read ({type(exc).__name__}: {exc}); "
                f"using the original of {source.entry_name or key}",
                RuntimeWarning,
                stacklevel=2,
            )
            return source
        if entry is None:
            return source
        copy = self._build(key, entry, mode)
        if copy_is_current(mode, entry):
            return copy
        try:
            with self._refresh_lock(key):
                # someone else may have refreshed it while we waited
                latest = self.index.lookup(key)
                if latest is not None and not is_expired(latest):
                    return self._build(key, latest, mode)
                md = (latest or entry).get("metadata") or {}
                return self.persist(
                    source,
                    ttl=md.get("ttl"),
                    keep=md.get("keep") or 1,
                    **(md.get("persist_kwargs") or {}),
                )
        except Exception as exc:  # the original cannot be read: stale is better than nothing
            warnings.warn(
                f"the persisted copy of {source.entry_name or key} has expired and could not "
                f"be refreshed ({type(exc).__name__}: {exc}); using the stale copy",
                RuntimeWarning,
                stacklevel=2,
            )
            return copy

    @contextlib.contextmanager
    def _refresh_lock(self, key: str) -> Iterator[None]:
        """One refresh of a token at a time, so that processes finding the same expired
        copy do not all re-persist it: the backend's advisory lock (local: a file lock,
        others: a lease). Only an optimisation: two refreshes at once are safe (the
        newer copy wins), so a stuck holder is waited for a while only."""
        if not layout.is_token(key):
            yield
            return
        with self.backend.advisory_lock(f"{key}/{REFRESH_LOCK}"):
            yield

    # ---- persisting ---------------------------------------------------------------
    def persist(self, source: Any, ttl: Any = None, keep: int = 1,
                progress: Callable[[int, int], Any] | None = None, **kwargs: Any) -> Any:
        """Write a copy of ``source`` into the store and return the source that reads it."""
        ttl = check_ttl(ttl)
        keep = check_keep(keep)
        if is_copy(source):  # a store never holds a copy of a copy: redo the original
            source = original_of(source)
        if source.container not in ("dataframe", "ndarray", "python", "xarray", "catalog"):
            raise ValueError(f"cannot persist a source of container {source.container!r}")
        from ..containers import write

        token = source.token
        started = time.time()
        for _ in range(10):
            start = CopyStart(self.backend, token)
            try:
                info = self._write_data(write, source, start, progress, kwargs)
                entry = copy_entry(source, token, start.vid, info, root=self.path,
                                   data_url=self.backend.url(start.data_rel),
                                   started=started, ttl=ttl, keep=keep, kwargs=kwargs)
                from .._yaml import dump

                start.publish(dump(entry).encode("utf-8"))
                break
            except VidTaken:
                start.abandon()
            except BaseException:
                start.abandon()
                raise
        else:
            raise RuntimeError(f"could not start a new copy under {self.path}/{token}")
        vid = start.vid
        start.release()
        # if the update fails, the pending marker stays and whoever updates the index
        # next folds the copy in (see pending.PendingFold)
        try:
            with self._pending.installing(token, vid):
                current = self.index.update(
                    lambda entries: install(entries, token, vid, entry, keep))
            start.indexed()
            copies.prune(self.backend, token, current, self.grace, self.index.lookup,
                         items=start.listing())
        finally:
            start.close()
        return self._build(token, current)

    def _write_data(self, write: Callable[..., dict[str, Any]], source: Any, start: CopyStart,
                    progress: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Write the copy's data (its parts go through fsspec, not the backend). On an
        object store a transient failure that fsspec did not absorb starts the copy
        over, in the same place, under the store's retry policy; past the budget the
        error names the store, ``write copy data`` and the copy's path."""
        def attempt() -> dict[str, Any]:
            return write(source, self.backend.url(start.data_rel),
                         storage_options=self.storage_options or None,
                         progress=progress, ready=start, **kwargs)

        return self.backend.write_data(start.data_rel, attempt)

    def add(self, key: str, source: Any) -> None:
        """Record ``source`` (a copy readable from where it is) under ``key``."""
        entry = added_entry(key, source, root=self.path, now=time.time())

        def fn(entries: Entries) -> None:
            entries[key] = entry

        self.index.update(fn)

    # ---- removing -----------------------------------------------------------------
    def remove(self, source_or_key: Any, delfiles: bool = True) -> None:
        """Forget a persisted source and, by default, delete its files once the grace
        period (:attr:`grace`) has passed, so that readers that resolved it finish
        (``gc(grace=0)`` deletes them at once). A removal sticks: gc and index
        rebuilds never put the entry back (only persisting the source again does).
        Files kept with ``delfiles=False`` stay until ``gc(delete_detached=True)``."""
        key = self.get_tok(source_or_key)

        def fn(entries: Entries) -> dict[str, Any] | None:
            entry = entries.pop(key, None)
            if entry is not None and layout.is_token(key):
                # before the index write commits: a gc or rebuild that sees the entry
                # gone also sees the tombstones
                copies.mark_removed(self.backend, key, entry, delfiles)
            return entry

        entry = self.index.update(fn)
        if entry is None:
            raise NotPersistedError(f"no persisted copy with key {key!r} in {self.path}")
        if delfiles and layout.is_token(key):
            # deleted now only when the grace period is 0
            copies.reap(self.backend, key, self.grace)

    def clear(self) -> None:
        """Remove every persisted source and its files, then the index itself
        (``cat.yaml`` and its lock file) and the store's folder when nothing else is
        in it. Files the store did not write are left alone."""

        def fn(entries: Entries) -> list[str]:
            keys = list(entries)
            for k in keys:
                del entries[k]
            return keys

        keys = self.index.update(fn)
        for item in self.backend.listdir(""):
            if item.isdir and layout.is_token(item.name):
                copies.delete_token(self.backend, item.name, detached=True)
        for k in keys:
            copies.delete_token(self.backend, k, detached=True)
        self.gc()
        if self.index.remove_if_empty():
            self.backend.rmdir_if_empty("")

    # ---- originals ----------------------------------------------------------------
    def backtrack(self, source_or_key: Any) -> Any:
        """The original source, rebuilt from what the store recorded."""
        key, entry = self._entry(source_or_key)
        md = entry.get("metadata") or {}
        orig = md.get("original_source")
        if not isinstance(orig, dict) or "driver" not in orig:
            raise ValueError(f"the store does not record the original of {key!r}")
        src = make_source(orig["driver"], orig.get("args") or {}, orig.get("metadata"),
                          orig.get("description"), container=md.get("container"))
        src.entry_name = md.get("original_name")
        return src

    def refresh(self, key: Any, progress: Callable[[int, int], Any] | None = None,
                upstream: bool = False) -> Any:
        """Re-read the original and re-persist it with the same kwargs and ttl.
        ``upstream=True`` first refreshes the persisted entries it derives from, in
        dependency order (see :mod:`.refresh`)."""
        if upstream:
            from .refresh import refresh_with_upstream

            return refresh_with_upstream(self, key, progress)
        key, entry = self._entry(key)
        md = entry.get("metadata") or {}
        original = self.backtrack(key)
        return self.persist(original, ttl=md.get("ttl"), keep=md.get("keep") or 1,
                            progress=progress, **(md.get("persist_kwargs") or {}))

    # ---- listing ------------------------------------------------------------------
    def _info(self, key: str, entry: dict[str, Any], now: float) -> CopyInfo:
        from .results import CopyInfo

        location = (render_catalog_dir(entry.get("args") or {}, self.path) or {}).get("urlpath")
        return CopyInfo.from_entry(key, entry, location, now)

    def info(self, key: Any) -> CopyInfo:
        """What the store records about the current copy of ``key`` (a token or a
        source), with its age and whether it has expired."""
        key, entry = self._entry(key)
        return self._info(key, entry, time.time())

    def entries(self) -> list[CopyInfo]:
        """The :meth:`info` of every key in the index, their ages taken at one time."""
        now = time.time()
        return [self._info(k, e, now) for k, e in self.index.entries().items()]

    # ---- versions -------------------------------------------------------------------
    def versions(self, source_or_key: Any) -> list[Version]:
        """The kept copies of an entry (``keep=N``), newest first: version id, time,
        size, location and persist arguments of each (see :class:`.versions.Version`)."""
        from .versions import list_versions

        key, entry = self._entry(source_or_key)
        return list_versions(self, key, entry)

    def prune(self, keep: int, dry_run: bool = False) -> dict[str, list[str]]:
        """Cut every entry down to its ``keep`` newest copies; the others are retired
        (deleted after the grace period). ``{"retired": [urls], "removed": [urls]}``."""
        from .versions import prune

        return prune(self, keep, dry_run)

    def as_of(self, source_or_key: Any, when: AsOf) -> Any:
        """The newest kept copy of an entry made at or before ``when`` (a datetime,
        naive meaning UTC; an ISO-8601 string; or seconds since the epoch). None is a
        :class:`~intake_persist.errors.NoVersionError` naming the oldest time there is."""
        from .versions import kept_records, pick

        key, entry = self._entry(source_or_key)
        return self._build(key, pick(kept_records(self.backend, key, entry), when, key,
                                     self.path))

    # ---- garbage collection ---------------------------------------------------------
    def gc(self, dry_run: bool = False, grace: float | None = None,
           delete_detached: bool = False) -> GcReport:
        """Remove unfinished writes of dead writers, orphaned files, and copies the
        index no longer lists; put back published copies missing from the index,
        except those the user removed.

        A copy the index no longer lists is first *retired* (``<vid>.retired``) and
        deleted only once ``grace`` seconds have passed since (default: the store's
        :attr:`grace`, ``persist_grace``), as are copies removed with their files:
        readers that resolved them finish their read. ``grace=0`` deletes them now.
        (Pruning by ``persist``, ``refresh`` and ``remove`` also spares the copies a
        source of this process is reading; gc goes by the grace period alone.)

        A local writer is dead when the flock on its ``.writing`` marker is free; a
        writer on another host or an object store is presumed dead ``grace`` seconds
        after it started (default one hour). Copies kept by ``remove(...,
        delfiles=False)`` are listed under ``detached`` and deleted only with
        ``delete_detached=True``. Returns a :class:`~.results.GcReport` (it reads as
        ``{"removed": [urls], "retired": [urls], "reindexed": [tokens], "dropped":
        [tokens], "detached": [urls], "dry_run": bool}`` too).
        """
        from .gc import gc

        return gc(self, dry_run=dry_run, grace=grace, delete_detached=delete_detached)
