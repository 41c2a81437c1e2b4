"""Garbage collection of a persist store (``PersistStore.gc``).

One pass, in phases: temporary files of dead index writers, and the index journal
folded into ``cat.yaml``; then each token's folder (unfinished writes of dead
writers, copies whose data is gone, tombstoned and retired copies past their grace
period); then the index against the copies published on storage (put back,
dropped, older copies retired); last, the pending markers of copies the index has
caught up with. See ``docs/design.rst`` ("The persist store") for the files involved.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import copies, journal, layout
from .backends import Backend
from .freshness import check_grace
from .index import merge_versions
from .results import GcReport

if TYPE_CHECKING:
    from .persist_store import PersistStore

#: Seconds after which a writer on another host (or on an object store) is
#: presumed dead, unless gc is given ``grace``.
DEFAULT_GRACE = 3600.0

#: What gc does to an index entry: put the newest published copy (back) in, or drop it.
REINDEX = "reindex"
DROP = "drop"


def gc(store: PersistStore, dry_run: bool = False, grace: float | None = None,
       delete_detached: bool = False) -> GcReport:
    """Collect the garbage of ``store``: see :meth:`.PersistStore.gc`."""
    if grace is not None:
        grace = check_grace(grace)
    sweep = Sweep(store, dry_run=dry_run, now=time.time(),
                  writer_grace=DEFAULT_GRACE if grace is None else grace,
                  copy_grace=store.grace if grace is None else grace,
                  delete_detached=delete_detached, report=GcReport(dry_run=dry_run))
    remove_index_temporaries(sweep)
    fold_journal(sweep)
    indexed = store.index.entries()
    published: dict[str, list[str]] = {}
    for item in sweep.backend.listdir(""):
        if item.isdir and layout.is_token(item.name):
            published[item.name] = sweep_token(sweep, item.name, indexed)
    fixes = compare_index(sweep, indexed, published)
    if fixes and not dry_run:
        fix_index(sweep, fixes)
    remove_pending_markers(sweep, indexed if dry_run else store.index.entries())
    return sweep.report


@dataclass
class Sweep:
    """One gc run: the store, its clock and grace periods, and the report it fills."""

    store: PersistStore
    dry_run: bool
    now: float
    writer_grace: float
    """Seconds after which a writer elsewhere is presumed dead."""
    copy_grace: float
    """Seconds a copy out of the index stays for its readers."""
    delete_detached: bool
    report: GcReport = field(default_factory=GcReport)

    @property
    def backend(self) -> Backend:
        return self.store.backend

    def remove(self, rel: str) -> None:
        self.report.removed.append(self.backend.url(rel))
        if not self.dry_run:
            self.backend.rm(rel)

    def retire(self, token: str, vid: str) -> None:
        self.report.retired.append(self.backend.url(layout.data_rel(token, vid)))
        if not self.dry_run:
            copies.retire(self.backend, token, vid, "gc")

    def tmp_dead(self, name: str, item: Any) -> bool:
        """True for a temporary file (:func:`.layout.tmp_name`) whose writer is dead:
        on this host its process is gone; elsewhere it is older than the writer grace."""
        parsed = layout.parse_tmp_name(name)
        if parsed is None:
            return False
        from .backends.markers import pid_alive

        _base, host, pid = parsed
        if host == layout.hostname():
            return not pid_alive(pid)
        return item.mtime is not None and self.now - item.mtime > self.writer_grace


# ---- phase 1: the index writers' temporary files, the journal


def remove_index_temporaries(sweep: Sweep) -> None:
    """Temporary files of dead index writers (only those: other files beside the
    index are not ours, whatever their names look like)."""
    for item in sweep.backend.listdir(""):
        parsed = layout.parse_tmp_name(item.name)
        if (parsed is not None and parsed[0] == layout.INDEX and not item.isdir
                and sweep.tmp_dead(item.name, item)):
            sweep.remove(item.name)


def fold_journal(sweep: Sweep) -> None:
    """Fold the index journal into ``cat.yaml`` (so that it lists every update made
    so far), then remove what the journal no longer needs and the temporary files of
    dead journal writers."""
    b, index = sweep.backend, sweep.store.index
    if not sweep.dry_run:
        index.fold(close=True)
    sweep.report.removed.extend(index.tidy(sweep.dry_run))
    for top in b.listdir(journal.JOURNAL):  # temporary files of journal writers
        subs = b.listdir(f"{journal.JOURNAL}/{top.name}") if top.isdir else []
        for rel, item in [(top.name, top), *((f"{top.name}/{i.name}", i) for i in subs)]:
            if sweep.tmp_dead(item.name, item):
                sweep.remove(f"{journal.JOURNAL}/{rel}")


# ---- phase 2: one token's folder


@dataclass
class TokenFiles:
    """What a token's folder holds, by version id."""

    token: str
    items: dict[str, Any]
    """Every file and folder in it, by name."""
    metas: set[str]
    """Published copies (a meta file); shrinks as gc finds copies not to index."""
    markers: set[str]
    dirs: set[str]
    tombstoned: set[str]
    retired: set[str]
    indexed: set[str]
    """The versions the index lists."""

    @classmethod
    def read(cls, backend: Backend, token: str, entry: dict[str, Any] | None) -> TokenFiles:
        items = {i.name: i for i in backend.listdir(token)}

        def with_suffix(suffix: str) -> set[str]:
            return {n[: -len(suffix)] for n in items if n.endswith(suffix)}

        md = (entry or {}).get("metadata") or {}
        return cls(
            token=token,
            items=items,
            metas={v for v in with_suffix(layout.META_SUFFIX) if layout.is_vid(v)},
            markers=with_suffix(layout.WRITING_SUFFIX),
            dirs={n for n in items if layout.is_vid(n)},
            tombstoned=copies.tombstones(list(items.values())),
            retired=with_suffix(layout.RETIRED_SUFFIX),
            indexed=set(md.get("versions") or [md.get("version")]),
        )


