"""The file format of ``cat.yaml``: encoding and decoding its one-line entries,
rendering the whole file, and :class:`Snapshot`, a parsed view of one version of it
that reads only the lines a lookup asks for (see :mod:`.index` for the layout)."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator, MutableMapping

from ..errors import IndexDamaged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    _EntriesBase = MutableMapping[str, dict[str, Any]]
else:
    _EntriesBase = MutableMapping  # typing is not imported on the lookup path

HEADER = b"# intake_persist store index (format 1): a catalog, one entry per line.\n"
HEADER_PREFIX = b"# intake_persist store index"
#: The last line of an index (entry count and size).
TRAILER = re.compile(rb"\n# end of index: (\d+) entr(?:y|ies)(?: in (\d+) bytes)?[ \t\r]*\n?\Z")
_SOURCES = re.compile(rb"^sources:[ \t]*(\{\})?[ \t]*\r?$", re.M)
#: One entry line of the index: ``  "<token>": <value>``.
ENTRY_LINE = re.compile(rb'^  "([^"\n]+)": (.*)$', re.M)
INDEX_METADATA = {"version": 1, "intake_persist_index": 1}




# --------------------------------------------------------------------------- encoding

_UNSAFE_PATTERN = (
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"
)
_yaml_unsafe: re.Pattern[str] | None = None


def _enc_str(s: str) -> str:
    """A JSON string that YAML reads the same (characters YAML forbids or treats as
    line breaks are escaped)."""
    global _yaml_unsafe
    text = json.dumps(s, ensure_ascii=False)
    if text.isascii() and text.isprintable():
        return text
    if _yaml_unsafe is None:
        _yaml_unsafe = re.compile(_UNSAFE_PATTERN)
    return _yaml_unsafe.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def encode_value(o: Any) -> str:
    """JSON that YAML 1.1 (PyYAML) reads as the same value."""
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return str(int(o))
    if isinstance(o, float):
        if math.isnan(o):
            return ".nan"  # YAML only: the fast path then falls back to YAML
        if math.isinf(o):
            return ".inf" if o > 0 else "-.inf"
        r = repr(o)
        if "e" in r and "." not in r:  # YAML 1.1 needs a dot: 1e+20 -> 1.0e+20
            m, e = r.split("e")
            r = f"{m}.0e{e}"
        return r
    if isinstance(o, str):
        return _enc_str(o)
    if isinstance(o, dict):
        return "{" + ", ".join(f"{_enc_str(str(k))}: {encode_value(v)}" for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple, set, frozenset)):
        return "[" + ", ".join(encode_value(v) for v in o) + "]"
    # no date/time object exists unless datetime was imported (a lookup does not import it)
    dt = sys.modules.get("datetime")
    if dt is not None and isinstance(o, (dt.datetime, dt.date, dt.time)):
        return _enc_str(o.isoformat())
    if hasattr(o, "item"):  # numpy scalars
        return encode_value(o.item())
    return _enc_str(str(o))


def encode_entry(entry: dict[str, Any]) -> bytes:
    return encode_value(entry).encode("utf-8")


def decode_value(token: str, raw: bytes) -> dict[str, Any]:
    """The entry (or metadata) encoded as ``raw``, one index line's value: JSON, else
    YAML; :class:`IndexDamaged` names ``token`` when it is neither or not a mapping."""
    try:
        value = json.loads(raw)
    except ValueError:
        from .._yaml import YAMLError, load

        try:
            value = load(b'"' + token.encode() + b'": ' + raw)[token]
        except (YAMLError, TypeError, KeyError) as exc:
            raise IndexDamaged(f"entry {token} cannot be parsed: {exc}") from exc
    if not isinstance(value, dict):
        raise IndexDamaged(f"entry {token} is not a mapping")
    return value


def render(metadata: dict[str, Any], items: list[tuple[str, bytes]]) -> bytes:
    """The index file for ``(token, encoded entry)`` pairs."""
    out = [HEADER, b"metadata: ", encode_value(metadata).encode(), b"\n"]
    if not items:
        out.append(b"sources: {}\n")
    else:
        out.append(b"sources:\n")
        for token, raw in items:
            out += [b'  "', token.encode(), b'": ', raw, b"\n"]
    body = b"".join(out)
    return body + trailer(len(body), len(items))


def trailer(body_size: int, n: int) -> bytes:
    """The last line of an index of ``n`` entries whose other lines take ``body_size``
    bytes: it records the file's size, so while that still matches, the file is as
    the store wrote it and lookups need not check the layout."""
    stem = f"# end of index: {n} {'entry' if n == 1 else 'entries'} in "
    base = body_size + len(stem) + len(" bytes\n")
    size = base
    while base + len(str(size)) != size:
        size = base + len(str(size))
    return f"{stem}{size} bytes\n".encode()


# --------------------------------------------------------------------------- snapshot


class Snapshot:
    """One version of the index (its bytes and tag), parsed lazily."""

    def __init__(self, data: bytes | str | None, tag: Any):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.data = data
        self.tag = tag
        self._parsed: dict[str, dict[str, Any]] | None = None
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._offsets: dict[str, tuple[int, int]] | None = None
        self._metadata: dict[str, Any] | None = None
        self.lines_mode = False
        if data is None:
            self._parsed, self._metadata = {}, dict(INDEX_METADATA)
            return
        if data.startswith(HEADER_PREFIX):
            tail_start = max(0, len(data) - 200)
            m = TRAILER.search(data, tail_start)
            if m is None:
                raise IndexDamaged("the end-of-index line is missing (truncated file?)")
            n = int(m.group(1))
            s = _SOURCES.search(data, 0, m.start() + 1)
            if s is not None:
                self._lo, self._hi = s.end(), m.start()
                if s.group(1) is not None:
                    ok = n == 0 and self._lo == self._hi
                elif m.group(2) is not None and int(m.group(2)) == len(data):
                    ok = True  # exactly as the store wrote it: one entry per line
                else:
                    lo, hi = self._lo, self._hi
                    ok = data.count(b"\n", lo, hi) == n and data.count(b'\n  "', lo, hi) == n
                if ok:
                    self.lines_mode = True
                    return
        self._parse_yaml()

    def _parse_yaml(self) -> None:
        from .._yaml import YAMLError, load

        assert self.data is not None  # with no index file, _parsed is set
        try:
            doc = load(self.data) if self.data.strip() else None
        except YAMLError as exc:
            raise IndexDamaged(f"not valid YAML: {exc}") from exc
        if not isinstance(doc, dict) or "sources" not in doc:
            raise IndexDamaged("not a catalog (no 'sources' mapping)")
        sources = doc.get("sources") or {}
        if not isinstance(sources, dict) or not all(isinstance(v, dict) for v in sources.values()):
            raise IndexDamaged("'sources' is not a mapping of entries")
        self._parsed = {str(k): v for k, v in sources.items()}
        self._metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}

    # ---- reading -----------------------------------------------------------------
    def _raw(self, token: str) -> bytes | None:
        assert self.data is not None  # with no index file, _parsed is set
        if self._offsets is not None:
            span = self._offsets.get(token)
            return None if span is None else self.data[span[0] : span[1]]
        prefix = b'\n  "' + token.encode() + b'": '
        pos = self.data.find(prefix, self._lo, self._hi)
        if pos < 0:
            return None
        start = pos + len(prefix)
        end = self.data.find(b"\n", start)
        return self.data[start:end]

    def get(self, token: str) -> dict[str, Any] | None:
        """The entry for ``token`` (a dict the caller must not mutate), or None."""
        if token in self._cache:
            return self._cache[token]
        if self._parsed is not None:
            entry = self._parsed.get(token)
        else:
            if len(self._cache) >= 4 and self._offsets is None:
                self._build_offsets()
            raw = self._raw(token)
            entry = None if raw is None else decode_value(token, raw)
        self._cache[token] = entry
        return entry

    def _build_offsets(self) -> dict[str, tuple[int, int]]:
        assert self.data is not None  # with no index file, _parsed is set
        self._offsets = {
            m.group(1).decode(): (m.start(2), m.end(2))
            for m in ENTRY_LINE.finditer(self.data, self._lo, self._hi)
        }
        return self._offsets

    def __contains__(self, token: str) -> bool:
        if self._parsed is not None:
            return token in self._parsed
        offsets = self._offsets if self._offsets is not None else self._build_offsets()
        return token in offsets

    def keys(self) -> list[str]:
        if self._parsed is not None:
            return list(self._parsed)
        offsets = self._offsets if self._offsets is not None else self._build_offsets()
        return list(offsets)

    def __len__(self) -> int:
        return len(self.keys())

    def raw_items(self) -> list[tuple[str, bytes]]:
        """``(token, encoded entry)`` pairs in file order (lines reused as they are)."""
        if self._parsed is not None:
            return [(k, encode_entry(v)) for k, v in self._parsed.items()]
        assert self.data is not None  # with no index file, _parsed is set
        offsets = self._offsets if self._offsets is not None else self._build_offsets()
        return [(k, self.data[a:b]) for k, (a, b) in offsets.items()]

    def all(self) -> dict[str, dict[str, Any]]:
        return {k: self.get(k) for k in self.keys()}  # type: ignore[misc]

    @property
    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = dict(INDEX_METADATA)
            assert self.data is not None  # with no index file, _metadata is set
            start = self.data.find(b"\nmetadata: ", 0, self._lo)
            if start >= 0:
                start += len(b"\nmetadata: ")
                line = self.data[start : self.data.find(b"\n", start)]
                try:
                    md = decode_value("metadata", line)
                except IndexDamaged:
                    md = None
                if isinstance(md, dict):
                    self._metadata = md
        return self._metadata


class Entries(_EntriesBase):
    """The entries handed to an update function: parsed on access, rewritten only
    when assigned."""

    def __init__(self, snap: Snapshot):
        self._snap = snap
        self._order = snap.keys()
        self._present = set(self._order)
        self._changed: dict[str, dict[str, Any]] = {}
        self.metadata = dict(snap.metadata)

    @property
    def snapshot(self) -> Snapshot:
        """The index as this update read it, before any of its changes."""
        return self._snap

    def __getitem__(self, token: str) -> dict[str, Any]:
        if token in self._changed:
            return self._changed[token]
        if token not in self._present:
            raise KeyError(token)
        import copy

        entry = self._snap.get(token)
        assert entry is not None  # a token of the snapshot, not changed here
        value = copy.deepcopy(entry)
        self._changed[token] = value  # callers may mutate what they get
        return value

    def __setitem__(self, token: str, entry: dict[str, Any]) -> None:
        if not isinstance(entry, dict):
            raise TypeError("an index entry is a dict")
        if token not in self._present:
            self._order.append(token)
            self._present.add(token)
        self._changed[token] = entry

    def __delitem__(self, token: str) -> None:
        if token not in self._present:
            raise KeyError(token)
        self._present.discard(token)
        self._changed.pop(token, None)
        self._order = [t for t in self._order if t != token]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, token: object) -> bool:
        return token in self._present

    def render(self) -> bytes:
        raw = dict(self._snap.raw_items()) if len(self._changed) < len(self._order) else {}
        items = []
        for t in self._order:
            if t in self._changed:
                items.append((t, encode_entry(self._changed[t])))
            else:
                items.append((t, raw[t]))
        return render(self.metadata, items)


# --------------------------------------------------------------------------- index
