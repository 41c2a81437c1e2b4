"""Persisting xarray sources to Zarr: identical read-back, encodings, chunk plan,
progress, export, TTL refresh and atomic visibility (local store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import yaml
from xr_data import make_dataset

from intake_persist.containers import xarray as xwriter
from intake_persist.sources.xr.netcdf import NetCDFSource
from intake_persist.sources.xr.zarr import ZarrSource
from intake_persist.store.persist_store import PersistStore


@pytest.fixture
def store(tmp_path):
    return PersistStore(str(tmp_path / "store"))


def test_persist_reads_back_identical_with_encodings(nc4_file, store, monkeypatch):
    monkeypatch.setattr(xwriter, "MIN_BLOCK", 1 << 10)  # blocks of 10 steps are not tiny
    src = NetCDFSource(nc4_file, chunks={"time": 10})
    calls = []
    copy = src.persist(store=store, progress=lambda d, n: calls.append((d, n)))
    assert isinstance(copy, ZarrSource) and copy.container == "xarray"
    assert copy.is_persisted and src.has_been_persisted is False  # default store: not this one
    assert src.token in store
    back = copy.read()
    xr.testing.assert_identical(back, xr.open_dataset(nc4_file).load())
    # CF encodings survive: packed int16 with scale factor and fill value, time units
    zarr_path = copy.urlpath
    raw = xr.open_zarr(zarr_path, consolidated=True, decode_cf=False)
    assert raw["prec"].dtype == np.int16
    assert raw["prec"].attrs["scale_factor"] == pytest.approx(0.001)
    assert raw["prec"].attrs["_FillValue"] == -9999
    assert raw["time"].attrs["units"] == "hours since 2000-01-01"
    assert raw["time"].attrs["calendar"] == "standard"
    assert np.isnan(back["prec"].values[0, 0, 0])
    # consolidated metadata, chunking kept from the source (10 along time)
    assert os.path.exists(os.path.join(zarr_path, ".zmetadata"))
    assert copy.to_dask()["temp"].chunks == ((10, 10, 10), (4,), (5,))
    # one progress call per block (a chunk of a variable): temp and prec 3 each,
    # mask and the station coordinate one each
    assert calls == [(k, 8) for k in range(1, 9)]
    entry = store.index.lookup(src.token)
    assert entry["driver"] == "zarr" and entry["metadata"]["container"] == "xarray"
    assert entry["metadata"]["npartitions"] == 3


def test_netcdf3_persists_identical(nc3_file, store):
    copy = NetCDFSource(nc3_file).persist(store=store)
    xr.testing.assert_identical(copy.read(), xr.open_dataset(nc3_file).load())


def test_tiny_chunks_are_merged(nc4_file, store):
    src = NetCDFSource(nc4_file, chunks={"time": 1})
    assert src.npartitions == 30
    copy = src.persist(store=store)
    assert copy.to_dask()["temp"].chunks == ((30,), (4,), (5,))
    xr.testing.assert_identical(copy.read(), src.read())


def test_whole_array_chunks_are_split(tmp_path, store, monkeypatch):
    ds = make_dataset(ntime=200, nlat=10, nlon=10)
    path = str(tmp_path / "big.nc")
    ds.to_netcdf(path)
    monkeypatch.setattr(xwriter, "MIN_BLOCK", 1 << 10)
    monkeypatch.setattr(xwriter, "TARGET_BLOCK", 16 << 10)
    monkeypatch.setattr(xwriter, "MAX_BLOCK", 64 << 10)
    src = NetCDFSource(path)  # no dask: whole arrays
    assert src.npartitions == 1
    calls = []
    copy = src.persist(store=store, progress=lambda d, n: calls.append(d))
    lazy = copy.to_dask()
    tchunks = lazy["temp"].chunks[0]
    assert len(tchunks) > 1
    for v in ("temp", "prec"):
        assert np.prod([c[0] for c in lazy[v].chunks]) * lazy[v].dtype.itemsize <= 64 << 10
    chunked = [v for k, v in lazy.variables.items() if v.dims and k not in lazy.xindexes]
    assert calls == list(range(1, sum(np.prod([len(c) for c in v.chunks]) for v in chunked) + 1))
    xr.testing.assert_identical(copy.read(), xr.open_dataset(path).load())


def test_chunks_given_to_persist_win(nc4_file, store):
    copy = NetCDFSource(nc4_file).persist(store=store, chunks={"time": 7, "lon": 2})
    assert copy.to_dask()["temp"].chunks == ((7, 7, 7, 7, 2), (4,), (2, 2, 1))
    xr.testing.assert_identical(copy.read(), xr.open_dataset(nc4_file).load())


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"chunks": {"depth": 3}}, ValueError, "'depth'"),
        ({"chunks": {"time": 0}}, ValueError, r"chunks\['time'\].*0"),
        ({"chunks": [3]}, ValueError, "mapping"),
        ({"compression": "gzip"}, TypeError, "compression"),
        ({"zarr_format": 4}, ValueError, "zarr_format.*4"),
    ],
)
def test_bad_writer_arguments(nc4_file, store, kwargs, exc, match):
    src = NetCDFSource(nc4_file)
    with pytest.raises(exc, match=match):
        src.persist(store=store, **kwargs)
    assert src.token not in store


def test_zarr_format_3(nc4_file, store):
    copy = NetCDFSource(nc4_file).persist(store=store, zarr_format=3)
    assert os.path.exists(os.path.join(copy.urlpath, "zarr.json"))
    xr.testing.assert_identical(copy.read(), xr.open_dataset(nc4_file).load())


def test_export_and_open_the_catalog(nc4_file, tmp_path):
    from intake_persist.catalog.loader import open_catalog

    src = NetCDFSource(nc4_file, chunks={"time": 15})
    src.entry_name = "weather"
    text = src.export(str(tmp_path / "out"))
    doc = yaml.safe_load(text)
    entry = doc["sources"]["weather"]
    assert entry["driver"] == "zarr" and entry["metadata"]["container"] == "xarray"
    assert entry["metadata"]["original_source"]["driver"] == "netcdf"
    (tmp_path / "cat.yaml").write_text(text)
    cat = open_catalog(str(tmp_path / "cat.yaml"))
    xr.testing.assert_identical(cat.weather.read(), xr.open_dataset(nc4_file).load())


def test_expired_copy_is_refreshed_from_the_original(nc4_file, store):
    src = NetCDFSource(nc4_file)
    first = src.persist(store=store, ttl=0)
    assert store.needs_refresh(src)
    again = store.refresh(src.token)
    assert again.metadata["version"] != first.metadata["version"]
    xr.testing.assert_identical(again.read(), xr.open_dataset(nc4_file).load())
    # persisting the copy re-persists its original, never a copy of a copy
    third = again.persist(store=store)
    assert third.metadata["original_tok"] == src.token
    assert json.loads(json.dumps(third.metadata["original_source"]))["driver"] == "netcdf"


def test_failed_write_leaves_nothing_visible(nc4_file, store):
    src = NetCDFSource(nc4_file, chunks={"time": 5})

    def boom(done, total):
        if done == 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        src.persist(store=store, chunks={"time": 5}, progress=boom)
    assert src.token not in store
    assert not os.path.exists(os.path.join(store.path, src.token)) or not [
        n for n in os.listdir(os.path.join(store.path, src.token)) if not n.startswith(".")
    ]


def test_killed_writer_leaves_no_torn_copy(nc4_file, tmp_path):
    store_path = str(tmp_path / "store")
    code = textwrap.dedent(
        f"""
        import os
        from intake_persist.sources.xr.netcdf import NetCDFSource
        from intake_persist.store.persist_store import PersistStore

        def die(done, total):
            if done == 3:
                os._exit(9)

        src = NetCDFSource({nc4_file!r})
        PersistStore({store_path!r}).persist(src, chunks={{"time": 5}}, progress=die)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    store = PersistStore(store_path)
    src = NetCDFSource(nc4_file)
    assert src.token not in store
    token_dir = os.path.join(store_path, src.token)
    assert os.path.isdir(token_dir) and os.listdir(token_dir)  # the leftovers
    report = store.gc()
    assert report["removed"]
    assert not os.path.exists(token_dir) or not os.listdir(token_dir)
    copy = src.persist(store=store)
    xr.testing.assert_identical(copy.read(), xr.open_dataset(nc4_file).load())


def test_copy_partitions_follow_its_chunks(nc4_file, store):
    copy = NetCDFSource(nc4_file).persist(store=store, chunks={"time": 12})
    full = xr.open_dataset(nc4_file).load()
    assert copy.npartitions == 3
    xr.testing.assert_identical(copy.read_partition(2), full.isel(time=slice(24, 30)))
    assert isinstance(copy.to_dask()["temp"].data, da.Array)


def test_copy_opens_from_consolidated_metadata_alone(nc4_file, store):
    """The arrays' metadata files are not needed: .zmetadata (read once) has them all."""
    copy = NetCDFSource(nc4_file).persist(store=store, chunks={"time": 10})
    assert copy._init_kwargs["consolidated"] is True
    removed = 0
    for root, _dirs, files in os.walk(copy.urlpath):
        if root == copy.urlpath:
            continue  # the group's own .zgroup stays
        for name in files:
            if name in (".zarray", ".zattrs", ".zgroup"):
                os.remove(os.path.join(root, name))
                removed += 1
    assert removed > 5
    fresh = store[NetCDFSource(nc4_file).token]
    xr.testing.assert_identical(fresh.read(), xr.open_dataset(nc4_file).load())
