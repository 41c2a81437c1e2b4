"""The Zarr writers create their arrays and groups, never overwrite one:
pointed at a location that already holds Zarr data they fail and leave
it as it was. Local disk and ``memory://``."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from store_helpers import ArraySource

from intake_persist.containers import write

WEATHER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "catalogs", "data", "weather.nc")


class UnsizedArraySource(ArraySource):
    """Partitions whose lengths are not known before reading: the appending path."""

    name = "test_unsized_array"

    def partition_rows(self):
        return [None] * self.nparts


@pytest.fixture(params=["local", "memory"])
def url(request, tmp_path, memfs):
    return str(tmp_path / "a") if request.param == "local" else "memory://area/a"


def _existing_array(url: str) -> np.ndarray:
    old = np.arange(6, dtype="int32").reshape(3, 2)
    zarr.create_array(url, shape=old.shape, dtype=old.dtype)[:] = old
    return old


@pytest.mark.parametrize("cls", [ArraySource, UnsizedArraySource])
def test_ndarray_writer_never_overwrites_an_array(url, cls):
    old = _existing_array(url)
    with pytest.raises(zarr.errors.ContainsArrayError):
        write(cls(nparts=2, rows=3, cols=2), url)
    np.testing.assert_array_equal(zarr.open_array(url, mode="r")[:], old)


def test_xarray_writer_never_overwrites_an_array(url):
    from intake_persist.sources.xr.netcdf import NetCDFSource

    old = _existing_array(url)
    with pytest.raises((zarr.errors.ContainsArrayError, FileExistsError,
                        zarr.errors.ContainsGroupError)):
        write(NetCDFSource(WEATHER, chunks={"time": 12}), url)
    np.testing.assert_array_equal(zarr.open_array(url, mode="r")[:], old)
