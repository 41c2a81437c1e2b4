"""GeoTIFF and other rasters through rioxarray: driver ``rasterio`` (intake-xarray's
name). Needs the optional extra ``intake_persist[geo]``."""

from __future__ import annotations

from typing import Any

from .base import XarraySource, add_fields, file_chunks, open_files


class RasterIOSource(XarraySource):
    """Parameters (as intake-xarray's ``rasterio``)
    ----------
    urlpath : str or list
        Path or fsspec URL of a raster file, a glob, a list, or a ``{pattern}``
        path whose fields become coordinates along ``concat_dim``.
    chunks : int, dict, "auto" or None
        Dask chunks over ``band``, ``y``, ``x``.
    concat_dim : str
        The new dimension several files are stacked along (default
        ``"concat_dim"``); a pattern field of that name gives its values.
    xarray_kwargs, kwargs
        Passed to ``rioxarray.open_rasterio``.
    path_as_pattern : bool
    storage_options : dict

    The result is an ``xarray.DataArray``, as in intake-xarray.
    """

    name = "rasterio"

    def __init__(
        self,
        urlpath: Any,
        chunks: Any = None,
        concat_dim: str = "concat_dim",
        xarray_kwargs: dict | None = None,
        metadata: dict | None = None,
        path_as_pattern: bool = True,
        storage_options: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        self.chunks = chunks
        self.concat_dim = concat_dim
        self.xarray_kwargs = dict(xarray_kwargs or {})
        self.path_as_pattern = path_as_pattern
        self.storage_options = dict(storage_options or {})
        self.kwargs = kwargs

    def _open(self, chunks: Any) -> Any:
        try:
            import rioxarray
        except ImportError as exc:  # pragma: no cover - the geo extra is in the test extra
            raise ImportError(
                "the rasterio driver needs rioxarray: pip install 'intake_persist[geo]'"
            ) from exc
        import xarray as xr

        targets, fields, multi, handles = open_files(
            self.urlpath, self.storage_options, self.path_as_pattern
        )
        self._cache.setdefault("files", []).extend(handles)
        kw = {**self.xarray_kwargs, **self.kwargs}
        if multi:
            chunks = file_chunks(chunks, {*(fields[0] if fields else {}), self.concat_dim})
        arrays = [
            add_fields(rioxarray.open_rasterio(t, chunks=chunks, **kw), f)
            for t, f in zip(targets, fields, strict=True)
        ]
        if not arrays:
            raise FileNotFoundError(f"no files match {self.urlpath!r}")
        if not multi:
            return arrays[0]
        return xr.concat(arrays, dim=self.concat_dim)
