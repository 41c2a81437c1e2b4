"""Export: a container-appropriate copy written anywhere, outside the store."""

from __future__ import annotations

import os
import time
from typing import Any

from .._io import is_local, public_storage_options, strip_file_scheme


def export(source: Any, path: str, storage_options: dict | None = None,
           progress: Any = None, **kwargs: Any) -> str:
    """Write a copy of ``source`` under ``path`` (a directory, local or URL) and
    return the YAML text of a one-entry catalog that reads it.

    The store is not touched. The entry's metadata records the original source
    (driver, args, description, metadata) so that it can be rebuilt.
    """
    from .._yaml import dump
    from ..containers import write
    from .persist_store import _plain, driver_name

    if getattr(source, "container", None) not in ("dataframe", "ndarray", "python"):
        raise ValueError(f"cannot export a source of container {source.container!r}")
    if not isinstance(path, str) or not path:
        raise ValueError(f"export needs a path or URL to write to, got {path!r}")
    if is_local(path):
        path = os.path.abspath(os.path.expanduser(strip_file_scheme(path)))
    info = write(source, path, storage_options=storage_options or None, progress=progress,
                 **kwargs)
    args = dict(info.get("args") or {})
    args.setdefault("urlpath", path)
    args.pop("storage_options", None)
    if public_storage_options(storage_options):
        args["storage_options"] = public_storage_options(storage_options)
    original_args = dict(source._init_kwargs)
    original_args.pop("metadata", None)
    if getattr(source, "_init_args", ()):
        original_args["__args__"] = list(source._init_args)
    name = source.entry_name or source.name
    entry = {
        "description": f"exported copy of {name}",
        "driver": info["driver"],
        "args": args,
        "metadata": {
            "original_name": source.entry_name,
            "original_token": source.token,
            "original_source": {
                "driver": driver_name(source),
                "args": original_args,
                "description": source.description,
                "metadata": source.metadata,
            },
            "original_metadata": source.metadata,
            "exported_at": round(time.time(), 6),
            "export_kwargs": kwargs,
            "container": source.container,
            "size": info.get("size"),
            "npartitions": info.get("npartitions"),
        },
    }
    return dump(_plain({"metadata": {"version": 1}, "sources": {name: entry}}))
