"""PersistStore: persisted copies of sources, keyed by the original's token.

See ``docs/design.rst`` ("The persist store") for the layout and the protocol that
keeps the store consistent under concurrency and crashes.
"""

from __future__ import annotations

import contextlib
import copy as _copy
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import PERSIST_MODES as MODES  # noqa: F401
from ..errors import NotPersistedError, check_persist_mode  # noqa: F401
from . import journal, layout
from .backends import Item, backend_for
from .freshness import (  # noqa: F401 - check_keep, check_ttl, is_expired: public here too
    check_keep,
    check_ttl,
    copy_is_current,
    entry_age,
    hands_back_original,
    is_expired,
)
from .index import Entries, Index, merge_versions

if TYPE_CHECKING:
    from .results import CopyInfo, GcReport
    from .versions import AsOf, Version

CATALOG_DIR = "{{ CATALOG_DIR }}"
DEFAULT_GRACE = 3600.0
REFRESH_LOCK = ".refresh.lock"

def _check_grace(grace: Any) -> float:
    import numbers

    if isinstance(grace, bool) or not isinstance(grace, numbers.Real) or not float(grace) >= 0:
        raise ValueError(f"grace must be a number of seconds >= 0, got {grace!r}")
    return float(grace)


check_mode = check_persist_mode


# --------------------------------------------------------------------------- helpers


def _plain(o: Any) -> Any:
    """Data that YAML (safe) and JSON both write: tuples to lists, dates to text."""
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set, frozenset)):
        return [_plain(v) for v in o]
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    dt = sys.modules.get("datetime")  # no date value exists before it is imported
    if dt is not None and isinstance(o, (dt.datetime, dt.date, dt.time)):
        return o.isoformat()
    if hasattr(o, "item"):
        return _plain(o.item())
    return str(o)


def _scrub(o: Any, inside: bool = False) -> Any:
    """``o`` with credentials (key, secret, token...) dropped from every
    ``storage_options`` mapping in it: they are never written to the index or meta
    files (readers get them from the environment or the store's own options)."""
    from .._io import CREDENTIAL_KEYS

    if isinstance(o, dict):
        return {k: _scrub(v, inside or k == "storage_options") for k, v in o.items()
                if not (inside and isinstance(k, str) and k.lower() in CREDENTIAL_KEYS)}
    if isinstance(o, list):
        return [_scrub(v, inside) for v in o]
    return o


