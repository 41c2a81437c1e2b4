"""JSON documents and JSON Lines files (python container), one partition per file."""

from __future__ import annotations

from typing import Any

from ._files import FileSource, compression_for, expand_paths
from .base import Schema
from .textfiles import split_lines

ENCODERS = ("json", "str", "pickle")


class _JSONBase(FileSource):
    container = "python"
    _suffixes: tuple[str, ...] = ()

    def __init__(
        self,
        urlpath: str | list,
        text_mode: bool = True,
        text_encoding: str = "utf8",
        compression: str | None = None,
        read: bool = True,
        storage_options: dict | None = None,
        metadata: dict | None = None,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        self.text_mode = bool(text_mode)
        self.text_encoding = text_encoding
        self.compression = compression
        self.storage_options = dict(storage_options or {})

    def _paths(self) -> tuple[Any, list[str]]:
        if "paths" not in self._cache:
            self._cache["paths"] = expand_paths(
                self.urlpath, self.storage_options, dir_suffixes=self._suffixes
            )
        return self._cache["paths"]

    def _get_schema(self) -> Schema:
        _fs, paths = self._paths()
        return Schema(
            dtype=None, shape=None, npartitions=len(paths), extra_metadata={"files": len(paths)}
        )

    def _read_bytes(self, i: int) -> bytes:
        import fsspec

        fs, paths = self._paths()
        of = fsspec.core.OpenFile(
            fs, paths[i], mode="rb", compression=compression_for(self.compression, paths[i])
        )
        with of as f:
            return f.read()


class JSONFileSource(_JSONBase):
    """Each file is one JSON document. A partition is the document's items when it
    is a list, else a one-item list holding the document; ``read()`` joins them."""

    name = "json"
    _suffixes = (".json", ".json.gz", ".json.bz2", ".json.xz", ".json.zst")

    def _get_partition(self, i: int) -> list:
        import json

        doc = json.loads(self._read_bytes(i).decode(self.text_encoding))
        return doc if isinstance(doc, list) else [doc]


class JSONLinesFileSource(_JSONBase):
    """One item per line, one partition per file (a directory means its ``*.jsonl``).

    ``encoder``: ``"json"`` (default, blank lines skipped), ``"str"`` (each line is
    a string) or ``"pickle"`` (each line is base64 of a pickle; decoded only when
    this argument says so: never use it on files you do not trust).
    """

    name = "jsonl"
    _suffixes = (".jsonl", ".jsonl.gz", ".jsonl.bz2", ".jsonl.xz", ".jsonl.zst", ".ndjson")

    def __init__(
        self,
        urlpath: str | list,
        encoder: str = "json",
        text_mode: bool = True,
        text_encoding: str = "utf8",
        compression: str | None = None,
        read: bool = True,
        storage_options: dict | None = None,
        metadata: dict | None = None,
    ):
        # intake's JSONLinesFileSource arguments, by the same names
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}")
        super().__init__(
            urlpath,
            text_mode=text_mode,
            text_encoding=text_encoding,
            compression=compression,
            read=read,
            storage_options=storage_options,
            metadata=metadata,
        )
        self.encoder = encoder

    def _get_partition(self, i: int) -> list:
        lines = split_lines(self._read_bytes(i))
        if self.encoder == "json":
            import json

            return [json.loads(line) for line in lines if line.strip()]
        if self.encoder == "str":
            return [line.decode(self.text_encoding) for line in lines]
        import base64
        import pickle

        return [pickle.loads(base64.b64decode(line)) for line in lines if line.strip()]
