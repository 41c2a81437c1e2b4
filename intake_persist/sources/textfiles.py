"""Text files as a sequence of lines (python container), one partition per file."""

from __future__ import annotations

from typing import Any

from ._files import FileSource, compression_for, expand_paths, import_object
from .base import Schema


class TextFilesSource(FileSource):
    """Parameters
    ----------
    urlpath : str or list
        Path, URL, glob or list of them.
    text_mode : bool
        True (default): lines are ``str`` decoded with ``text_encoding``;
        False: lines are ``bytes``. Line endings are removed.
    text_encoding : str
    compression : str or None
        ``"infer"`` guesses from the file name; None (default) reads as is.
    decoder : str or None
        Dotted name of a function given the open file that returns an iterable of
        items (for example ``"json.load"``); replaces the splitting into lines.
    storage_options : dict
    """

    container = "python"
    name = "textfiles"

    def __init__(
        self,
        urlpath: str | list,
        text_mode: bool = True,
        text_encoding: str = "utf8",
        compression: str | None = None,
        decoder: str | None = None,
        read: bool = True,
        storage_options: dict | None = None,
        metadata: dict | None = None,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        self.text_mode = bool(text_mode)
        self.text_encoding = text_encoding
        self.compression = compression
        self.decoder = decoder
        self.read_lines = read
        self.storage_options = dict(storage_options or {})

    def _paths(self) -> tuple[Any, list[str]]:
        if "paths" not in self._cache:
            self._cache["paths"] = expand_paths(self.urlpath, self.storage_options)
        return self._cache["paths"]

    def _get_schema(self) -> Schema:
        _fs, paths = self._paths()
        return Schema(
            dtype=None, shape=None, npartitions=len(paths), extra_metadata={"files": len(paths)}
        )

    def _get_partition(self, i: int) -> list:
        import fsspec

        fs, paths = self._paths()
        of = fsspec.core.OpenFile(
            fs,
            paths[i],
            mode="rt" if self.text_mode else "rb",
            compression=compression_for(self.compression, paths[i]),
            encoding=self.text_encoding if self.text_mode else None,
            newline="" if self.text_mode else None,
        )
        with of as f:
            decoder = import_object(self.decoder)
            if decoder is not None:
                out = decoder(f)
                if isinstance(out, list):
                    return out
                if isinstance(out, (dict, str, bytes)) or not hasattr(out, "__iter__"):
                    return [out]
                return list(out)
            data = f.read()
        return split_lines(data)


def split_lines(data: str | bytes) -> list:
    """Lines split on ``\n`` only, a trailing ``\r`` removed, no empty last line."""
    nl: Any  # str or bytes, as data (a pairing mypy cannot follow)
    cr: Any
    nl, cr = ("\n", "\r") if isinstance(data, str) else (b"\n", b"\r")
    lines = data.split(nl)
    if lines and not lines[-1]:
        lines.pop()
    return [line[:-1] if line.endswith(cr) else line for line in lines]
