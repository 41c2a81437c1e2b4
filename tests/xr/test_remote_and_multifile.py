"""netcdf and zarr drivers on local disk, memory:// and moto S3; several files
joined along concat_dim; {pattern} paths; persist and read back on each."""

from __future__ import annotations

import io

import fsspec
import numpy as np
import pytest
import xarray as xr
from xr_data import make_dataset

from intake_persist.sources.xr.base import COMBINE_DEFAULTS
from intake_persist.sources.xr.netcdf import NetCDFSource
from intake_persist.sources.xr.zarr import ZarrSource
from intake_persist.store.persist_store import PersistStore


def _nc_bytes(ds: xr.Dataset, fmt: str = "NETCDF4") -> bytes:
    if fmt == "NETCDF4":
        return ds.to_netcdf(engine="h5netcdf")  # bytes (memoryview in new xarray)
    buf = io.BytesIO()
    ds.to_netcdf(buf, format=fmt, engine="scipy")
    return buf.getvalue()


def _put(url: str, data: bytes, **so) -> str:
    with fsspec.open(url, "wb", **so) as f:
        f.write(bytes(data))
    return url


def _expected(ds: xr.Dataset) -> xr.Dataset:
    """What reading a file written from ``ds`` gives (decoded as xarray does)."""
    return xr.open_dataset(io.BytesIO(bytes(_nc_bytes(ds))), engine="h5netcdf").load()


def test_netcdf_local_and_memory(where):
    ds = make_dataset()
    url = where("a.nc", bytes(_nc_bytes(ds)))
    src = NetCDFSource(url, chunks={"time": 10})
    xr.testing.assert_identical(src.read(), _expected(ds))
    assert src.npartitions == 3
    xr.testing.assert_identical(src.read_partition(2), _expected(ds).isel(time=slice(20, 30)))


def test_netcdf3_from_memory(memfs):
    ds = make_dataset(seed=4).drop_vars("station")
    _put("memory://n3/a.nc", _nc_bytes(ds, "NETCDF3_64BIT"))
    got = NetCDFSource("memory://n3/a.nc").read()
    buf = io.BytesIO(_nc_bytes(ds, "NETCDF3_64BIT"))
    xr.testing.assert_identical(got, xr.open_dataset(buf, engine="scipy").load())


@pytest.mark.parametrize("combine", [None, "nested"])
def test_glob_joined_along_concat_dim(where, combine, tmp_path):
    ds = make_dataset(ntime=24)
    ref = []
    for k in range(3):
        data = bytes(_nc_bytes(ds.isel(time=slice(8 * k, 8 * k + 8))))
        where(f"part_{k}.nc", data)
        (tmp_path / f"ref_{k}.nc").write_bytes(data)
        ref.append(str(tmp_path / f"ref_{k}.nc"))
    # what open_mfdataset gives for the same files on local disk
    with xr.open_mfdataset(ref, combine="nested", concat_dim="time", **COMBINE_DEFAULTS) as mf:
        expected = mf.load()
    src = NetCDFSource(f"{where.base}/part_*.nc", concat_dim="time", combine=combine)
    got = src.read()
    xr.testing.assert_identical(got, expected)
    xr.testing.assert_equal(got["temp"], _expected(ds)["temp"])
    assert src.npartitions == 3  # one chunk per file
    xr.testing.assert_identical(src.read_partition(1), expected.isel(time=slice(8, 16)))


def test_glob_by_coords_and_list(where, tmp_path):
    ds = make_dataset(ntime=12)
    urls, ref = [], []
    for k in (1, 0):  # out of order: by_coords sorts them by time
        data = bytes(_nc_bytes(ds.isel(time=slice(6 * k, 6 * k + 6))))
        urls.append(where(f"p{k}.nc", data))
        (tmp_path / f"r{k}.nc").write_bytes(data)
        ref.append(str(tmp_path / f"r{k}.nc"))
    with xr.open_mfdataset(ref, combine="by_coords", **COMBINE_DEFAULTS) as mf:
        expected = mf.load()
    assert expected["time"].values.tolist() == _expected(ds)["time"].values.tolist()
    xr.testing.assert_identical(NetCDFSource(f"{where.base}/p*.nc").read(), expected)
    xr.testing.assert_identical(NetCDFSource(urls).read(), expected)


def test_pattern_fields_become_coordinates(where, tmp_path):
    members = {}
    for m in (3, 1, 2):
        members[m] = make_dataset(ntime=5, seed=m)
        where(f"run_{m}_x.nc", bytes(_nc_bytes(members[m])))
    src = NetCDFSource(f"{where.base}/run_{{member:d}}_x.nc", concat_dim="member")
    got = src.read()
    assert got["member"].values.tolist() == [1, 2, 3]  # files sorted by path
    for m in (1, 2, 3):
        xr.testing.assert_equal(got.sel(member=m).drop_vars("member"), _expected(members[m]))
    copy = src.persist(store=PersistStore(str(tmp_path / "store")))
    xr.testing.assert_identical(copy.read(), got)
    # path_as_pattern=False: braces are a literal part of the name
    with pytest.raises(FileNotFoundError):
        NetCDFSource(f"{where.base}/run_{{member:d}}_x.nc", path_as_pattern=False).read()


