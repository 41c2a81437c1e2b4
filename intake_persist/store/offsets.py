"""A derived cache beside a large local ``cat.yaml``: where each entry's line is.

``journal/offsets`` is written by whoever folds the journal into ``cat.yaml`` (see
:mod:`.journal`), for the version it wrote. Its first line is JSON: the index
cache's format, the index file's tag (inode, mtime_ns, size), its metadata and the
number of entries; then a table of fixed-size rows, sorted: 8 bytes of the key (the
last 16 hex digits of a token, else two CRC-32s of the name), the offset
of the entry's value in ``cat.yaml`` and its length. A lookup then reads a few rows
and one line, whatever the size of the index. The cache is used only while the tag
matches (a hand edit or any other writer changes it) and each line read is checked
to be the one of its key, so a stale or damaged cache costs a full read, never a
wrong answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct

from . import layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OFFSETS = "journal/offsets"
_ROW = struct.Struct(">8sQI")
#: the layout of the cache and of its keys: a cache of another format is not read
FORMAT = 2


def _key(token: str) -> bytes:
    if len(token) == 32:  # a token: already a hash
        try:
            return bytes.fromhex(token[16:])
        except ValueError:
            pass
    import zlib

    b = token.encode()
    return struct.pack(">II", zlib.crc32(b), zlib.crc32(b, 0x9E3779B9))


def value_spans(metadata_json: bytes, items: list[tuple[str, bytes]]) -> list[tuple[str, int, int]]:
    """``(token, offset, length)`` of each entry's value in the file :func:`.index_file.render`
    makes from ``items``."""
    from .index_file import HEADER

    pos = len(HEADER) + len(b"metadata: ") + len(metadata_json) + 1 + len(b"sources:\n")
    out = []
    for token, raw in items:
        start = pos + len(token.encode()) + 6
        out.append((token, start, len(raw)))
        pos = start + len(raw) + 1
    return out


def table(spans: list[tuple[str, int, int]]) -> list[bytes]:
    """The rows for ``(token, offset, length)`` spans (unsorted)."""
    pack = _ROW.pack
    return [pack(_key(t), a, n) for t, a, n in spans]


def write(root: str, tag: Any, metadata: dict[str, Any], rows: list[bytes]) -> None:
    """Write the cache for the index version ``tag`` (local stores; best effort)."""
    head = json.dumps({"format": FORMAT, "tag": list(tag), "metadata": metadata,
                       "n": len(rows)}).encode()
    rows.sort()  # packed big-endian: sorted by key, then offset
    body = b"".join(rows)
    path = os.path.join(root, *OFFSETS.split("/"))
    tmp = os.path.join(os.path.dirname(path), layout.tmp_name(".offsets"))
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(head + b"\n" + body)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


class OffsetsBase:
    """A local ``cat.yaml`` read entry by entry through the cache; the whole file is
    read (as a :class:`~.index_file.Snapshot`) only when all its entries are asked for."""

    lines_mode = True

    def __init__(self, index_path: str, fd: int, tag: Any, metadata: dict[str, Any],
                 table: bytes):
        self._path = index_path
        self._fd = fd
        self.tag = tag
        self._md = metadata
        self._table = table
        self._n = len(table) // _ROW.size
        self._full: Any = None
        self._cache: dict[str, dict[str, Any] | None] = {}

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)

    @classmethod
    def open(cls, root: str, index_path: str, tag: Any) -> OffsetsBase | None:
        """The cached view of ``cat.yaml`` at ``tag``, or None when the cache does not
        describe that version."""
        try:
            with open(os.path.join(root, *OFFSETS.split("/")), "rb") as f:
                raw = f.read()
        except OSError:
            return None
        first, _, table = raw.partition(b"\n")
        try:
            head = json.loads(first)
            if (head.get("format") != FORMAT or tuple(head["tag"]) != tuple(tag)
                    or len(table) != head["n"] * _ROW.size):
                return None
            md = head["metadata"]
        except (ValueError, KeyError, TypeError):
            return None
        try:
            fd = os.open(index_path, os.O_RDONLY)
        except OSError:
            return None
        st = os.fstat(fd)
        if (st.st_ino, st.st_mtime_ns, st.st_size) != tuple(tag):
            os.close(fd)
            return None
        return cls(index_path, fd, tag, md if isinstance(md, dict) else {}, table)

    # ---- entry by entry -------------------------------------------------------------
    def _span(self, token: str) -> tuple[int, int] | None:
        key = _key(token)
        lo, hi, size, table = 0, self._n, _ROW.size, self._table
        while lo < hi:
            mid = (lo + hi) // 2
            if table[mid * size: mid * size + 8] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < self._n and table[lo * size: lo * size + 8] == key:
            _k, start, length = _ROW.unpack_from(table, lo * size)
            return start, length
        return None

    def get(self, token: str) -> dict[str, Any] | None:
        if self._full is not None:
            value: dict[str, Any] | None = self._full.get(token)
            return value
        if token in self._cache:
            return self._cache[token]
        span = self._span(token)
        if span is None:
            value = None
        else:
            start, length = span
            prefix = b'\n  "' + token.encode() + b'": '
            got = os.pread(self._fd, len(prefix) + length + 1, start - len(prefix))
            if got[: len(prefix)] != prefix or got[-1:] != b"\n":
                found: dict[str, Any] | None = self._load().get(token)  # read it all
                return found
            from .index_file import decode_value

            value = decode_value(token, got[len(prefix):-1])
        self._cache[token] = value
        return value

    def __contains__(self, token: str) -> bool:
        return self.get(token) is not None

    @property
    def metadata(self) -> dict[str, Any]:
        return self._md

    # ---- folding ------------------------------------------------------------------
    def splice(self, changes: dict[str, bytes | None], metadata: dict[str, Any]
               ) -> tuple[bytes, list[bytes]] | None:
        """The index file with ``changes`` (token -> encoded entry, None: deleted) and
        ``metadata``, made by splicing the changed lines into the current bytes, and
        the cache rows for it; None when the file is not as the cache describes (the
        caller renders it in full)."""
        from .index_file import HEADER, TRAILER, encode_value, trailer

        if self._full is not None:
            return None
        data = self._bytes()
        head = HEADER + b"metadata: "
        md_end = data.find(b"\n", len(head))
        if not data.startswith(head) or data[md_end + 1: md_end + 10] != b"sources:\n":
            return None
        m = TRAILER.search(data, max(0, len(data) - 200))
        if m is None:
            return None
        end = m.start() + 1  # where the trailer line starts
        md_json = encode_value(metadata).encode()
        edits = [(len(head), md_end, md_json, b"")]  # (start, stop, replacement, key)
        appended: list[tuple[str, bytes]] = []
        gone = set()
        n = self._n
        for token, raw in changes.items():
            span = self._span(token)
            if span is None:
                if raw is not None:
                    appended.append((token, raw))
                    n += 1
                continue
            start, length = span
            prefix = b'\n  "' + token.encode() + b'": '
            if (data[start - len(prefix): start] != prefix
                    or data[start + length: start + length + 1] != b"\n"):
                return None
            key = _key(token)
            gone.add(key)
            if raw is None:
                edits.append((start - len(prefix) + 1, start + length + 1, b"", b""))
                n -= 1
            else:
                edits.append((start, start + length, raw, key))
        edits.sort()
        out, spans, pos, shift = [], [], 0, 0
        starts, shifts = [], []  # shift of the bytes from each edit's end on
        for a, z, rep, key in edits:
            out += [data[pos:a], rep]
            if key:  # a replaced value: its new place
                spans.append((a + shift, len(rep), key))
            shift += len(rep) - (z - a)
            starts.append(z)
            shifts.append(shift)
            pos = z
        out.append(data[pos:end])
        at = end + shift
        new_rows = []
        for token, raw in appended:
            line = b'  "' + token.encode() + b'": '
            out += [line, raw, b"\n"]
            new_rows.append(_ROW.pack(_key(token), at + len(line), len(raw)))
            at += len(line) + len(raw) + 1
        body = b"".join(out)
        result = body + trailer(len(body), n)
        import bisect

        pack, find = _ROW.pack, bisect.bisect_right
        starts, shifts = [-1, *starts], [0, *shifts]
        rows = [pack(key, off + shifts[find(starts, off) - 1], length)
                for key, off, length in _ROW.iter_unpack(self._table) if key not in gone]
        rows += [pack(key, new_off, length) for new_off, length, key in spans]
        return result, rows + new_rows

    def _bytes(self) -> bytes:
        size = os.fstat(self._fd).st_size
        chunks, pos = [], 0
        while pos < size:
            chunk = os.pread(self._fd, size - pos, pos)
            if not chunk:
                break
            chunks.append(chunk)
            pos += len(chunk)
        return b"".join(chunks)

    # ---- the whole file -------------------------------------------------------------
    def _load(self) -> Any:
        if self._full is None:
            from .index_file import Snapshot

            self._full = Snapshot(self._bytes(), self.tag)
        return self._full

    @property
    def data(self) -> bytes:
        data: bytes = self._load().data
        return data

    def keys(self) -> list[str]:
        keys: list[str] = self._load().keys()
        return keys

    def raw_items(self) -> list[tuple[str, bytes]]:
        items: list[tuple[str, bytes]] = self._load().raw_items()
        return items

    def all(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self._load().all()
        return found

    def __len__(self) -> int:
        return len(self.keys())
