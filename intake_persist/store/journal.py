"""The index journal: index updates that cost the same whatever the size of ``cat.yaml``.

Once ``cat.yaml`` has grown past :data:`JOURNAL_FROM` bytes its metadata carries
``"journal": G`` and an update no longer rewrites it: it writes one small record,
create-only, in the next free slot of the journal::

    journal/<gen>/<slot>          one update (10-digit numbers, zero-padded)

The slot is the compare-and-swap: two writers that read the same state race for the
same slot and one gets ``FileExistsError``, reads again and retries, so records form
one sequence, each written against the state of all records before it. Readers
(and writers) merge the records of generations ``>= G`` in order over ``cat.yaml``.

A record holds, for each token it changes, the new entry (or a deletion) and the
digest of the entry the writer saw (``prev``). A record applies to a token only when
that digest still matches: so a hand edit of ``cat.yaml`` (or a rebuild from the
meta files) wins over records written before it, for the tokens it changed, and
records written after it apply as usual. The merge is deterministic, so every
reader sees the same state.

Every :attr:`Index.fold_records` records, the writer marks its record ``close``:
the generation is then complete (a writer that finds it closed moves to the next
one) and is *folded*: ``cat.yaml`` is rewritten (compare-and-swap on its tag) with
the merged entries and ``"journal": gen + 1``; then the generation's records are
deleted except its close record, which lists the nonces of the records it folded
(a writer held up long enough to find its slot deleted and taken again learns from
it whether its record was folded or lost). Any writer folds a closed generation it
finds unfolded (its closer died). Each update re-reads the journal after its record
is in and retries unless its record is in effect.
"""

from __future__ import annotations

import json
import os
import time
import warnings
import zlib
from collections.abc import Iterator, MutableMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    _EntriesBase = MutableMapping[str, dict[str, Any]]
else:
    _EntriesBase = MutableMapping  # typing is not imported on the lookup path

JOURNAL = "journal"
#: ``cat.yaml`` switches to the journal when a rewrite would reach this many bytes
JOURNAL_FROM = 256 * 1024
#: records per generation: the writer of the last one folds it into ``cat.yaml``
FOLD_RECORDS = 100
#: close records of this many folded generations are kept (see the module docstring)
KEEP_CLOSED = 16
_W = 10


def gen_rel(gen: int) -> str:
    return f"{JOURNAL}/{gen:0{_W}d}"


def slot_rel(gen: int, slot: int) -> str:
    return f"{JOURNAL}/{gen:0{_W}d}/{slot:0{_W}d}"


def gen_of(metadata: dict[str, Any]) -> int | None:
    """The first unfolded generation recorded in the index metadata, None when the
    index is not journaled."""
    g = metadata.get("journal")
    if isinstance(g, bool) or not isinstance(g, int) or g < 0:
        return None
    return g


def digest(value: dict[str, Any] | None) -> str:
    """What a record remembers of the entry its writer saw (``-`` for none)."""
    if value is None:
        return "-"
    from .index_file import encode_entry

    return format(zlib.crc32(encode_entry(value)), "08x")


# --------------------------------------------------------------------------- records


class Record:
    """One journal record: ``changes`` maps tokens to encoded entries (None: deleted),
    ``prev`` maps them to the digest of the entry the writer saw."""

    __slots__ = ("gen", "slot", "nonce", "close", "changes", "prev", "folded", "time",
                 "_values")

    def __init__(self, gen: int, slot: int, nonce: str, changes: dict[str, bytes | None],
                 prev: dict[str, str], close: bool = False, folded: list[str] | None = None,
                 time_: float | None = None):
        self.gen, self.slot, self.nonce = gen, slot, nonce
        self.changes, self.prev, self.close = changes, prev, close
        self.folded = folded or []
        self.time = time_
        self._values: dict[str, dict[str, Any] | None] = {}

    @property
    def key(self) -> tuple[int, int]:
        return (self.gen, self.slot)

    def value(self, token: str) -> dict[str, Any] | None:
        if token not in self._values:
            raw = self.changes[token]
            if raw is None:
                self._values[token] = None
            else:
                from .index_file import decode_value

                self._values[token] = decode_value(token, raw)
        return self._values[token]

    def encode(self) -> bytes:
        head: dict[str, Any] = {"nonce": self.nonce, "time": self.time, "prev": self.prev,
                                "del": sorted(t for t, v in self.changes.items() if v is None)}
        if self.close:
            head["close"] = True
            head["folded"] = self.folded
        out = [json.dumps(head).encode(), b"\n"]
        for token, raw in self.changes.items():
            if raw is not None:
                out += [b'  "', token.encode(), b'": ', raw, b"\n"]
        return b"".join(out)

    @classmethod
    def decode(cls, gen: int, slot: int, data: bytes) -> Record:
        from .index_file import ENTRY_LINE

        first, _, rest = data.partition(b"\n")
        head = json.loads(first)
        if not isinstance(head, dict) or not isinstance(head.get("prev"), dict):
            raise ValueError("not a journal record")
        changes: dict[str, bytes | None] = {t: None for t in head.get("del") or []}
        for m in ENTRY_LINE.finditer(rest):
            changes[m.group(1).decode()] = m.group(2)
        if set(changes) != set(head["prev"]):
            raise ValueError("a journal record whose changes and digests differ")
        return cls(gen, slot, str(head.get("nonce")), changes,
                   {str(k): str(v) for k, v in head["prev"].items()},
                   bool(head.get("close")), list(head.get("folded") or []), head.get("time"))

    @classmethod
    def new(cls, changes: dict[str, bytes | None], prev: dict[str, str]) -> Record:
        return cls(-1, -1, os.urandom(8).hex(), changes, prev, time_=round(time.time(), 6))


