"""Catalog files: where they are (paths, globs, directories; ``CATALOG_DIR`` and the
name intake gives a file), reading their text, and parsing it into entries."""

from __future__ import annotations

import os
from typing import Any

from .. import _io
from .errors import CatalogEncodingError

_YAML_SUFFIXES = (".yaml", ".yml")


def catalog_dir_of(url: str) -> str:
    """``CATALOG_DIR`` of a catalog file, as intake 0.7.0 sets it: a local file's
    absolute directory ending with ``/``; for a remote URL, the parent URL as the
    filesystem gives it, without a trailing ``/``."""
    if _io.is_local(url):
        path = _io.strip_file_scheme(url)
        out = os.path.join(os.getcwd(), os.path.dirname(os.path.expanduser(path)))
        out = out.replace("\\", "/").replace("//", "/")  # as intake's make_path_posix
        return out if out.endswith("/") else out + "/"
    if "::" in url:  # chained URL: the parent of the last link
        return _io.parent(url)
    import fsspec
    from fsspec.core import split_protocol

    protocol, _ = split_protocol(url)
    try:
        out = fsspec.get_filesystem_class(protocol)._parent(url)
    except (ImportError, ValueError, AttributeError):
        return _io.parent(url)
    if "://" not in out:
        out = f"{protocol}://{out}"
    return out


def name_from_path(url: str) -> str:
    """A catalog file's name: its file name without extension (``catalog.yaml``:
    its directory's name), dots made underscores, as intake 0.7.0 names it."""
    path = url.rsplit("::", 1)[-1].rstrip("/")
    base = path.rsplit("/", 1)[-1]
    if os.sep != "/":
        base = base.rsplit(os.sep, 1)[-1]
    name = os.path.splitext(base)[0]
    if name == "catalog":
        head = path.rsplit("/", 1)[0] if "/" in path else ""
        name = head.rsplit("/", 1)[-1]
    return name.replace(".", "_")


# ---- reading and parsing ---------------------------------------------------------
def parse_catalog_text(text: str, url: str | None = None) -> tuple[dict, dict, Any]:
    """``(metadata, sources, parameters)`` of a catalog file's text, checked as intake
    0.7.0 checks it (see :mod:`.schema`): CatalogSyntaxError for bad YAML,
    DuplicateKeyError, ValidationError, ObsoleteDataSourceError... naming the file,
    the line and the entry. ``parameters`` are the catalog-level parameter specs
    (``metadata: parameters:``, and the top-level ``parameters:`` older
    intake_persist catalogs use)."""
    return parse_catalog(text, url)[:3]


def parse_catalog(text: str, url: str | None = None) -> tuple[dict, dict, Any, dict]:
    """``parse_catalog_text`` plus the catalog's own fields: ``{"name": ...,
    "description": ...}`` from its top-level keys (None when absent)."""
    from .schema import check_catalog, load_yaml

    data = load_yaml(text, url)
    check_catalog(data, text, url)
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    sources = data["sources"]
    params: dict = {}
    top = data.get("parameters")
    if isinstance(top, dict):
        params.update(top)
    shared = metadata.get("parameters")
    if isinstance(shared, dict):
        params.update(shared)
    own = {"name": data.get("name"), "description": data.get("description")}
    return metadata, sources, params or None, own


def read_catalog_text(url: str, storage_options: dict) -> str:
    """The text of a catalog file; a missing file, a directory or text that is not
    UTF-8 is an error naming the URL (and for bad bytes, the line)."""
    try:
        return _io.read_text(url, **storage_options)
    except FileNotFoundError:
        raise FileNotFoundError(f"catalog file not found: {url}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"catalog path is a directory, not a file: {url}") from None
    except UnicodeDecodeError as exc:
        raise _encoding_error(exc, url) from None


def _encoding_error(exc: UnicodeDecodeError, url: str) -> CatalogEncodingError:
    data = exc.object if isinstance(exc.object, bytes) else b""
    line = data[: exc.start].count(b"\n") + 1
    return CatalogEncodingError(
        f"catalog {url}, line {line}: not UTF-8 text (byte {data[exc.start:exc.start + 1]!r} "
        f"at offset {exc.start}: {exc.reason}); save the file as UTF-8",
        url=url,
        line=line,
    )


# ---- paths --------------------------------------------------------------------------
def normalize_url(url: str) -> str:
    """A local path with ``~`` expanded and no ``file://``; other URLs as given."""
    if _io.is_local(url):
        return os.path.expanduser(_io.strip_file_scheme(url))
    return url


def catalog_files(paths: list[str], storage_options: dict | None = None) -> list[str]:
    """Catalog file URLs from paths, globs and directories (in sorted order per item;
    a directory gives its ``.yaml`` and ``.yml`` files).

    A glob that matches nothing raises FileNotFoundError naming it.
    """
    out: list[str] = []
    for url in paths:
        if _io.is_local(url):
            if _io.has_glob(url):
                import glob

                matches = sorted(m for m in glob.glob(url, recursive=True) if os.path.isfile(m))
                if not matches:
                    raise FileNotFoundError(f"no catalog file matches {url}")
                out.extend(matches)
            elif os.path.isdir(url):
                out.extend(
                    os.path.join(url, n)
                    for n in sorted(os.listdir(url))
                    if n.endswith(_YAML_SUFFIXES) and os.path.isfile(os.path.join(url, n))
                )
            else:
                out.append(url)
            continue
        if _io.has_glob(url) or url.endswith("/"):
            fs, path = _io.get_fs(url, **(storage_options or {}))
            if _io.has_glob(url):
                matches = sorted(fs.glob(path))
                if not matches:
                    raise FileNotFoundError(f"no catalog file matches {url}")
            else:
                try:
                    matches = sorted(
                        p for p in fs.ls(path, detail=False) if p.endswith(_YAML_SUFFIXES)
                    )
                except FileNotFoundError:
                    raise FileNotFoundError(f"catalog directory not found: {url}") from None
            out.extend(_unstrip(fs, url, m) for m in matches)
        else:
            out.append(url)
    return out


def _unstrip(fs: Any, original: str, path: str) -> str:
    if "::" in original:  # chained URL: keep the chain, swap the last path
        head = original.rsplit("::", 1)[0]
        return f"{head}::{fs.unstrip_protocol(path)}"
    return fs.unstrip_protocol(path)
