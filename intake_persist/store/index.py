"""The central index ``<persist_path>/cat.yaml``: a catalog with one entry per token.

Layout written by the store (valid YAML; each entry is one line of JSON flow style)::

    # intake_persist store index (format 1): a catalog, one entry per line.
    metadata: {"version": 1, "intake_persist_index": 1}
    sources:
      "<token>": {"driver": "parquet", "args": {...}, "metadata": {...}}
      ...
    # end of index: 2 entries

A lookup finds the token's line and parses that line only. A file that does not
follow the layout (reformatted by hand) is parsed as ordinary YAML and honoured.
A file with our header whose trailer is missing (truncated), or that cannot be
parsed, is *damaged*: it is kept as ``cat.yaml.damaged-<time>`` and the index is
rebuilt from the ``<token>/<vid>.meta.yaml`` files, with a warning.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Callable

from ..errors import IndexConflict, IndexDamaged  # noqa: F401
from . import journal, layout, offsets
from .index_file import (
    ENTRY_LINE,
    HEADER_PREFIX,
    INDEX_METADATA,
    Entries,
    Snapshot,
    encode_entry,
    encode_value,
    render,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .backends import Backend


class Index:
    """The index of one store, over a backend (see :mod:`.backends`); past
    :attr:`journal_from` bytes, updates go to the journal (see :mod:`.journal`)."""

    #: a rewrite of ``cat.yaml`` that reaches this size switches the index to the journal
    journal_from: int = journal.JOURNAL_FROM
    #: records per journal generation; the writer of the last one folds them in
    fold_records: int = journal.FOLD_RECORDS

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._snap: Any = None  # a Snapshot, or an offsets.OffsetsBase
        self._view: journal.View | None = None
        self._records = journal.Records(backend)
        # optional: an object with collect() -> state, apply(entries, state) and
        # done(state), run around every update (the store folds in pending copies)
        self.hook: Any = None

    # ---- reading -----------------------------------------------------------------
    def _base(self, locked: bool = False) -> Any:
        """``cat.yaml`` as it is now; costs a stat when it has not changed since last time
        (and, on a remote store, one read the first time)."""
        snap = self._snap
        if snap is None and not self.backend.local_paths:
            data, tag = self.backend.read()
            snap = self._snap = self._parse(data, tag, locked)
            return snap
        tag = self.backend.tag()
        if snap is not None and snap.tag == tag:
            return snap
        if tag is None:  # nothing persisted yet
            snap = Snapshot(None, None)
        elif self.backend.local_paths and (cached := offsets.OffsetsBase.open(
                self.backend.root, self.backend.url(layout.INDEX), tag)) is not None:
            snap = cached  # a large index: read entry by entry
        else:
            data, tag = self.backend.read()
            snap = self._parse(data, tag, locked)
        self._snap = snap
        return snap

    def _parse(self, data: bytes | None, tag: Any, locked: bool) -> Snapshot:
        if data is None:
            return Snapshot(None, None)
        try:
            return Snapshot(data, tag)
        except IndexDamaged as exc:
            return self.repair(data, tag, str(exc), locked=locked)

    def _merged(self, base: Snapshot) -> Snapshot | journal.View | None:
        """``base`` with the journal applied, or None when ``cat.yaml`` changed while the
        journal was listed (a fold: read both again)."""
        gen = journal.gen_of(base.metadata)
        if gen is None:
            return base
        listing = journal.list_slots(self.backend, gen)
        if not listing.contiguous() and self.backend.tag() != base.tag:
            return None  # a fold is deleting what it folded: cat.yaml changed, read again
        records = self._records.read(listing)
        view = self._view
        if (view is not None and view.base is base
                and [r.key for r in view.records] == [r.key for r in records]):
            return view
        view = self._view = journal.View(base, records, gen, listing)
        return view

    def snapshot(self, locked: bool = False) -> Snapshot | journal.View:
        """The current index (``cat.yaml`` merged with the journal)."""
        for _ in range(20):
            merged = self._merged(self._base(locked))
            if merged is not None:
                return merged
        raise IndexConflict(f"{self.backend.url(layout.INDEX)} keeps changing")

    def exists(self) -> bool:
        return self.backend.tag() is not None

    def lookup(self, token: str) -> dict[str, Any] | None:
        """The entry for ``token`` or None; one stat when the index is unchanged (and,
        when journaled, a listing of the journal)."""
        snap = self.snapshot()
        try:
            return snap.get(token)
        except IndexDamaged as exc:
            self._snap = self.repair(snap.data, snap.tag, str(exc))
            return self.snapshot().get(token)

    def entries(self) -> dict[str, dict[str, Any]]:
        snap = self.snapshot()
        try:
            return snap.all()
        except IndexDamaged as exc:
            self._snap = self.repair(snap.data, snap.tag, str(exc))
            return self.snapshot().all()

    # ---- writing -----------------------------------------------------------------
    def update(self, fn: Callable[[Any], Any], retries: int = 50) -> Any:
        """Apply ``fn`` to the entries and write them back atomically; retried when
        another writer got there first. Returns what ``fn`` returned."""
        delay = 0.005
        hook = self.hook
        state, first = self._prepare(hook)
        for attempt in range(retries):
            with self.backend.locked():
                base, first = (first if first is not None else self._base(locked=True)), None
                try:
                    base.metadata  # noqa: B018 - parsed now: a damaged line repairs here
                    if journal.gen_of(base.metadata) is not None:
                        done = self._journal_update(fn, base, hook, state)
                    else:
                        done = self._direct_update(fn, base, hook, state)
                except IndexDamaged as exc:
                    self._snap = self.repair(base.data, base.tag, str(exc), locked=True)
                    continue
                except IndexConflict:
                    if attempt == retries - 1:
                        raise
                    done = None
                if done is not None:
                    if state:
                        hook.done(state)
                    return done[0]
            # jittered backoff: writers that collided do not collide again in step
            import random

            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)
        raise IndexConflict("could not update the index")  # pragma: no cover

    def _prepare(self, hook: Any) -> tuple[Any, Snapshot | None]:
        """The hook's state and, on a remote store read for the first time, ``cat.yaml``
        read at the same time (one round trip instead of two; a change in between
        fails the write, which reads again)."""
        if hook is None:
            return None, None
        if self.backend.local_paths or self._snap is not None:
            return hook.collect(), None
        import contextvars
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="intake-persist-index") as ex:
            collected = ex.submit(contextvars.copy_context().run, hook.collect)
            base = self._base(locked=False)
            return collected.result(), base

    def _direct_update(self, fn: Callable[[Any], Any], base: Snapshot, hook: Any,
                       state: Any) -> tuple[Any] | None:
        """Rewrite ``cat.yaml`` (a small index); switch to the journal once it is large."""
        entries = Entries(base)
        result = fn(entries)
        if state:
            hook.apply(entries, state)
        data = entries.render()
        if len(data) >= self.journal_from:
            # past generations (of an index made small again by hand) stay unread
            gens = [int(i.name) for i in self.backend.listdir(journal.JOURNAL)
                    if i.isdir and i.name.isdigit()]
            entries.metadata["journal"] = max(gens) + 1 if gens else 0
            data = entries.render()
        self.backend.write(data, base.tag)  # IndexConflict: retried by update
        self._snap = None
        return (result,)

    def _journal_update(self, fn: Callable[[Any], Any], base: Snapshot, hook: Any,
                        state: Any) -> tuple[Any] | None:
        """Write the update as one journal record; None to retry."""
        view = self._merged(base)
        if view is None or not isinstance(view, journal.View):
            return None
        entries = journal.Entries(view)
        result = fn(entries)
        if state:
            hook.apply(entries, state)
        changes, prev = entries.changes()
        if not changes:
            return (result,)
        gen, slot, active = journal.active_slot(view.listing, view.records, view.gen)
        rec = journal.Record.new(changes, prev)
        if len(active) + 1 >= self.fold_records:
            rec.close, rec.folded = True, [r.nonce for r in active]
        try:
            self.backend.create_only(journal.slot_rel(gen, slot), rec.encode())
        except FileExistsError:
            return None  # another writer took the slot: read again
        rec.gen, rec.slot = gen, slot
        self._records._cache[rec.key] = rec
        if not self._settled(rec, base.tag):
            # left in place: it has no effect (the merge skips it, or nobody reads it),
            # and a slot is never written twice while its generation is read
            return None
        if rec.close:
            try:
                self.fold(gen)
            except (IndexConflict, OSError) as exc:  # the next closer folds it
                warnings.warn(f"could not fold the journal of {self.backend.url()}: {exc}",
                              RuntimeWarning, stacklevel=4)
        return (result,)

    def _settled(self, rec: journal.Record, base_tag: Any) -> bool:
        """True when ``rec``, just written, is in effect (the index read again shows it
        applied, or folded into ``cat.yaml``); False when it must be written again."""
        if self.backend.tag() == base_tag:
            # no fold and no hand edit since the state the record was written against
            # was read: it applies (one stat, one HEAD on S3)
            return True
        for _ in range(20):
            base = self._base(locked=True)
            gen = journal.gen_of(base.metadata)
            if gen is None or gen > rec.gen:
                return self._was_folded(rec)
            merged = self._merged(base)
            if not isinstance(merged, journal.View):
                continue
            if rec.key not in {r.key for r in merged.records}:
                return False
            return merged.effective(rec)
        return False

    def _was_folded(self, rec: journal.Record) -> bool:
        """Whether the fold of ``rec``'s generation took ``rec`` in (its close record
        lists the nonces it folded)."""
        for item in self.backend.listdir(journal.gen_rel(rec.gen)):
            if not item.name.isdigit():
                continue
            try:
                other = journal.Record.decode(rec.gen, int(item.name), self.backend.read_bytes(
                    journal.slot_rel(rec.gen, int(item.name))))
            except (OSError, ValueError):
                continue
            if other.close and (rec.nonce in other.folded or other.nonce == rec.nonce):
                return True
        return False

    def fold(self, upto: int | None = None, close: bool = False) -> bool:
        """Fold the closed journal generations (up to ``upto``) into ``cat.yaml``. With
        ``close``, first close the open generation (an empty close record), so that
        ``cat.yaml`` then holds every update made so far. True when something was folded."""
        b = self.backend
        with b.locked():
            for _attempt in range(50):
                base = self._base(locked=True)
                gen = journal.gen_of(base.metadata)
                if gen is None:
                    return False
                listing = journal.list_slots(b, gen)
                if not listing.contiguous() and b.tag() != base.tag:
                    continue
                records = self._records.read(listing)
                closed = [r.gen for r in records if r.close]
                if close and listing.slots:
                    g, slot, active = journal.active_slot(listing, records, gen)
                    if active or not closed:
                        rec = journal.Record.new({}, {})
                        rec.close, rec.folded = True, [r.nonce for r in active]
                        try:
                            b.create_only(journal.slot_rel(g, slot), rec.encode())
                        except FileExistsError:
                            continue
                        rec.gen, rec.slot = g, slot
                        self._records._cache[rec.key] = rec
                        close = False
                        continue
                if upto is not None:
                    closed = [g for g in closed if g <= upto]
                if not closed:
                    return False
                last = max(closed)
                view = journal.View(base, [r for r in records if r.gen <= last], gen, listing)
                md = dict(base.metadata)
                md["journal"] = last + 1
                spliced = None
                if isinstance(base, offsets.OffsetsBase):  # change the lines that changed
                    changes = {t: None if (v := view.get(t)) is None else encode_entry(v)
                               for t in view.touched()}
                    spliced = base.splice(changes, md)
                if spliced is not None:
                    data, rows = spliced
                else:
                    items = view.raw_items()
                    data = render(md, items)
                    rows = offsets.table(offsets.value_spans(encode_value(md).encode(), items))
                try:
                    tag = b.write(data, base.tag)
                except IndexConflict:
                    import random

                    time.sleep(random.uniform(0.005, 0.05))
                    continue
                self._snap = Snapshot(data, tag)
                if b.local_paths:
                    offsets.write(b.root, tag, md, rows)
                self._tidy(listing, last)
                return True
        raise IndexConflict(f"could not fold the journal of {b.url()}")

    def _tidy(self, listing: journal.Listing, last: int) -> None:
        """Delete folded records (a generation's close record stays a while)."""
        b = self.backend
        for g, s in listing.keys():
            if g > last:
                break
            rec = self._records._cache.get((g, s))
            if rec is not None and rec.close:
                continue
            b.rm(journal.slot_rel(g, s))
            self._records.forget((g, s))
        for item in b.listdir(journal.JOURNAL):
            if item.name.isdigit() and int(item.name) <= last - journal.KEEP_CLOSED:
                b.rm(journal.gen_rel(int(item.name)))

    def tidy(self, dry_run: bool = False) -> list[str]:
        """Delete what folded generations left in the journal (records written again by
        a writer that found its slot gone; close records past :data:`~.journal.KEEP_CLOSED`
        folds; the whole journal of an index that is no longer journaled). Returns
        their URLs."""
        b = self.backend
        gen = journal.gen_of(self._base().metadata)
        gone: list[str] = []

        def rm(rel: str) -> None:
            gone.append(b.url(rel))
            if not dry_run:
                b.rm(rel)

        for item in b.listdir(journal.JOURNAL):
            if gen is None and item.name == offsets.OFFSETS.rsplit("/", 1)[1]:
                rm(offsets.OFFSETS)  # describes a journaled version that is gone
                continue
            if not (item.isdir and item.name.isdigit()):
                continue
            g = int(item.name)
            if gen is not None and g >= gen:
                continue
            if gen is None or g < gen - journal.KEEP_CLOSED:
                rm(journal.gen_rel(g))
                continue
            for s in b.listdir(journal.gen_rel(g)):
                if not s.name.isdigit():
                    continue
                rel = journal.slot_rel(g, int(s.name))
                try:
                    rec = journal.Record.decode(g, int(s.name), b.read_bytes(rel))
                except FileNotFoundError:
                    continue
                except (ValueError, UnicodeDecodeError):
                    rec = None
                if rec is None or not rec.close:
                    rm(rel)
        return gone

    def remove_if_empty(self) -> bool:
        """Delete the index file (and, locally, its lock file) when it lists nothing;
        True when no index is left. An index some writer has just added to stays."""
        with self.backend.locked():
            data, tag = self.backend.read()
            if data is not None:
                try:
                    snap = Snapshot(data, tag)
                    if snap.all():
                        return False
                    merged = self._merged(snap)
                    if merged is None or merged.all():
                        return False
                except IndexDamaged:
                    return False
                if self.backend.tag() != tag:
                    return False
                self.backend.rm(journal.JOURNAL)
                self.backend.rm(layout.INDEX)
            self._snap = self._view = None
            if self.backend.uses_lock_file:  # removed while held: the next locker makes one
                self.backend.rm(layout.LOCK)
        return True

    # ---- repair ------------------------------------------------------------------
    def published(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{token: {vid: meta entry}}`` for every published copy (meta file present)
        that the user has not removed (no tombstone) and that has not been retired
        (taken out of the index by a newer copy: ``<vid>.retired``)."""
        from .._yaml import YAMLError, load

        out: dict[str, dict[str, dict[str, Any]]] = {}
        for item in self.backend.listdir(""):
            if not (item.isdir and layout.is_token(item.name)):
                continue
            subs = self.backend.listdir(item.name)
            removed = {s.name for s in subs if s.name.endswith(layout.REMOVED_SUFFIX)}
            retired = {s.name for s in subs if s.name.endswith(layout.RETIRED_SUFFIX)}
            for sub in subs:
                if not sub.name.endswith(layout.META_SUFFIX):
                    continue
                vid = sub.name[: -len(layout.META_SUFFIX)]
                if not layout.is_vid(vid) or vid + layout.REMOVED_SUFFIX in removed:
                    continue  # removed by the user: never put back
                if vid + layout.RETIRED_SUFFIX in retired:
                    continue  # replaced by a newer copy: never put back
                try:
                    meta = load(self.backend.read_bytes(f"{item.name}/{sub.name}"))
                except (YAMLError, OSError) as exc:
                    warnings.warn(f"skipping unreadable {sub.name} of {item.name}: {exc}",
                                  stacklevel=2)
                    continue
                if isinstance(meta, dict):
                    out.setdefault(item.name, {})[vid] = meta
        return out

    def repair(self, data: bytes | None, tag: Any, reason: str, locked: bool = False) -> Snapshot:
        """Rebuild a damaged index from the meta files, keeping the damaged file."""
        if not locked:
            with self.backend.locked():
                return self.repair(data, tag, reason, locked=True)
        for _ in range(10):
            cur_data, cur_tag = self.backend.read()
            if cur_tag != tag:  # someone else repaired or rewrote it meanwhile
                try:
                    return Snapshot(cur_data, cur_tag)
                except IndexDamaged as exc:
                    data, tag, reason = cur_data, cur_tag, str(exc)
            try:
                return self._rebuild(data, tag, reason)
            except IndexConflict:  # object stores (no lock): another writer got there
                import random

                time.sleep(random.uniform(0.005, 0.05))
        raise IndexConflict(f"could not repair {self.backend.url(layout.INDEX)}")

    def _rebuilt_metadata(self, data: bytes | None) -> dict[str, Any]:
        """Metadata of a rebuilt index: journaled from the damaged file's generation (or
        the oldest one present), so that records written since still apply where the
        rebuilt entries are the ones they were written against."""
        md = dict(INDEX_METADATA)
        gen = _salvaged_gen(data)
        if gen is None:
            gens = [int(i.name) for i in self.backend.listdir(journal.JOURNAL)
                    if i.isdir and i.name.isdigit()]
            gen = min(gens) if gens else None
        if gen is not None:
            md["journal"] = gen
        return md

    def _rebuild(self, data: bytes | None, tag: Any, reason: str) -> Snapshot:
        salvaged = _salvage(data or b"")
        entries: list[tuple[str, bytes]] = []
        for token, versions in sorted(self.published().items()):
            entries.append((token, encode_entry(merge_versions(versions, salvaged.get(token)))))
        import datetime as _dt

        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
        kept = layout.DAMAGED_PREFIX + stamp
        if data:
            self.backend.put(kept, data)
        new = render(self._rebuilt_metadata(data), entries)
        new_tag = self.backend.write(new, tag)
        reason = " ".join(reason.split())
        where = f"; the damaged file is kept as {self.backend.url(kept)}" if data else ""
        warnings.warn(
            f"the persist index {self.backend.url(layout.INDEX)} was damaged ({reason}); "
            f"rebuilt it from the copies' metadata files ({len(entries)} entries){where}",
            RuntimeWarning,
            stacklevel=3,
        )
        return Snapshot(new, new_tag)


def _salvaged_gen(data: bytes | None) -> int | None:
    """The journal generation a damaged index recorded, if its metadata line reads."""
    m = re.search(rb"^metadata: (.*)$", data or b"", re.M)
    if m is None:
        return None
    try:
        md = json.loads(m.group(1))
    except ValueError:
        return None
    return journal.gen_of(md) if isinstance(md, dict) else None


def _salvage(data: bytes) -> dict[str, dict[str, Any]]:
    """Entries that can still be read line by line from a damaged index."""
    out: dict[str, dict[str, Any]] = {}
    if not data.startswith(HEADER_PREFIX):
        return out
    for m in ENTRY_LINE.finditer(data):
        token = m.group(1).decode("utf-8", "replace")
        try:
            value = json.loads(m.group(2))
        except ValueError:
            continue
        if isinstance(value, dict):
            out[token] = value
    return out


def merge_versions(versions: dict[str, dict[str, Any]],
                   salvaged: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index entry for a token from its published copies' meta entries: the
    newest copy, listing the others (newest first). A salvaged index line for the
    same version wins, so hand edits survive a rebuild."""
    vids = sorted(versions, reverse=True)
    newest = vids[0]
    entry = versions[newest]
    if salvaged is not None and (salvaged.get("metadata") or {}).get("version") == newest:
        entry = salvaged
    import copy

    entry = copy.deepcopy(entry)
    md = entry.setdefault("metadata", {})
    md["version"] = newest
    md["versions"] = vids
    return entry