# --------------------------------------------------------------------------- listing


class Listing:
    """The journal's slots from generation ``base_gen`` on: ``{gen: [slot, ...]}``."""

    def __init__(self, base_gen: int, slots: dict[int, list[int]]):
        self.base_gen = base_gen
        self.slots = slots

    def contiguous(self) -> bool:
        """True when every generation listed holds slots 1..n: records are deleted only
        after a fold (which changed ``cat.yaml``), the close record, the last one, kept."""
        return all(s[-1] == len(s) for s in self.slots.values())

    def keys(self) -> Iterator[tuple[int, int]]:
        for g in sorted(self.slots):
            for s in self.slots[g]:
                yield (g, s)


def list_slots(backend: Any, base_gen: int) -> Listing:
    """The record slots of generations ``>= base_gen`` (one listing, plus one per
    generation present)."""
    slots: dict[int, list[int]] = {}
    if backend.local_paths:  # names only: no stat of each record
        root = backend.url(JOURNAL)
        try:
            gens = [int(n) for n in os.listdir(root) if n.isdigit()]
        except OSError:
            gens = []
        for g in gens:
            if g >= base_gen:
                try:
                    names = os.listdir(os.path.join(root, f"{g:0{_W}d}"))
                except OSError:
                    continue
                found = sorted(int(n) for n in names if n.isdigit())
                if found:
                    slots[g] = found
        return Listing(base_gen, slots)
    for item in backend.listdir(JOURNAL):
        if not item.isdir or not item.name.isdigit():
            continue
        g = int(item.name)
        if g < base_gen:
            continue
        found = sorted(int(s.name) for s in backend.listdir(gen_rel(g))
                       if s.name.isdigit() and not s.isdir)
        if found:
            slots[g] = found
    return Listing(base_gen, slots)


class Records:
    """Journal records read from storage, cached (a record never changes while its
    generation is unfolded)."""

    def __init__(self, backend: Any):
        self.backend = backend
        self._cache: dict[tuple[int, int], Record | None] = {}

    def read(self, listing: Listing) -> list[Record]:
        out: list[Record] = []
        for key in listing.keys():
            if key in self._cache:
                rec = self._cache[key]
            else:
                rec = self._load(*key)
                if rec is not None:
                    self._cache[key] = rec
            if rec is not None:
                out.append(rec)
        for key in [k for k in self._cache if k[0] < listing.base_gen]:
            del self._cache[key]
        return out

    def forget(self, key: tuple[int, int]) -> None:
        self._cache.pop(key, None)

    def _load(self, gen: int, slot: int) -> Record | None:
        rel = slot_rel(gen, slot)
        try:
            data = self.backend.read_bytes(rel)
        except FileNotFoundError:
            return None
        try:
            return Record.decode(gen, slot, data)
        except (ValueError, UnicodeDecodeError) as exc:
            warnings.warn(f"skipping the unreadable journal record {self.backend.url(rel)}: "
                          f"{exc}", RuntimeWarning, stacklevel=4)
            return Record(gen, slot, "", {}, {})


# --------------------------------------------------------------------------- merged view


