"""Writer for the ``catalog`` container: the catalog's entries as one YAML file.

Persisting a catalog (for example one opened from several files) writes
``cat.yaml`` under the copy's folder, holding every entry of the catalog; the
copy opens as a ``yaml_file_cat`` catalog with the same entries. Entries keep
their templates and parameters, except that ``CATALOG_DIR`` is replaced by the
folder of the file each entry came from (the copy lives elsewhere), and the
catalog-level parameters of that file are written into each entry's own.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .._io import join

CATALOG_FILE = "cat.yaml"
_CATALOG_DIR = re.compile(r"\{\{\s*CATALOG_DIR\s*\}\}")


def _with_dir(obj: Any, catalog_dir: str) -> Any:
    if isinstance(obj, str):
        return _CATALOG_DIR.sub(lambda _m: catalog_dir, obj)
    if isinstance(obj, dict):
        return {k: _with_dir(v, catalog_dir) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_with_dir(v, catalog_dir) for v in obj]
    return obj


def _as_mapping(params: Any) -> dict:
    """Parameters given as ``{name: spec}`` or ``[{name: n, ...}, ...]`` as a mapping."""
    if isinstance(params, dict):
        return dict(params)
    out = {}
    for p in params or []:
        p = dict(p)
        out[p.pop("name")] = p
    return out


def entries_of(catalog: Any) -> dict:
    """``{name: spec}`` of every entry of ``catalog``, standing on their own."""
    out = {}
    for name in catalog._raw:
        spec = copy.deepcopy(catalog._raw[name])
        info = catalog._file_of.get(name)
        if info is not None and info.catalog_dir is not None:
            spec = _with_dir(spec, info.catalog_dir)
        if info is not None and info.parameters:
            params = _as_mapping(info.parameters)
            params.update(_as_mapping(spec.get("parameters")))
            spec["parameters"] = params
        out[name] = spec
    return out


def write(source: Any, url: str, storage_options: dict, progress: Any = None,
          client: Any = None, **kwargs: Any) -> dict:
    if kwargs:
        raise TypeError(f"unexpected arguments for the catalog writer: {sorted(kwargs)}")
    import fsspec

    from .._yaml import dump

    doc = {"metadata": dict(source.metadata or {}), "sources": entries_of(source)}
    data = dump(doc).encode("utf-8")
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    fs.makedirs(path, exist_ok=True)
    fs.pipe_file(join(path, CATALOG_FILE), data)
    if progress is not None:
        progress(1, 1)
    args: dict = {"urlpath": join(url, CATALOG_FILE)}
    if storage_options:
        args["storage_options"] = storage_options
    return {"driver": "yaml_file_cat", "args": args, "size": len(data), "npartitions": 0}