def _map_strings(o: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(o, str):
        return fn(o)
    if isinstance(o, dict):
        return {k: _map_strings(v, fn) for k, v in o.items()}
    if isinstance(o, list):
        return [_map_strings(v, fn) for v in o]
    return o


def _render_dir(o: Any, root: str) -> Any:
    def fn(s: str) -> str:
        if "CATALOG_DIR" not in s:
            return s
        for spelling in ("{{ CATALOG_DIR }}", "{{CATALOG_DIR}}"):
            s = s.replace(spelling, root)
        return s

    return _map_strings(o, fn)


def driver_name(source: Any) -> str:
    """The short registry name of the source's class when it maps back to it, else
    its dotted class path."""
    from ..sources.registry import registry

    cls = type(source)
    target = registry().get(getattr(cls, "name", ""))
    if target is cls or target == f"{cls.__module__}.{cls.__qualname__}":
        name: str = cls.name
        return name
    return f"{cls.__module__}.{cls.__qualname__}"


def is_copy(source: Any) -> bool:
    """True for a source that reads a persisted copy (its metadata names the original)."""
    return bool(getattr(source, "is_persisted", False)
                or "original_tok" in (getattr(source, "metadata", None) or {}))


def original_record(source: Any) -> dict[str, Any]:
    """``original_name``, ``original_token``, ``original_source`` (driver, args,
    description, metadata) and ``original_metadata`` of ``source``: for a persisted
    copy, those of its original."""
    if is_copy(source):
        md = source.metadata
        return {
            "original_name": md.get("original_name"),
            "original_token": md.get("original_tok"),
            "original_source": md.get("original_source"),
            "original_metadata": md.get("original_metadata"),
        }
    args = dict(source._init_kwargs)
    args.pop("metadata", None)
    if getattr(source, "_init_args", ()):
        args["__args__"] = list(source._init_args)
    return {
        "original_name": source.entry_name,
        "original_token": source.token,
        "original_source": {
            "driver": driver_name(source),
            "args": args,
            "description": source.description,
            "metadata": source.metadata,
        },
        "original_metadata": source.metadata,
    }


def original_of(copy: Any) -> Any:
    """The original of a persisted copy, rebuilt from the record the copy carries."""
    md = copy.metadata or {}
    orig = md.get("original_source")
    if not isinstance(orig, dict) or not orig.get("driver"):
        raise ValueError(
            f"the persisted copy with key {md.get('original_tok')!r} does not record its "
            "original source, so it cannot be persisted or refreshed again"
        )
    src = make_source(orig["driver"], orig.get("args") or {}, orig.get("metadata"),
                      orig.get("description"), container=md.get("container"))
    src.entry_name = md.get("original_name")
    return src


def make_source(driver: str, args: dict[str, Any], metadata: dict[str, Any] | None = None,
                description: str | None = None, container: str | None = None) -> Any:
    """The source a recorded entry describes; ``container`` (what the entry recorded)
    picks ``ndzarr`` for array copies recorded as ``zarr`` by older versions."""
    from ..sources.registry import get_driver_class, recorded_driver

    # each driver class has its own signature
    cls: Callable[..., Any] = get_driver_class(recorded_driver(driver, container))
    args = dict(args)
    pos = args.pop("__args__", None) or []
    src = cls(*pos, **args, metadata=_copy.deepcopy(metadata or {}))
    if description:
        src.description = description
    return src


# --------------------------------------------------------------------------- store


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
            grace = _check_grace(grace)
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
        self.index.hook = _PendingFold(self)

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
        args = _render_dir(_copy.deepcopy(entry.get("args") or {}), self.path)
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
        claim = vid = None
        for _ in range(10):
            vid = layout.new_vid()
            try:
                claim = self.backend.claim(layout.writing_rel(token, vid))
                break
            except FileExistsError:
                continue
        if claim is None:
            raise RuntimeError(f"could not start a new copy under {self.path}/{token}")
        assert vid is not None  # set with the claim
        data_rel = layout.data_rel(token, vid)
        try:
            info = self._write_data(write, source, data_rel, progress, kwargs)
            entry = self._make_entry(source, token, vid, info, started, ttl, keep, kwargs)
            from .._yaml import dump

            # pending marker first: if this writer's own index update fails after
            # the meta file publishes the copy, the next index update folds it in
            self.backend.put(layout.pending_rel(token, vid), b"")
            self.backend.create_only(layout.meta_rel(token, vid), dump(entry).encode("utf-8"))
        except BaseException:
            try:
                self.backend.rm(data_rel)
                self.backend.rm(layout.pending_rel(token, vid))
                self.backend.release(claim)
            except Exception:  # unreachable store: gc will remove the leftovers
                pass
            raise
        self.backend.release(claim)
        # the update also deletes the pending marker (see _PendingFold); if it fails,
        # the marker stays and whoever updates the index next folds the copy in
        current = self.index.update(lambda entries: _install(entries, token, vid, entry, keep))
        self._prune(token, current)
        return self._build(token, current)

    def _write_data(self, write: Callable[..., dict[str, Any]], source: Any, data_rel: str,
                    progress: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Write the copy's data (its parts go through fsspec, not the backend). On an
        object store a transient failure that fsspec did not absorb starts the copy
        over, in the same place, under the store's retry policy; past the budget the
        error names the store, ``write copy data`` and the copy's path."""
        def attempt() -> dict[str, Any]:
            return write(source, self.backend.url(data_rel),
                         storage_options=self.storage_options or None,
                         progress=progress, **kwargs)

        return self.backend.write_data(data_rel, attempt)

    def _make_entry(self, source: Any, token: str, vid: str, info: dict[str, Any], started: float,
                    ttl: Any, keep: int, kwargs: dict[str, Any]) -> dict[str, Any]:
        base = self.backend.url(layout.data_rel(token, vid))

        def rel(s: str) -> str:
            return CATALOG_DIR + s[len(self.path):] if s.startswith(self.path) else s

        args = dict(info.get("args") or {})
        args.pop("storage_options", None)
        if "urlpath" in args:
            args["urlpath"] = _map_strings(_plain(args["urlpath"]), rel)
        else:
            args["urlpath"] = rel(base)
        record = original_record(source)
        name = source.entry_name or getattr(source, "name", None)
        entry = {
            "driver": info["driver"],
            "description": f"persisted copy of {name}" if name else "persisted copy",
            "args": args,
            "metadata": {
                "original_tok": token,
                "original_name": source.entry_name,
                "original_source": record["original_source"],
                "original_metadata": source.metadata,
                "timestamp": round(started, 6),
                "ttl": ttl,
                "persist_kwargs": kwargs,
                "keep": keep,
                "container": source.container,
                "version": vid,
                "versions": [vid],
                "size": info.get("size"),
                "npartitions": info.get("npartitions"),
            },
        }
        scrubbed: dict[str, Any] = _scrub(_plain(entry))
        return scrubbed

    def _prune(self, token: str, current: dict[str, Any]) -> list[str]:
        """Retire the published copies of ``token`` that the index no longer lists
        (older than its current copy): they are deleted once the grace period has
        passed, here or by gc. Returns the version ids retired now."""
        md = current.get("metadata") or {}
        keepers = set(md.get("versions") or [md.get("version")])
        newest = md.get("version") or ""
        items = self.backend.listdir(token)
        names = {i.name for i in items}
        detached = self._tombstones(items)
        candidates = []
        for item in items:
            if not item.name.endswith(layout.META_SUFFIX):
                continue
            vid = item.name[: -len(layout.META_SUFFIX)]
            if vid in detached:
                continue  # removed by the user: its tombstone says what becomes of it
            if (layout.is_vid(vid) and vid not in keepers and vid < newest
                    and vid + layout.RETIRED_SUFFIX not in names):
                candidates.append(vid)
        # A concurrent persist may have published an older copy that it has not
        # indexed yet (its pending marker is there) or indexed since ``current`` was
        # read: both stay. Marker first: it goes only once the index lists the copy.
        candidates = [v for v in candidates
                      if not self.backend.exists(layout.pending_rel(token, v))]
        if candidates:
            fresh = (self.index.lookup(token) or {}).get("metadata") or {}
            listed = set(fresh.get("versions") or [fresh.get("version")])
            candidates = [v for v in candidates if v not in listed]
        for vid in candidates:
            self._retire(token, vid, "pruned")
        self._reap(token)
        return candidates

    def _retire(self, token: str, vid: str, why: str) -> None:
        """Mark a copy as out of the index since now (the first mark stays)."""
        import json

        mark = json.dumps({"retired": round(time.time(), 6), "why": why}).encode()
        with contextlib.suppress(FileExistsError):
            self.backend.create_only(layout.retired_rel(token, vid), mark)

    def _mark_time(self, rel: str, key: str, mtime: float | None = None) -> float | None:
        """The time recorded in a JSON marker (``key``), else the file's mtime."""
        import json

        try:
            t = json.loads(self.backend.read_bytes(rel)).get(key)
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                return float(t)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            pass
        return mtime

    def _past_grace(self, rel: str, key: str, grace: float, now: float,
                    mtime: float | None = None) -> bool:
        if grace <= 0:
            return True
        t = self._mark_time(rel, key, mtime)
        return t is not None and now - t >= grace

    def _reap(self, token: str, grace: float | None = None, dry_run: bool = False,
              report: list[str] | None = None) -> list[str]:
        """Delete the copies of ``token`` retired, or removed with their files, at
        least ``grace`` seconds ago (default: the store's grace). Returns their vids."""
        grace = self.grace if grace is None else grace
        now = time.time()
        items = self.backend.listdir(token)
        names = {i.name: i for i in items}
        gone = []
        for name, item in names.items():
            if name.endswith(layout.RETIRED_SUFFIX):
                vid = name[: -len(layout.RETIRED_SUFFIX)]
                if not layout.is_vid(vid) or vid + layout.REMOVED_SUFFIX in names:
                    continue
                if self._past_grace(layout.retired_rel(token, vid), "retired", grace, now,
                                    item.mtime):
                    gone.append(vid)
            elif name.endswith(layout.REMOVED_SUFFIX):
                vid = name[: -len(layout.REMOVED_SUFFIX)]
                if not layout.is_vid(vid):
                    continue
                stone = self._tombstone(token, vid)
                if stone.get("delete_files") and self._past_grace(
                        layout.removed_rel(token, vid), "removed", grace, now, item.mtime):
                    gone.append(vid)
        from .readers import held_open

        for vid in sorted(gone):
            if held_open(self.path, token, vid):
                continue  # a reader of this process is at it: a later reap or gc
            if report is not None:
                report.append(self.backend.url(layout.data_rel(token, vid)))
            if not dry_run:
                self._delete_copy(token, vid)
        return gone

    def _delete_copy(self, token: str, vid: str) -> None:
        # meta first: a reader that finds the meta after its read knows the data
        # was whole (see readers.CopyGuard)
        self.backend.rm(layout.meta_rel(token, vid))
        self.backend.rm(layout.data_rel(token, vid))
        self.backend.rm(layout.removed_rel(token, vid))
        self.backend.rm(layout.retired_rel(token, vid))

    @staticmethod
    def _tombstones(items: list[Item]) -> set[str]:
        """Version ids with a tombstone (``<vid>.removed``) among a token's files."""
        n = len(layout.REMOVED_SUFFIX)
        return {i.name[:-n] for i in items if i.name.endswith(layout.REMOVED_SUFFIX)}

    def _tombstone(self, token: str, vid: str) -> dict[str, Any]:
        import json

        try:
            stone = json.loads(self.backend.read_bytes(layout.removed_rel(token, vid)))
        except (OSError, ValueError):
            return {}
        return stone if isinstance(stone, dict) else {}

    def _tombstone_says_delete(self, token: str, vid: str) -> bool:
        return bool(self._tombstone(token, vid).get("delete_files"))

    def _mark_removed(self, token: str, entry: dict[str, Any], delete_files: bool) -> None:
        """Tombstone every copy of ``token`` up to ``entry``'s version, so that gc and
        rebuilds never put it back. Newer copies belong to persists still in flight."""
        import json

        md = entry.get("metadata") or {}
        newest = md.get("version")
        if not newest:
            return
        vids = {v for v in (md.get("versions") or [newest]) if layout.is_vid(v)}
        for item in self.backend.listdir(token):
            if item.name.endswith(layout.META_SUFFIX):
                vid = item.name[: -len(layout.META_SUFFIX)]
                if layout.is_vid(vid) and vid <= newest:
                    vids.add(vid)
        mark = json.dumps({"removed": round(time.time(), 6),
                           "delete_files": delete_files}).encode()
        for vid in sorted(vids):
            self.backend.put(layout.removed_rel(token, vid), mark)

    def add(self, key: str, source: Any) -> None:
        """Record ``source`` (a copy readable from where it is) under ``key``."""
        entry = source._yaml_entry()
        md = _plain(dict(source.metadata or {}))
        md.setdefault("original_tok", key)
        md.setdefault("original_name", source.entry_name)
        md.setdefault("timestamp", round(time.time(), 6))
        md.setdefault("ttl", None)
        md.setdefault("persist_kwargs", {})
        md.setdefault("container", source.container)
        entry["driver"] = driver_name(source)
        args = _plain(entry["args"])
        urlpath = args.get("urlpath")
        if isinstance(urlpath, str) and urlpath.startswith(self.path + "/"):
            args["urlpath"] = CATALOG_DIR + urlpath[len(self.path):]
        else:  # data outside this store: not versioned, never touched by gc
            md.pop("version", None)
            md.pop("versions", None)
        entry["args"] = args
        entry["metadata"] = md
        entry = _scrub(entry)

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
                self._mark_removed(key, entry, delfiles)
            return entry

        entry = self.index.update(fn)
        if entry is None:
            raise NotPersistedError(f"no persisted copy with key {key!r} in {self.path}")
        if delfiles and layout.is_token(key):
            self._reap(key)  # deleted now only when the grace period is 0

    def _delete_token(self, key: str, detached: bool = False) -> None:
        """Delete the copies of ``key``; detached ones (``remove(delfiles=False)``)
        only when ``detached``."""
        if not layout.is_token(key):
            return
        items = self.backend.listdir(key)
        tombstoned = self._tombstones(items)
        for item in items:
            if item.name.endswith(layout.META_SUFFIX):
                vid = item.name[: -len(layout.META_SUFFIX)]
                if not layout.is_vid(vid):
                    continue
                if (detached or vid not in tombstoned
                        or self._tombstone_says_delete(key, vid)):
                    self._delete_copy(key, vid)
        if self.backend.exists(f"{key}/{REFRESH_LOCK}"):
            self.backend.rm(f"{key}/{REFRESH_LOCK}")
        self.backend.rmdir_if_empty(key)

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
                self._delete_token(item.name, detached=True)
        for k in keys:
            self._delete_token(k, detached=True)
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
        location = (_render_dir(entry.get("args") or {}, self.path) or {}).get("urlpath")
        from .results import CopyInfo

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
        if grace is not None:
            grace = _check_grace(grace)
        copy_grace = self.grace if grace is None else grace
        grace = DEFAULT_GRACE if grace is None else grace
        b = self.backend
        from .results import GcReport

        report = GcReport(dry_run=dry_run)
        now = time.time()

        def remove(rel: str) -> None:
            report.removed.append(b.url(rel))
            if not dry_run:
                b.rm(rel)

        def retire(token: str, vid: str) -> None:
            report.retired.append(b.url(layout.data_rel(token, vid)))
            if not dry_run:
                self._retire(token, vid, "gc")

        # temporary files of the index writer (only those: other files beside the
        # index are not ours, whatever their names look like)
        for item in b.listdir(""):
            parsed = layout.parse_tmp_name(item.name)
            if (parsed is not None and parsed[0] == layout.INDEX and not item.isdir
                    and self._tmp_dead(parsed, item, now, grace)):
                remove(item.name)

        if not dry_run:  # cat.yaml then lists every update made so far
            self.index.fold(close=True)
        report.removed.extend(self.index.tidy(dry_run))
        for top in b.listdir(journal.JOURNAL):  # temporary files of journal writers
            subs = b.listdir(f"{journal.JOURNAL}/{top.name}") if top.isdir else []
            for rel, item in [(top.name, top), *((f"{top.name}/{i.name}", i) for i in subs)]:
                parsed = layout.parse_tmp_name(item.name)
                if parsed is not None and self._tmp_dead(parsed, item, now, grace):
                    remove(f"{journal.JOURNAL}/{rel}")
        snap_entries = self.index.entries()
        published: dict[str, list[str]] = {}
        for item in b.listdir(""):
            if not (item.isdir and layout.is_token(item.name)):
                continue
            token = item.name
            names = {i.name: i for i in b.listdir(token)}
            metas = {v for v in (n[: -len(layout.META_SUFFIX)] for n in names
                                 if n.endswith(layout.META_SUFFIX)) if layout.is_vid(v)}
            markers = {n[: -len(layout.WRITING_SUFFIX)] for n in names
                       if n.endswith(layout.WRITING_SUFFIX)}
            dirs = {n for n, i in names.items() if layout.is_vid(n)}
            tombstoned = self._tombstones(list(names.values()))
            retired = {n[: -len(layout.RETIRED_SUFFIX)] for n in names
                       if n.endswith(layout.RETIRED_SUFFIX)}
            for n, i in names.items():
                parsed = layout.parse_tmp_name(n)
                if parsed is not None and self._tmp_dead(parsed, i, now, grace):
                    remove(f"{token}/{n}")
            for vid in sorted(dirs | markers):
                if vid in metas:
                    if vid in markers:  # published; the writer died before tidying up
                        with b.dead_writer(layout.writing_rel(token, vid), grace) as dead:
                            if dead:
                                remove(layout.writing_rel(token, vid))
                    continue
                if vid in markers:
                    with b.dead_writer(layout.writing_rel(token, vid), grace) as dead:
                        if not dead:
                            continue
                        if b.exists(layout.meta_rel(token, vid)):
                            metas.add(vid)
                            continue
                        if vid in dirs:
                            remove(layout.data_rel(token, vid))
                        remove(layout.writing_rel(token, vid))
                    continue
                # no marker: the writer finished (meta) or died; look at meta again
                if b.exists(layout.meta_rel(token, vid)):
                    metas.add(vid)
                    continue
                remove(layout.data_rel(token, vid))
            for vid in sorted(metas):
                if vid not in dirs and not b.exists(layout.data_rel(token, vid)):
                    remove(layout.meta_rel(token, vid))  # a copy whose data is gone
                    metas.discard(vid)
            imd = (snap_entries.get(token) or {}).get("metadata") or {}
            indexed = set(imd.get("versions") or [imd.get("version")])
            for vid in sorted(tombstoned):
                if vid not in metas:  # its copy is gone: the tombstone has no use
                    remove(layout.removed_rel(token, vid))
                    continue
                if vid in indexed:  # a remove that did not commit: the index wins
                    continue
                metas.discard(vid)  # removed by the user: never back in the index
                stone = self._tombstone(token, vid)
                if delete_detached or (stone.get("delete_files") and self._past_grace(
                        layout.removed_rel(token, vid), "removed", copy_grace, now)):
                    remove(layout.meta_rel(token, vid))
                    remove(layout.data_rel(token, vid))
                    remove(layout.removed_rel(token, vid))
                    if vid in retired:
                        remove(layout.retired_rel(token, vid))
                elif not stone.get("delete_files"):
                    report.detached.append(b.url(layout.data_rel(token, vid)))
            for vid in sorted(retired - tombstoned):
                if vid not in metas:  # its copy is gone: the marker has no use
                    remove(layout.retired_rel(token, vid))
                    continue
                if vid in indexed:
                    continue  # listed again (a hand edit): leave it to the index
                metas.discard(vid)  # out of the index: never back in it
                if self._past_grace(layout.retired_rel(token, vid), "retired",
                                    copy_grace, now, names[vid + layout.RETIRED_SUFFIX].mtime):
                    remove(layout.meta_rel(token, vid))
                    remove(layout.data_rel(token, vid))
                    remove(layout.retired_rel(token, vid))
            published[token] = sorted(metas, reverse=True)
            if not dry_run and not metas:
                b.rmdir_if_empty(token)

        # index entries versus published copies
        fixes: dict[str, dict[str, Any] | None] = {}
        for token, vids in published.items():
            entry = snap_entries.get(token)
            if not vids:
                continue
            md = (entry or {}).get("metadata") or {}
            if entry is None or (md.get("version") and vids[0] > md["version"]):
                fixes[token] = "reindex"  # type: ignore[assignment]
                report.reindexed.append(token)
            elif md.get("version"):
                listed = set(md.get("versions") or [md["version"]])
                for vid in vids:
                    if vid not in listed and vid < md["version"]:
                        retire(token, vid)  # deleted by a later gc, after the grace
        for token, entry in snap_entries.items():
            md = entry.get("metadata") or {}
            urlpath = (entry.get("args") or {}).get("urlpath")
            ours = isinstance(urlpath, str) and urlpath.startswith(CATALOG_DIR)
            if ours and md.get("version") and not published.get(token):
                fixes[token] = None
                report.dropped.append(token)
        if fixes and not dry_run:
            metas_by_token = self.index.published()

            def fn(entries: Entries) -> None:
                for token, action in fixes.items():
                    versions = metas_by_token.get(token)
                    if versions and token not in entries:
                        # a remove may have committed since the listing: its
                        # tombstones were written before, so they are seen here
                        versions = {v: m for v, m in versions.items()
                                    if not b.exists(layout.removed_rel(token, v))}
                    if action is None:
                        cur = entries.get(token)
                        if cur is not None and not versions:
                            del entries[token]
                    elif versions:
                        cur = entries.get(token)
                        cur_v = ((cur or {}).get("metadata") or {}).get("version") or ""
                        if cur is None or max(versions) > cur_v:
                            keep = ((cur or {}).get("metadata") or {}).get("keep") or 1
                            new = merge_versions(versions)
                            new["metadata"]["versions"] = new["metadata"]["versions"][:keep]
                            entries[token] = new

            self.index.update(fn)
            for token in report.reindexed:
                cur = self.index.lookup(token)
                if cur is not None:
                    for vid in self._prune(token, cur):
                        report.retired.append(b.url(layout.data_rel(token, vid)))
        # pending markers of writers that died before publishing, or of copies the
        # index has caught up with
        entries_now = self.index.entries() if not dry_run else snap_entries
        for item in b.listdir(layout.PENDING):
            pend = layout.parse_pending(item.name)
            if pend is None:
                continue
            token, vid = pend
            md = (entries_now.get(token) or {}).get("metadata") or {}
            # marker before meta: a writer publishes its meta before its marker goes
            writing = b.exists(layout.writing_rel(token, vid))
            if b.exists(layout.meta_rel(token, vid)):
                if md.get("version") and vid <= md["version"]:
                    remove(layout.pending_rel(token, vid))
            elif not writing:
                remove(layout.pending_rel(token, vid))
        if not dry_run:
            b.rmdir_if_empty(layout.PENDING)
        return report

    @staticmethod
    def _tmp_dead(parsed: tuple[str, str, int], item: Any, now: float, grace: float) -> bool:
        from .backends.markers import pid_alive

        _base, host, pid = parsed
        if host == layout.hostname():
            return not pid_alive(pid)
        return item.mtime is not None and now - item.mtime > grace


def _install(entries: Entries, token: str, vid: str, entry: dict[str, Any],
             keep: int) -> dict[str, Any]:
    """Make ``vid`` the current copy of ``token`` unless a newer one is there already."""
    cur = entries.get(token)
    cur_md = (cur or {}).get("metadata") or {}
    known = list(cur_md.get("versions") or ([cur_md["version"]] if cur_md.get("version") else []))
    versions = sorted({vid, *known}, reverse=True)[:keep]
    if cur is None or not cur_md.get("version") or vid >= cur_md["version"]:
        new = _copy.deepcopy(entry)
    else:
        new = cur
    new["metadata"]["versions"] = versions
    entries[token] = new
    return new


class _PendingFold:
    """Index hook: every index update also folds in the copies whose writer
    published them (meta file written) but failed to index them, as their pending
    markers (``pending/<token>.<vid>``) tell. Markers of copies not yet published
    are left alone; markers of copies indexed or gone are deleted after the update."""

    def __init__(self, store: PersistStore):
        self.store = store

    def collect(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        from .._yaml import YAMLError, load

        b = self.store.backend
        out: list[tuple[str, str, dict[str, Any] | None]] = []
        for item in b.listdir(layout.PENDING):
            parsed = layout.parse_pending(item.name)
            if parsed is None:
                continue
            token, vid = parsed
            try:
                meta = load(b.read_bytes(layout.meta_rel(token, vid)))
            except FileNotFoundError:
                continue  # not published (yet): its writer is still at work, or gc's
            except YAMLError:
                continue
            if not isinstance(meta, dict) or b.exists(layout.removed_rel(token, vid)):
                meta = None  # removed by the user: never put back; drop the marker
            out.append((token, vid, meta))
        return out

    def apply(self, entries: Entries, state: list[tuple[str, str, dict[str, Any] | None]]
              ) -> None:
        """Runs after the index was read (and on object stores before a conditional
        write of it): what it checks here holds for the version it replaces."""
        b = self.store.backend
        for token, vid, meta in state:
            if meta is None:
                continue
            if token not in entries:
                if token in entries._snap:
                    continue  # removed by this very update
            else:
                md = entries[token].get("metadata") or {}
                if vid in (md.get("versions") or [md.get("version")]):
                    continue  # indexed already
            # its writer deletes the marker only after indexing the copy, and a
            # remove writes its tombstones before its index update
            if not b.exists(layout.pending_rel(token, vid)):
                continue
            if b.exists(layout.removed_rel(token, vid)):
                continue
            keep = (meta.get("metadata") or {}).get("keep") or 1
            _install(entries, token, vid, _copy.deepcopy(meta), keep)

    def done(self, state: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        for token, vid, _meta in state:
            with contextlib.suppress(Exception):
                self.store.backend.rm(layout.pending_rel(token, vid))
