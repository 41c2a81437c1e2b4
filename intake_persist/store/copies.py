"""The files of a token's copies once they leave the index: retired copies and
tombstones (``<vid>.retired``, ``<vid>.removed``), the grace period readers get,
and deletion.

A copy out of the index is not deleted at once: readers that resolved it may
still be reading. It is marked (the mark records when), and deleted once ``grace``
seconds have passed, by :func:`reap` (after a persist, a remove) or by gc. Every
function takes the store's backend; paths are those of :mod:`.layout`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

from . import layout
from .backends import Backend, Item

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def tombstones(items: list[Item]) -> set[str]:
    """Version ids with a tombstone (``<vid>.removed``) among a token's files."""
    n = len(layout.REMOVED_SUFFIX)
    return {i.name[:-n] for i in items if i.name.endswith(layout.REMOVED_SUFFIX)}


def tombstone(backend: Backend, token: str, vid: str) -> dict[str, Any]:
    """What the tombstone of copy ``vid`` says (``{}`` when absent or unreadable)."""
    try:
        stone = json.loads(backend.read_bytes(layout.removed_rel(token, vid)))
    except (OSError, ValueError):
        return {}
    return stone if isinstance(stone, dict) else {}


def retire(backend: Backend, token: str, vid: str, why: str) -> None:
    """Mark a copy as out of the index since now (the first mark stays)."""
    mark = json.dumps({"retired": round(time.time(), 6), "why": why}).encode()
    with contextlib.suppress(FileExistsError):
        backend.create_only(layout.retired_rel(token, vid), mark)


def mark_time(backend: Backend, rel: str, key: str, mtime: float | None = None) -> float | None:
    """The time recorded in a JSON marker (``key``), else the file's mtime; ``None``
    when the marker is gone."""
    try:
        t = json.loads(backend.read_bytes(rel)).get(key)
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            return float(t)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        pass
    return mtime


def past_grace(backend: Backend, rel: str, key: str, grace: float, now: float,
               mtime: float | None = None) -> bool:
    """True when the marker ``rel`` was made at least ``grace`` seconds before ``now``."""
    if grace <= 0:
        return True
    t = mark_time(backend, rel, key, mtime)
    return t is not None and now - t >= grace


def delete_copy(backend: Backend, token: str, vid: str) -> None:
    """Delete copy ``vid`` and its marks."""
    # meta first: a reader that finds the meta after its read knows the data
    # was whole (see readers.CopyGuard)
    backend.rm(layout.meta_rel(token, vid))
    backend.rm(layout.data_rel(token, vid))
    backend.rm(layout.removed_rel(token, vid))
    backend.rm(layout.retired_rel(token, vid))


def reap(backend: Backend, token: str, grace: float, dry_run: bool = False,
         report: list[str] | None = None, items: list[Item] | None = None) -> list[str]:
    """Delete the copies of ``token`` retired, or removed with their files, at least
    ``grace`` seconds ago; their data URLs go to ``report``. Returns their vids.
    ``items``: the token's listing when the caller has just made it."""
    now = time.time()
    if items is None:
        items = backend.listdir(token)
    names = {i.name: i for i in items}
    gone = []
    for name, item in names.items():
        if name.endswith(layout.RETIRED_SUFFIX):
            vid = name[: -len(layout.RETIRED_SUFFIX)]
            if not layout.is_vid(vid) or vid + layout.REMOVED_SUFFIX in names:
                continue
            if past_grace(backend, layout.retired_rel(token, vid), "retired", grace, now,
                          item.mtime):
                gone.append(vid)
        elif name.endswith(layout.REMOVED_SUFFIX):
            vid = name[: -len(layout.REMOVED_SUFFIX)]
            if not layout.is_vid(vid):
                continue
            if tombstone(backend, token, vid).get("delete_files") and past_grace(
                    backend, layout.removed_rel(token, vid), "removed", grace, now,
                    item.mtime):
                gone.append(vid)
    from .readers import held_open

    root = backend.url()
    for vid in sorted(gone):
        if held_open(root, token, vid):
            continue  # a reader of this process is at it: a later reap or gc
        if report is not None:
            report.append(backend.url(layout.data_rel(token, vid)))
        if not dry_run:
            delete_copy(backend, token, vid)
    return gone


def prune(backend: Backend, token: str, current: dict[str, Any], grace: float,
          lookup: Callable[[str], dict[str, Any] | None],
          items: list[Item] | None = None) -> list[str]:
    """Retire the published copies of ``token`` that the index no longer lists
    (older than its current entry ``current``), then :func:`reap` those past
    ``grace``. ``lookup`` reads the token's entry from the index now. Returns the
    version ids retired now. ``items``: a listing of the token's folder made before
    ``current`` was read will do (what was published after it is left for later)."""
    md = current.get("metadata") or {}
    keepers = set(md.get("versions") or [md.get("version")])
    newest = md.get("version") or ""
    if items is None:
        items = backend.listdir(token)
    names = {i.name for i in items}
    detached = tombstones(items)
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
                  if not backend.exists(layout.pending_rel(token, v))]
    if candidates:
        fresh = (lookup(token) or {}).get("metadata") or {}
        listed = set(fresh.get("versions") or [fresh.get("version")])
        candidates = [v for v in candidates if v not in listed]
    for vid in candidates:
        retire(backend, token, vid, "pruned")
    # the listing above serves, unless a copy retired just now is due already
    reap(backend, token, grace, items=None if candidates and grace <= 0 else items)
    return candidates


def mark_removed(backend: Backend, token: str, entry: dict[str, Any], delete_files: bool) -> None:
    """Tombstone every copy of ``token`` up to ``entry``'s version, so that gc and
    rebuilds never put it back. Newer copies belong to persists still in flight."""
    md = entry.get("metadata") or {}
    newest = md.get("version")
    if not newest:
        return
    vids = {v for v in (md.get("versions") or [newest]) if layout.is_vid(v)}
    for item in backend.listdir(token):
        if item.name.endswith(layout.META_SUFFIX):
            vid = item.name[: -len(layout.META_SUFFIX)]
            if layout.is_vid(vid) and vid <= newest:
                vids.add(vid)
    mark = json.dumps({"removed": round(time.time(), 6),
                       "delete_files": delete_files}).encode()
    for vid in sorted(vids):
        backend.put(layout.removed_rel(token, vid), mark)


def delete_token(backend: Backend, token: str, detached: bool = False) -> None:
    """Delete the copies of ``token`` (not a token: nothing); detached ones
    (``remove(delfiles=False)``) only when ``detached``."""
    if not layout.is_token(token):
        return
    items = backend.listdir(token)
    stoned = tombstones(items)
    for item in items:
        if item.name.endswith(layout.META_SUFFIX):
            vid = item.name[: -len(layout.META_SUFFIX)]
            if not layout.is_vid(vid):
                continue
            if (detached or vid not in stoned
                    or tombstone(backend, token, vid).get("delete_files")):
                delete_copy(backend, token, vid)
    lock = f"{token}/{layout.REFRESH_LOCK}"
    if backend.exists(lock):
        backend.rm(lock)
    backend.rmdir_if_empty(token)