def sweep_token(sweep: Sweep, token: str, indexed: dict[str, dict[str, Any]]) -> list[str]:
    """Clean up one token's folder; returns its published copies that belong in
    the index, newest first."""
    files = TokenFiles.read(sweep.backend, token, indexed.get(token))
    remove_dead_temporaries(sweep, files)
    remove_unfinished_writes(sweep, files)
    remove_orphaned_metas(sweep, files)
    settle_tombstoned(sweep, files)
    settle_retired(sweep, files)
    if not sweep.dry_run and not files.metas:
        sweep.backend.rmdir_if_empty(token)
    return sorted(files.metas, reverse=True)


def remove_dead_temporaries(sweep: Sweep, files: TokenFiles) -> None:
    for name, item in files.items.items():
        if sweep.tmp_dead(name, item):
            sweep.remove(f"{files.token}/{name}")


def remove_unfinished_writes(sweep: Sweep, files: TokenFiles) -> None:
    """Copies of dead writers that never published (no meta file): data and marker
    go. A published copy whose writer died before tidying up loses its marker."""
    b, token = sweep.backend, files.token
    for vid in sorted(files.dirs | files.markers):
        writing = layout.writing_rel(token, vid)
        if vid in files.metas:
            if vid in files.markers:  # published; the writer died before tidying up
                with b.dead_writer(writing, sweep.writer_grace) as dead:
                    if dead:
                        sweep.remove(writing)
            continue
        if vid in files.markers:
            with b.dead_writer(writing, sweep.writer_grace) as dead:
                if not dead:
                    continue
                if b.exists(layout.meta_rel(token, vid)):
                    files.metas.add(vid)
                    continue
                if vid in files.dirs:
                    sweep.remove(layout.data_rel(token, vid))
                sweep.remove(writing)
            continue
        # no marker: the writer finished (meta) or died; look at meta again
        if b.exists(layout.meta_rel(token, vid)):
            files.metas.add(vid)
            continue
        sweep.remove(layout.data_rel(token, vid))


def remove_orphaned_metas(sweep: Sweep, files: TokenFiles) -> None:
    """Meta files of copies whose data is gone."""
    for vid in sorted(files.metas):
        if vid not in files.dirs and not sweep.backend.exists(layout.data_rel(files.token, vid)):
            sweep.remove(layout.meta_rel(files.token, vid))
            files.metas.discard(vid)


def settle_tombstoned(sweep: Sweep, files: TokenFiles) -> None:
    """Copies the user removed: never back in the index; their files go once the
    grace period has passed (``delete_files``), or with ``delete_detached``."""
    token = files.token
    for vid in sorted(files.tombstoned):
        if vid not in files.metas:  # its copy is gone: the tombstone has no use
            sweep.remove(layout.removed_rel(token, vid))
            continue
        if vid in files.indexed:  # a remove that did not commit: the index wins
            continue
        files.metas.discard(vid)
        stone = copies.tombstone(sweep.backend, token, vid)
        if sweep.delete_detached or (stone.get("delete_files") and copies.past_grace(
                sweep.backend, layout.removed_rel(token, vid), "removed",
                sweep.copy_grace, sweep.now)):
            sweep.remove(layout.meta_rel(token, vid))
            sweep.remove(layout.data_rel(token, vid))
            sweep.remove(layout.removed_rel(token, vid))
            if vid in files.retired:
                sweep.remove(layout.retired_rel(token, vid))
        elif not stone.get("delete_files"):
            sweep.report.detached.append(sweep.backend.url(layout.data_rel(token, vid)))