class View:
    """The index as readers see it: ``base`` (a :class:`~.index_file.Snapshot` of
    ``cat.yaml``) with the journal's ``records`` applied in order."""

    lines_mode = False

    def __init__(self, base: Any, records: list[Record], gen: int, listing: Listing):
        self.base = base
        self.listing = listing
        self.records = records
        self.gen = gen
        self.tag = base.tag
        self._touched: dict[str, list[Record]] = {}
        for r in records:
            for t in r.changes:
                self._touched.setdefault(t, []).append(r)
        self._merged: dict[str, dict[str, Any] | None] = {}
        self._effective: dict[tuple[int, int], bool] = {}

    @property
    def metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = self.base.metadata
        return md

    @property
    def data(self) -> bytes | None:
        """The bytes of ``cat.yaml`` (read in full when the base was read entry by entry)."""
        data: bytes | None = self.base.data
        return data

    def get(self, token: str) -> dict[str, Any] | None:
        if token in self._merged:
            return self._merged[token]
        value: dict[str, Any] | None = self.base.get(token)
        for r in self._touched.get(token, ()):
            ok = r.prev[token] == digest(value)
            self._effective[r.key] = self._effective.get(r.key, True) and ok
            if ok:
                value = r.value(token)
        self._merged[token] = value
        return value

    def touched(self) -> list[str]:
        """The tokens the records change, in the order they first appear."""
        return list(self._touched)

    def effective(self, rec: Record) -> bool:
        """True when every change of ``rec`` (one of this view's records) applied."""
        for t in rec.changes:
            self.get(t)
        return self._effective.get(rec.key, True)

    def __contains__(self, token: str) -> bool:
        if token in self._touched:
            return self.get(token) is not None
        return token in self.base

    def keys(self) -> list[str]:
        out = [t for t in self.base.keys() if t not in self._touched or self.get(t) is not None]
        seen = set(out)
        for t in self._touched:
            if t not in seen and self.get(t) is not None:
                out.append(t)
                seen.add(t)
        return out

    def __len__(self) -> int:
        return len(self.keys())

    def all(self) -> dict[str, dict[str, Any]]:
        return {k: self.get(k) for k in self.keys()}  # type: ignore[misc]

    def raw_items(self) -> list[tuple[str, bytes]]:
        from .index_file import encode_entry

        out = []
        for t, raw in self.base.raw_items():
            if t in self._touched:
                v = self.get(t)
                if v is not None:
                    out.append((t, encode_entry(v)))
            else:
                out.append((t, raw))
        seen = {t for t, _ in out}
        for t in self._touched:
            if t not in seen and t not in self.base:
                v = self.get(t)
                if v is not None:
                    out.append((t, encode_entry(v)))
        return out


def active_slot(listing: Listing, records: list[Record], gen: int) -> tuple[int, int, list[Record]]:
    """``(gen, slot)`` of the next free slot, and the records of that generation."""
    closed = {r.gen for r in records if r.close}
    g = max([gen, *listing.slots])
    while g in closed:
        g += 1
    slots = listing.slots.get(g, [])
    return g, (max(slots) + 1 if slots else 1), [r for r in records if r.gen == g]


class Entries(_EntriesBase):
    """The entries handed to an update function of a journaled index: read from the
    merged view on access; the update's record holds only what changed."""

    def __init__(self, view: View):
        self._snap = view
        self._changed: dict[str, dict[str, Any] | None] = {}
        self.metadata = dict(view.metadata)

    @property
    def snapshot(self) -> View:
        """The index as this update read it, before any of its changes."""
        return self._snap

    def __getitem__(self, token: str) -> dict[str, Any]:
        if token in self._changed:
            value = self._changed[token]
        else:
            import copy

            found = self._snap.get(token)
            value = None if found is None else copy.deepcopy(found)
            if value is not None:
                self._changed[token] = value  # callers may mutate what they get
        if value is None:
            raise KeyError(token)
        return value

    def __setitem__(self, token: str, entry: dict[str, Any]) -> None:
        if not isinstance(entry, dict):
            raise TypeError("an index entry is a dict")
        self._changed[token] = entry

    def __delitem__(self, token: str) -> None:
        if token not in self:
            raise KeyError(token)
        self._changed[token] = None

    def __contains__(self, token: object) -> bool:
        if not isinstance(token, str):
            return False
        if token in self._changed:
            return self._changed[token] is not None
        return token in self._snap

    def _keys(self) -> list[str]:
        out = [t for t in self._snap.keys()
               if t not in self._changed or self._changed[t] is not None]
        seen = set(out)
        out += [t for t, v in self._changed.items() if v is not None and t not in seen]
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def changes(self) -> tuple[dict[str, bytes | None], dict[str, str]]:
        """What the update changed (encoded entries, None for deletions) and the digests
        of the entries it started from."""
        from .index_file import encode_entry

        changes: dict[str, bytes | None] = {}
        prev: dict[str, str] = {}
        for t, new in self._changed.items():
            old = self._snap.get(t)
            d_old, d_new = digest(old), digest(new)
            if d_old != d_new:
                changes[t] = None if new is None else encode_entry(new)
                prev[t] = d_old
        return changes, prev