def test_single_file_pattern_adds_scalar_coordinate(where):
    ds = make_dataset(ntime=4)
    url = where("year_2019.nc", bytes(_nc_bytes(ds)))
    got = NetCDFSource(url.replace("2019", "{year:d}")).read()
    assert got["year"].item() == 2019 and got["year"].dims == ()


def test_zarr_driver_local_and_memory(where):
    ds = make_dataset()
    url = f"{where.base}/d.zarr"
    ds.to_zarr(url, zarr_format=2, consolidated=True)
    src = ZarrSource(url)
    xr.testing.assert_identical(src.read(), xr.open_zarr(url).load())
    assert src.to_dask()["temp"].chunks is not None


def test_zarr_glob_of_stores(tmp_path):
    ds = make_dataset(ntime=10)
    for k in range(2):
        ds.isel(time=slice(5 * k, 5 * k + 5)).to_zarr(str(tmp_path / f"s{k}.zarr"), zarr_format=2)
    src = ZarrSource(str(tmp_path / "s*.zarr"), combine="by_coords")
    got = src.read()
    stores = [str(tmp_path / "s0.zarr"), str(tmp_path / "s1.zarr")]
    with xr.open_mfdataset(stores, engine="zarr", combine="by_coords", **COMBINE_DEFAULTS) as mf:
        xr.testing.assert_identical(got, mf.load())
    xr.testing.assert_equal(got["temp"], ds["temp"])


def test_persist_into_a_memory_store(memfs):
    ds = make_dataset()
    _put("memory://in/a.nc", _nc_bytes(ds))
    src = NetCDFSource("memory://in/a.nc", chunks={"time": 10})
    store = PersistStore("memory://store")
    copy = src.persist(store=store)
    assert copy.urlpath.startswith("memory://store/")
    xr.testing.assert_identical(copy.read(), _expected(ds))
    assert memfs.exists(copy.urlpath + "/.zmetadata")


# ---- moto S3 ------------------------------------------------------------------------------


@pytest.mark.s3
def test_s3_netcdf_zarr_and_persist(s3_bucket, s3_fs, s3_server):
    so = {"endpoint_url": s3_server, "skip_instance_cache": True}
    ds = make_dataset()
    s3_fs.pipe(f"{s3_bucket}/in/a.nc", bytes(_nc_bytes(ds)))
    for k in range(3):
        s3_fs.pipe(f"{s3_bucket}/in/parts/p_{k}.nc",
                   bytes(_nc_bytes(ds.isel(time=slice(10 * k, 10 * k + 10)))))
    src = NetCDFSource(f"{s3_bucket}/in/a.nc", chunks={"time": 10}, storage_options=so)
    xr.testing.assert_identical(src.read(), _expected(ds))
    multi = NetCDFSource(f"{s3_bucket}/in/parts/p_*.nc", concat_dim="time", storage_options=so,
                         xarray_kwargs={"data_vars": "minimal", "coords": "minimal",
                                        "compat": "override"})
    xr.testing.assert_equal(multi.read(), _expected(ds))

    # xarray's zarr driver on S3
    ds.to_zarr(f"{s3_bucket}/in/d.zarr", zarr_format=2, consolidated=True,
               storage_options={"endpoint_url": s3_server})
    z = ZarrSource(f"{s3_bucket}/in/d.zarr", storage_options=so)
    xr.testing.assert_identical(z.read(), ds.pipe(lambda d: _roundtrip_zarr(d)))

    # persist into an S3 store: consolidated metadata, identical read-back
    store = PersistStore(f"{s3_bucket}/store", **so)
    copy = src.persist(store=store)
    assert copy.urlpath.startswith(f"{s3_bucket}/store/")
    assert s3_fs.exists(copy.urlpath + "/.zmetadata")
    xr.testing.assert_identical(copy.read(), _expected(ds))
    again = PersistStore(f"{s3_bucket}/store", **so)[src.token]
    xr.testing.assert_identical(again.read(), _expected(ds))
    # persisting a remote multi-file source
    mcopy = multi.persist(store=store)
    xr.testing.assert_equal(mcopy.read(), _expected(ds))
    np.testing.assert_array_equal(mcopy.read()["temp"].values, ds["temp"].values)


def _roundtrip_zarr(ds: xr.Dataset) -> xr.Dataset:
    store: dict = {}
    ds.to_zarr(store, zarr_format=2, consolidated=True)
    return xr.open_zarr(store).load()
