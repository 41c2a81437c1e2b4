"""Python-container writer: JSON Lines, one ``part.NNNNN.jsonl`` file per partition.

Encoders: ``"json"`` (default; items must be JSON-able), ``"str"`` (``str(item)``
per line; an item holding a line break is refused) and ``"pickle"`` (base64 of a
pickle per line; only when asked for, as reading it back runs pickle).
"""

from __future__ import annotations

from typing import Any

from .._io import join
from . import makedirs, run_partitions

ENCODERS = ("json", "str", "pickle")


def part_name(i: int) -> str:
    return f"part.{i:05d}.jsonl"


def _encode(item: Any, encoder: str) -> bytes:
    if encoder == "json":
        import json

        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if encoder == "str":
        text = item if isinstance(item, str) else str(item)
        if "\n" in text or "\r" in text:
            raise ValueError(
                f"encoder 'str' writes one item per line; this item has a line break: {text[:80]!r}"
            )
        return text.encode("utf-8")
    import base64
    import pickle

    return base64.b64encode(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))


def write_partition(source: Any, i: int, path: str, fs: Any, encoder: str) -> int:
    items = source.read_partition(i)
    size = 0
    with fs.open(join(path, part_name(i)), "wb") as f:
        buf = []
        for item in items:
            buf.append(_encode(item, encoder))
            buf.append(b"\n")
            if len(buf) >= 2048:
                chunk = b"".join(buf)
                f.write(chunk)
                size += len(chunk)
                buf = []
        chunk = b"".join(buf)
        f.write(chunk)
        size += len(chunk)
    return size


def write(
    source: Any,
    url: str,
    storage_options: dict,
    progress: Any = None,
    client: Any = None,
    encoder: str = "json",
    **kwargs: Any,
) -> dict:
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}")
    if kwargs:
        raise TypeError(f"unexpected arguments for the JSON Lines writer: {sorted(kwargs)}")
    fs, path = makedirs(url, storage_options)
    n = source.npartitions
    sizes = run_partitions(write_partition, source, n, client, progress, path, fs, encoder)
    args: dict = {"urlpath": url}
    if encoder != "json":
        args["encoder"] = encoder
    if storage_options:
        args["storage_options"] = storage_options
    return {"driver": "jsonl", "args": args, "size": int(sum(sizes)), "npartitions": n}
