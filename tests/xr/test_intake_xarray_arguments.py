"""Every constructor argument of intake-xarray 0.7.0's drivers is accepted by name
(the names, in their positional order, as in intake-xarray 0.7.0's source)."""

from __future__ import annotations

import inspect

import pytest

from intake_persist.sources.registry import get_driver_class

INTAKE_XARRAY_070 = {
    "intake_xarray.netcdf.NetCDFSource": [
        "urlpath", "chunks", "combine", "concat_dim", "xarray_kwargs", "metadata",
        "path_as_pattern", "storage_options",
    ],
    "intake_xarray.xzarr.ZarrSource": ["urlpath", "storage_options", "metadata"],
    "intake_xarray.opendap.OpenDapSource": [
        "urlpath", "chunks", "auth", "engine", "xarray_kwargs", "metadata",
    ],
    "intake_xarray.raster.RasterIOSource": [
        "urlpath", "chunks", "concat_dim", "xarray_kwargs", "metadata", "path_as_pattern",
        "storage_options",
    ],
    "intake_xarray.image.ImageSource": [
        "urlpath", "chunks", "concat_dim", "metadata", "path_as_pattern", "storage_options",
        "exif_tags",
    ],
}
SHORT = {
    "intake_xarray.netcdf.NetCDFSource": "netcdf",
    "intake_xarray.xzarr.ZarrSource": "zarr",
    "intake_xarray.opendap.OpenDapSource": "opendap",
    "intake_xarray.raster.RasterIOSource": "rasterio",
    "intake_xarray.image.ImageSource": "xarray_image",
}


@pytest.mark.parametrize("classpath", sorted(INTAKE_XARRAY_070))
def test_arguments_and_names(classpath):
    cls = get_driver_class(classpath)
    assert cls is get_driver_class(SHORT[classpath])
    assert cls.name == SHORT[classpath] and cls.container == "xarray"
    params = inspect.signature(cls.__init__).parameters
    named = [n for n, p in params.items() if p.kind == p.POSITIONAL_OR_KEYWORD][1:]
    assert named == INTAKE_XARRAY_070[classpath]  # same names, same positional order
    assert any(p.kind == p.VAR_KEYWORD for p in params.values())  # **kwargs, as there
