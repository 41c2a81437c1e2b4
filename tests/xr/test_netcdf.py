"""The netcdf driver: read, to_dask, discover, partitions (local files)."""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from intake_persist.sources.registry import get_driver_class
from intake_persist.sources.xr.netcdf import NetCDFSource


def test_driver_names():
    assert get_driver_class("netcdf") is NetCDFSource
    assert get_driver_class("intake_xarray.netcdf.NetCDFSource") is NetCDFSource
    assert get_driver_class("intake_xarray.NetCDFSource") is NetCDFSource
    assert NetCDFSource.container == "xarray"


@pytest.mark.parametrize("fixture", ["nc4_file", "nc3_file"])
def test_read_is_in_memory_and_identical(request, fixture):
    path = request.getfixturevalue(fixture)
    expected = xr.open_dataset(path).load()
    ds = NetCDFSource(path, chunks={"time": 7}).read()
    assert isinstance(ds, xr.Dataset)
    assert not any(isinstance(v.data, da.Array) for v in ds.variables.values())
    xr.testing.assert_identical(ds, expected)
    assert ds["prec"].encoding["scale_factor"] == pytest.approx(0.001)


def test_to_dask_is_lazy_with_the_asked_chunks(nc4_file):
    src = NetCDFSource(nc4_file, chunks={"time": 7})
    lazy = src.to_dask()
    for name in ("temp", "prec"):
        assert isinstance(lazy[name].data, da.Array)
        assert lazy[name].chunks == ((7, 7, 7, 7, 2), (4,), (5,))
    xr.testing.assert_identical(lazy.compute(), xr.open_dataset(nc4_file).load())


def test_to_dask_without_chunks_holds_each_variable_in_one_chunk(nc4_file):
    lazy = NetCDFSource(nc4_file).to_dask()
    assert isinstance(lazy["temp"].data, da.Array)
    assert lazy["temp"].chunks == ((30,), (4,), (5,))
    assert NetCDFSource(nc4_file).npartitions == 1


def test_discover_describes_without_values(nc4_file):
    info = NetCDFSource(nc4_file, chunks={"time": 10, "lat": 2}).discover()
    md = info["metadata"]
    assert md["dims"] == {"time": 30, "lat": 4, "lon": 5}
    assert info["dtype"] == {"temp": "float32", "prec": "float64", "mask": "int8",
                             "height": "float64"}
    assert md["variables"]["temp"]["dims"] == ["time", "lat", "lon"]
    assert md["variables"]["temp"]["chunks"] == [[10, 10, 10], [2, 2], [5]]
    assert md["variables"]["temp"]["attrs"] == {"units": "K", "long_name": "air temperature"}
    assert set(md["coords"]) == {"time", "lat", "lon", "station"}
    assert md["chunks"] == {"time": [10, 10, 10], "lat": [2, 2], "lon": [5]}
    assert md["attrs"]["title"] == "test data"
    assert type(md["attrs"]["version"]) is int  # plain Python: the schema dumps to JSON
    import json

    json.dumps(md)
    assert info["npartitions"] == 3 * 2


def test_partitions_walk_the_chunk_grid_in_c_order(nc4_file):
    src = NetCDFSource(nc4_file, chunks={"time": 12, "lat": 3})
    full = xr.open_dataset(nc4_file).load()
    times = [(0, 12), (12, 24), (24, 30)]
    lats = [(0, 3), (3, 4)]
    blocks = list(itertools.product(times, lats))  # time outer, lat inner
    assert src.npartitions == len(blocks) == 6
    parts = list(src.read_chunked())
    assert len(parts) == 6
    for i, ((t0, t1), (l0, l1)) in enumerate(blocks):
        expected = full.isel(time=slice(t0, t1), lat=slice(l0, l1))
        xr.testing.assert_identical(src.read_partition(i), expected)
        xr.testing.assert_identical(parts[i], expected)
    with pytest.raises(IndexError, match="out of range"):
        src.read_partition(6)


def test_read_partition_takes_intake_xarrays_tuple(nc4_file):
    src = NetCDFSource(nc4_file, chunks={"time": 12})
    full = xr.open_dataset(nc4_file).load()
    block = src.read_partition(("temp", 1, 0, 0))
    assert isinstance(block, np.ndarray)
    np.testing.assert_array_equal(block, full["temp"].values[12:24])
    with pytest.raises(KeyError, match="nope"):
        src.read_partition(("nope", 0))


def test_bad_combine_is_refused(nc4_file):
    with pytest.raises(ValueError, match="combine must be"):
        NetCDFSource(nc4_file, combine="sideways")
    with pytest.raises(ValueError, match="concat_dim"):
        NetCDFSource(nc4_file, concat_dim="time", xarray_kwargs={"concat_dim": "time"})


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        NetCDFSource(str(tmp_path / "nothere.nc")).read()