def settle_retired(sweep: Sweep, files: TokenFiles) -> None:
    """Copies out of the index: never back in it; deleted once the grace period has
    passed."""
    token = files.token
    for vid in sorted(files.retired - files.tombstoned):
        if vid not in files.metas:  # its copy is gone: the marker has no use
            sweep.remove(layout.retired_rel(token, vid))
            continue
        if vid in files.indexed:
            continue  # listed again (a hand edit): leave it to the index
        files.metas.discard(vid)
        mtime = files.items[vid + layout.RETIRED_SUFFIX].mtime
        if copies.past_grace(sweep.backend, layout.retired_rel(token, vid), "retired",
                             sweep.copy_grace, sweep.now, mtime):
            sweep.remove(layout.meta_rel(token, vid))
            sweep.remove(layout.data_rel(token, vid))
            sweep.remove(layout.retired_rel(token, vid))


# ---- phase 3: the index against the published copies


def compare_index(sweep: Sweep, indexed: dict[str, dict[str, Any]],
                  published: dict[str, list[str]]) -> dict[str, str]:
    """The index entries to fix (:data:`REINDEX` a token whose newest published copy
    is newer than its entry or has none, :data:`DROP` one whose copies are all
    gone); published copies older than the entry and not listed by it are retired."""
    from .records import CATALOG_DIR

    fixes: dict[str, str] = {}
    for token, vids in published.items():
        entry = indexed.get(token)
        if not vids:
            continue
        md = (entry or {}).get("metadata") or {}
        if entry is None or (md.get("version") and vids[0] > md["version"]):
            fixes[token] = REINDEX
            sweep.report.reindexed.append(token)
        elif md.get("version"):
            listed = set(md.get("versions") or [md["version"]])
            for vid in vids:
                if vid not in listed and vid < md["version"]:
                    sweep.retire(token, vid)  # deleted by a later gc, after the grace
    for token, entry in indexed.items():
        md = entry.get("metadata") or {}
        urlpath = (entry.get("args") or {}).get("urlpath")
        ours = isinstance(urlpath, str) and urlpath.startswith(CATALOG_DIR)
        if ours and md.get("version") and not published.get(token):
            fixes[token] = DROP
            sweep.report.dropped.append(token)
    return fixes


def fix_index(sweep: Sweep, fixes: dict[str, str]) -> None:
    """Apply ``fixes`` in one index update, each checked again against the index as
    the update reads it; then retire what the reindexed entries no longer keep."""
    b, index = sweep.backend, sweep.store.index
    metas_by_token = index.published()

    def fn(entries: MutableMapping[str, dict[str, Any]]) -> None:
        for token, action in fixes.items():
            versions = metas_by_token.get(token)
            if versions and token not in entries:
                # a remove may have committed since the listing: its
                # tombstones were written before, so they are seen here
                versions = {v: m for v, m in versions.items()
                            if not b.exists(layout.removed_rel(token, v))}
            if action == DROP:
                if entries.get(token) is not None and not versions:
                    del entries[token]
            elif versions:
                cur = entries.get(token)
                cur_v = ((cur or {}).get("metadata") or {}).get("version") or ""
                if cur is None or max(versions) > cur_v:
                    keep = ((cur or {}).get("metadata") or {}).get("keep") or 1
                    new = merge_versions(versions)
                    new["metadata"]["versions"] = new["metadata"]["versions"][:keep]
                    entries[token] = new

    index.update(fn)
    for token in sweep.report.reindexed:
        cur = index.lookup(token)
        if cur is not None:
            for vid in copies.prune(b, token, cur, sweep.store.grace, index.lookup):
                sweep.report.retired.append(b.url(layout.data_rel(token, vid)))


# ---- phase 4: pending markers


def remove_pending_markers(sweep: Sweep, indexed: dict[str, dict[str, Any]]) -> None:
    """Pending markers of writers that died before publishing, or of copies the
    index has caught up with."""
    b = sweep.backend
    for item in b.listdir(layout.PENDING):
        pend = layout.parse_pending(item.name)
        if pend is None:
            continue
        token, vid = pend
        md = (indexed.get(token) or {}).get("metadata") or {}
        # marker before meta: a writer publishes its meta before its marker goes
        writing = b.exists(layout.writing_rel(token, vid))
        if b.exists(layout.meta_rel(token, vid)):
            if md.get("version") and vid <= md["version"]:
                sweep.remove(layout.pending_rel(token, vid))
        elif not writing:
            sweep.remove(layout.pending_rel(token, vid))
    if not sweep.dry_run:
        b.rmdir_if_empty(layout.PENDING)
