"""Helpers shared by the file-based drivers: expanding urlpaths, path patterns,
and a base class that keeps caches out of pickles.

Nothing heavy is imported at module level: fsspec, pandas and friends are
imported inside the functions that need them.
"""

from __future__ import annotations

import re

from .._io import has_glob
from .base import DataSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def as_list(urlpath: str | list | tuple) -> list[str]:
    if isinstance(urlpath, (list, tuple)):
        return [str(u) for u in urlpath]
    return [str(urlpath)]


def expand_paths(
    urlpath: str | list | tuple,
    storage_options: dict | None = None,
    *,
    dir_suffixes: tuple[str, ...] | None = None,
    must_exist: bool = True,
) -> tuple[Any, list[str]]:
    """``(fs, paths)`` for a URL, a glob or a list of them, through fsspec.

    Globs are expanded and sorted; a list keeps its order. When ``dir_suffixes``
    is given, a path that is a directory expands to the files under it with
    one of those suffixes (sorted), skipping hidden and ``_``-prefixed names.
    """
    from fsspec.core import url_to_fs

    urls = as_list(urlpath)
    if not urls:
        raise ValueError("urlpath is empty")
    fs, _ = url_to_fs(urls[0], **(storage_options or {}))
    paths: list[str] = []
    saw_dir = False
    for url in urls:
        path = fs._strip_protocol(url)
        if has_glob(path):
            info = fs.glob(path, detail=True)
            paths.extend(sorted(p for p, d in info.items() if d.get("type") != "directory"))
        elif dir_suffixes is not None:
            # one listing tells a folder from a file (isdir first cost an object
            # store a HEAD and a LIST more)
            root = path.rstrip("/")
            found = fs.find(path)
            inside = [p for p in found if p.rstrip("/") != root]
            if inside or (not found and fs.isdir(path)):
                saw_dir = True
                paths.extend(sorted(p for p in inside
                                    if p.endswith(dir_suffixes) and not _hidden(p[len(root):])))
            else:
                paths.append(path)
        else:
            paths.append(path)
    if must_exist and not paths and not saw_dir:
        raise FileNotFoundError(f"no files match {urlpath!r}")
    return fs, paths


def compression_for(compression: str | None, path: str) -> str | None:
    """The compression of ``path``: as given, or inferred from its suffix for ``"infer"``."""
    if compression == "infer":
        from fsspec.utils import infer_compression

        return infer_compression(path)
    return compression


def local_files(
    urlpath: str | list | tuple, storage_options: dict | None, dir_suffixes: tuple[str, ...]
) -> list[str] | None:
    """The files of a local ``urlpath`` without globs, listed as :func:`expand_paths`
    does (absolute paths, a folder's files with ``dir_suffixes`` sorted, hidden and
    ``_`` names skipped) with the standard library only: reading a local copy then
    never imports fsspec. None when fsspec must do it (remote, globs, options)."""
    import os

    from .._io import is_local, strip_file_scheme

    urls = as_list(urlpath)
    if storage_options or not urls or any(not is_local(u) or has_glob(u) for u in urls):
        return None
    out: list[str] = []
    for url in urls:
        path = os.path.abspath(strip_file_scheme(url))
        if not os.path.isdir(path):
            out.append(path)
            continue
        found = []
        for folder, _dirs, files in os.walk(path):
            for name in files:
                full = os.path.join(folder, name)
                if name.endswith(dir_suffixes) and not _hidden(full[len(path):]):
                    found.append(full)
        out.extend(sorted(found))
    return out


def _hidden(path: str) -> bool:
    return any(part.startswith((".", "_")) for part in path.split("/") if part)


# ---- path patterns ("data_{year:d}_{month:02d}.csv") ---------------------------------


def _format_parse(pattern: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """``string.Formatter().parse(pattern)``; ``string`` (which compiles a regex when
    imported) only for a path with braces, which the usual path has not."""
    if "{" not in pattern and "}" not in pattern:
        return [(pattern, None, None, None)] if pattern else []
    import string

    return list(string.Formatter().parse(pattern))


def pattern_fields(pattern: str) -> list[tuple[str, str]]:
    """``[(name, format_spec)]`` for every ``{field}`` in a pattern."""
    out = []
    for _literal, name, spec, _conv in _format_parse(pattern):
        if name is not None:
            if not name:
                raise ValueError(f"positional field '{{}}' not allowed in path pattern {pattern!r}")
            out.append((name, spec or ""))
    return out


def is_pattern(urlpath: Any) -> bool:
    if not isinstance(urlpath, str):
        return False
    try:
        return bool(pattern_fields(urlpath))
    except ValueError:
        return False


def pattern_to_glob(pattern: str) -> str:
    """Replace every field of the pattern by ``*``."""
    out = []
    for literal, name, _spec, _conv in _format_parse(pattern):
        out.append(literal)
        if name is not None:
            out.append("*")
    return "".join(out)


def _field_regex(spec: str) -> str:
    if spec.startswith("%"):
        return r".+?"
    kind = spec[-1:] if spec else ""
    if kind in ("d", "n"):
        return r"[-+]?\d+"
    if kind in ("f", "F", "e", "E", "g", "G", "%"):
        return r"[-+]?[\d.eE+-]+?"
    return r"[^/]+?"


def pattern_regex(pattern: str) -> re.Pattern:
    """A regex that matches the (protocol-stripped) path against the pattern;
    a repeated field must match the same text."""
    parts = []
    seen: set[str] = set()
    for literal, name, spec, _conv in _format_parse(pattern):
        lit = re.escape(literal).replace(r"\*", r"[^/]*").replace(r"\?", r"[^/]")
        parts.append(lit)
        if name is not None:
            if name in seen:
                parts.append(f"(?P={name})")
            else:
                seen.add(name)
                parts.append(f"(?P<{name}>{_field_regex(spec or '')})")
    return re.compile("".join(parts) + "$")


def convert_field(value: str, spec: str) -> Any:
    """A field's text converted by its format: ``d`` int, ``f`` float, ``%...`` datetime."""
    if spec.startswith("%"):
        import datetime as dt

        import pandas as pd

        return pd.Timestamp(dt.datetime.strptime(value, spec))
    kind = spec[-1:] if spec else ""
    if kind in ("d", "n"):
        return int(value)
    if kind in ("f", "F", "e", "E", "g", "G"):
        return float(value)
    return value


def match_pattern(pattern_path: str, paths: list[str]) -> list[dict]:
    """Field values for each path (in order); ``ValueError`` if one does not match."""
    fields = dict(pattern_fields(pattern_path))
    rx = pattern_regex(pattern_path)
    out = []
    for p in paths:
        m = rx.search(p)
        if m is None:
            raise ValueError(f"path {p!r} does not match the pattern {pattern_path!r}")
        out.append({k: convert_field(v, fields[k]) for k, v in m.groupdict().items()})
    return out


# ---- base class for the file drivers ---------------------------------------------------


class FileSource(DataSource):
    """A DataSource whose lazily-built state lives in ``self._cache`` and is not pickled
    (sources travel to dask workers)."""

    def __init__(self, metadata: dict | None = None):
        super().__init__(metadata=metadata)
        self._cache: dict = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _close(self) -> None:
        self._cache = {}


def import_object(spec: Any) -> Any:
    """A callable given as itself or as a dotted name (``"json.loads"``)."""
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, str):
        import importlib

        module, _, attr = spec.rpartition(".")
        if not module:
            raise ValueError(f"expected a dotted name like 'module.function', got {spec!r}")
        return getattr(importlib.import_module(module), attr)
    raise TypeError(f"expected a callable or a dotted name, got {spec!r}")
