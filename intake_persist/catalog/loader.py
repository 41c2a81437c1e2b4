"""``open_catalog``: the entry point for reading intake 0.x YAML catalogs."""

from __future__ import annotations

import os
from typing import Any, cast

from .. import _io
from .catalog import Catalog, YAMLFileCatalog, YAMLFilesCatalog
from .errors import check_persist_mode


def open_catalog(
    urlpath: Any,
    persist_mode: str = "default",
    storage_options: dict | None = None,
    allow_shell: bool = False,
    **kwargs: Any,
) -> Catalog:
    """Open a catalog.

    ``urlpath``: a local path, an fsspec URL (``s3://bucket/cat.yaml``,
    ``memory://...``), a glob, a directory, or a list of those (merged into one
    catalog). ``persist_mode`` ("default", "always", "never") says how entries use
    the persist store; ``storage_options`` go to fsspec for remote files;
    ``allow_shell=True`` lets templates run ``shell("...")``. Other keyword
    arguments go to the catalog class (``metadata``...); ``driver=`` picks another
    catalog driver by name.

    A missing file raises FileNotFoundError naming it; a malformed file a
    :class:`~intake_persist.catalog.errors.CatalogError` (a ValueError) naming the
    file, the line and the entry.
    """
    if "persist" in kwargs:  # alias, as in entry calls
        alias = kwargs.pop("persist")
        if persist_mode != "default" and alias != persist_mode:
            raise ValueError(f"persist_mode={persist_mode!r} and persist={alias!r} disagree")
        persist_mode = alias
    check_persist_mode(persist_mode)
    opts: dict[str, Any] = {"persist_mode": persist_mode, "allow_shell": allow_shell}
    if storage_options:
        opts["storage_options"] = dict(storage_options)
    driver = kwargs.pop("driver", None)
    if driver is not None:
        from ..sources.registry import get_driver_class

        cls = get_driver_class(driver)
        if cls.container != "catalog":
            raise ValueError(f"driver {driver!r} is not a catalog driver")
        # a catalog driver's source (container "catalog"): what this function returns
        return cast(Catalog, cls(urlpath, **opts, **kwargs))
    if isinstance(urlpath, os.PathLike):
        urlpath = os.fspath(urlpath)
    if isinstance(urlpath, (list, tuple)):
        paths = [os.fspath(p) if isinstance(p, os.PathLike) else p for p in urlpath]
        if len(paths) == 1 and isinstance(paths[0], str) and not _io.has_glob(paths[0]):
            # one file in a list is that file's catalog, as in intake 0.7.0
            return YAMLFileCatalog(path=paths[0], **opts, **kwargs)
        return YAMLFilesCatalog(path=paths, **opts, **kwargs)
    if not isinstance(urlpath, str) or not urlpath:
        raise TypeError(f"urlpath must be a path, URL, glob or list of them, not {urlpath!r}")
    if (
        _io.has_glob(urlpath)
        or urlpath.endswith(("/", os.sep))
        or (
            _io.is_local(urlpath)
            and os.path.isdir(os.path.expanduser(_io.strip_file_scheme(urlpath)))
        )
    ):
        return YAMLFilesCatalog(path=urlpath, **opts, **kwargs)
    return YAMLFileCatalog(path=urlpath, **opts, **kwargs)
