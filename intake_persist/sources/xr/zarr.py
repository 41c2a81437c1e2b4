"""An xarray dataset stored as Zarr: driver ``zarr`` (intake-xarray's name).

Also reads the Zarr copies that persist and export write for the ``xarray``
container. The plain Zarr array reader is ``ndzarr``.
"""

from __future__ import annotations

from typing import Any

from .base import DATAARRAY_ATTR, UNNAMED, XarraySource, with_combine_defaults


class ZarrSource(XarraySource):
    """Parameters (as intake-xarray's ``zarr``)
    ----------
    urlpath : str or list
        Path or fsspec URL of a Zarr group; a glob or list opens several with
        ``open_mfdataset``.
    storage_options : dict
        For fsspec, when ``urlpath`` is a URL.
    kwargs
        Passed to ``xarray.open_dataset(engine="zarr")``: ``consolidated``
        (default: use consolidated metadata when there is some), ``chunks``
        (default ``{}``: the Zarr chunks), ``group``, ``decode_times``...
    """

    name = "zarr"

    def __init__(
        self,
        urlpath: Any,
        storage_options: dict | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        self.storage_options = dict(storage_options or {})
        self.kwargs = kwargs
        self.chunks = kwargs.get("chunks", {})

    def _open(self, chunks: Any) -> Any:
        import xarray as xr

        from ..._io import has_glob, is_local, strip_file_scheme

        kw = dict(self.kwargs)
        kw["chunks"] = chunks
        kw["engine"] = "zarr"
        urls = self.urlpath if isinstance(self.urlpath, (list, tuple)) else [self.urlpath]
        local = all(is_local(str(u)) for u in urls)
        if local:
            urls = [strip_file_scheme(str(u)) for u in urls]
        elif self.storage_options:
            bk = dict(kw.get("backend_kwargs") or {})
            bk.setdefault("storage_options", self.storage_options)
            kw["backend_kwargs"] = bk
        if isinstance(self.urlpath, (list, tuple)) or has_glob(str(self.urlpath)):
            if not isinstance(self.urlpath, (list, tuple)):  # a glob of stores (folders)
                from fsspec.core import url_to_fs

                fs, path = url_to_fs(urls[0], **self.storage_options)
                paths = sorted(fs.glob(path))
                if not paths:
                    raise FileNotFoundError(f"no Zarr stores match {self.urlpath!r}")
                urls = paths if local else [fs.unstrip_protocol(p) for p in paths]
            kw["chunks"] = chunks if chunks is not None else {}
            ds = xr.open_mfdataset(urls, **with_combine_defaults(kw))
        else:
            ds = xr.open_dataset(urls[0], **kw)
        return as_dataarray(ds)


def as_dataarray(ds: Any) -> Any:
    """A Zarr copy of a DataArray (marked by the writer) back as a DataArray."""
    if DATAARRAY_ATTR not in ds.attrs:
        return ds
    mark = ds.attrs[DATAARRAY_ATTR]  # [name], or [] for a DataArray without one
    if isinstance(mark, str):
        mark = [mark]
    name = list(mark)[0] if len(mark) else None
    var = name if name is not None else UNNAMED
    arr = ds[var if var in ds.data_vars else next(iter(ds.data_vars))]
    arr.name = name
    return arr
