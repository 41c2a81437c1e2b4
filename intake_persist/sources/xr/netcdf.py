"""NetCDF (3 and 4) and HDF5 files read with xarray: driver ``netcdf``."""

from __future__ import annotations

from typing import Any

from .base import XarraySource, add_fields, combine, file_chunks, open_files

_MF_KEYS = {"compat", "data_vars", "coords", "join", "combine_attrs", "fill_value", "parallel"}


class NetCDFSource(XarraySource):
    """Parameters (as intake-xarray's ``netcdf``)
    ----------
    urlpath : str or list
        Path or fsspec URL of a file, a glob, a list of them, or a ``{pattern}``
        path whose fields become coordinates (``path_as_pattern``).
    chunks : int, dict, "auto" or None
        Dask chunks, as ``xarray.open_dataset``. ``None`` opens without dask;
        ``to_dask()`` then holds each variable in one chunk.
    combine : "by_coords" or "nested", optional
        How several files are joined (as ``open_mfdataset``); ``nested`` is the
        default when ``concat_dim`` is given, else ``by_coords``.
    concat_dim : str, optional
        The dimension to join files along.
    xarray_kwargs : dict
        Passed to ``xarray.open_dataset`` for each file (``engine``,
        ``decode_times``...) and, for ``compat``, ``join`` and the like, to the
        combining step.
    path_as_pattern : bool
        Whether ``{field}`` parts of ``urlpath`` are a pattern (default True).
    storage_options : dict
        For fsspec, when ``urlpath`` is a URL.
    """

    name = "netcdf"

    def __init__(
        self,
        urlpath: Any,
        chunks: Any = None,
        combine: str | None = None,
        concat_dim: Any = None,
        xarray_kwargs: dict | None = None,
        metadata: dict | None = None,
        path_as_pattern: bool = True,
        storage_options: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        if combine not in (None, "by_coords", "nested"):
            raise ValueError(f"combine must be 'by_coords' or 'nested', got {combine!r}")
        xkw = dict(xarray_kwargs or {})
        for key, value in (("combine", combine), ("concat_dim", concat_dim)):
            if value is not None and key in xkw:
                raise ValueError(f"{key!r} is given twice: as an argument and in xarray_kwargs")
        self.urlpath = urlpath
        self.chunks = chunks
        self.combine = combine if combine is not None else xkw.pop("combine", None)
        self.concat_dim = concat_dim if concat_dim is not None else xkw.pop("concat_dim", None)
        self.xarray_kwargs = xkw
        self.path_as_pattern = path_as_pattern
        self.storage_options = dict(storage_options or {})
        self.kwargs = kwargs

    def _open(self, chunks: Any) -> Any:
        import xarray as xr

        targets, fields, multi, handles = open_files(
            self.urlpath, self.storage_options, self.path_as_pattern
        )
        self._cache.setdefault("files", []).extend(handles)
        kw = {k: v for k, v in self.xarray_kwargs.items() if k not in _MF_KEYS}
        kw.update(self.kwargs)
        preprocess = kw.pop("preprocess", None)
        if not multi:
            ds = xr.open_dataset(targets[0], chunks=chunks, **kw)
            return add_fields(ds, fields[0])
        if not targets:
            raise FileNotFoundError(f"no files match {self.urlpath!r}")
        datasets = []
        new_dims = {*(fields[0] if fields else {}), *_names(self.concat_dim)}
        per_file = file_chunks(chunks if chunks is not None else {}, new_dims)
        for target, f in zip(targets, fields, strict=True):
            ds = xr.open_dataset(target, chunks=per_file, **kw)
            if preprocess is not None:
                from .._files import import_object

                ds = import_object(preprocess)(ds)
            datasets.append(add_fields(ds, f))
        return combine(datasets, self.combine, self.concat_dim, self.xarray_kwargs)


def _names(dim: Any) -> list:
    if dim is None:
        return []
    if isinstance(dim, str):
        return [dim]
    return [d for d in dim if isinstance(d, str)]
