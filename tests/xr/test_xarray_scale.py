"""Persisting xarray sources at scale: the workers of a LocalCluster write the
blocks; a dataset larger than a memory limit persists under that limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr
from xr_data import make_dataset

from intake_persist.containers import xarray as xwriter
from intake_persist.sources.xr.netcdf import NetCDFSource
from intake_persist.store.persist_store import PersistStore


@pytest.mark.distributed
@pytest.mark.slow
def test_localcluster_workers_write_the_blocks(tmp_path, local_cluster, s3_bucket, s3_fs,
                                               monkeypatch):
    distributed = pytest.importorskip("distributed")
    path = str(tmp_path / "d.nc")
    make_dataset(ntime=60).to_netcdf(path)
    expected = xr.open_dataset(path).load()
    src = NetCDFSource(path)
    chunks = {"time": 10}  # 6 blocks
    for where in (str(tmp_path / "store"), f"{s3_bucket}/xstore"):
        store = PersistStore(where)
        with distributed.Client(local_cluster) as client:
            workers = set(client.scheduler_info()["workers"])
            calls: list = []
            with distributed.get_task_stream(client) as ts:
                copy = store.persist(src, chunks=chunks, progress=_record(calls))
        writes = [t for t in ts.data if "intake-persist-write" in str(t["key"])]
        assert {t["worker"] for t in writes} <= workers  # every block written on a worker
        # blocks: temp and prec 6 chunks each, mask and station one each
        assert len(writes) == 14 and sorted(calls) == list(range(1, 15))
        assert copy.npartitions == 6
        xr.testing.assert_identical(copy.read(), expected)
    assert s3_fs.exists(f"{s3_bucket}/xstore/{src.token}")


def _record(calls: list):
    return lambda done, total: calls.append(done)


def _write_big_netcdf(path: str, ntime: int, ny: int, nx: int) -> int:
    """Two float32 variables over (time, y, x), written slab by slab with netCDF4
    (so making it needs little memory); returns the data size in bytes."""
    import netCDF4

    rng = np.random.default_rng(11)
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", ntime)
        nc.createDimension("y", ny)
        nc.createDimension("x", nx)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "hours since 2000-01-01"
        t[:] = np.arange(ntime)
        for name in ("a", "b"):
            v = nc.createVariable(name, "f4", ("time", "y", "x"))  # contiguous: whole arrays
            v.units = "1"
            for s in range(0, ntime, 20):
                e = min(s + 20, ntime)
                v[s:e] = rng.random((e - s, ny, nx), dtype="float32")
    return 2 * ntime * ny * nx * 4


@pytest.mark.slow
def test_dataset_bigger_than_the_memory_limit_persists_under_it(tmp_path):
    path = str(tmp_path / "big.nc")
    size = _write_big_netcdf(path, ntime=600, ny=400, nx=250)  # 480 MB of data
    limit = 200 * 2**20  # growth of the peak RSS allowed while persisting
    assert size > 2 * limit
    code = textwrap.dedent(
        f"""
        import json, resource
        import xarray, zarr, dask.array, netCDF4
        from intake_persist.sources.xr.netcdf import NetCDFSource
        from intake_persist.store.persist_store import PersistStore

        src = NetCDFSource({path!r})
        src.discover()
        store = PersistStore({str(tmp_path / "store")!r})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        copy = store.persist(src)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        chunks = copy.to_dask()["a"].chunks
        print(json.dumps({{"before": before, "peak": peak, "n": copy.npartitions,
                           "chunks": [list(c) for c in chunks]}}))
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    grew = out["peak"] - out["before"]
    mib = 2**20
    assert grew < limit, f"peak RSS grew by {grew / mib:.0f} MiB persisting {size / mib:.0f} MiB"
    assert out["n"] > 1
    assert np.prod([c[0] for c in out["chunks"]]) * 4 <= xwriter.MAX_BLOCK
    # and the copy is the dataset
    copy = PersistStore(str(tmp_path / "store"))[NetCDFSource(path).token]
    got = copy.to_dask()
    with xr.open_dataset(path) as ds:
        for i in (0, 599):
            xr.testing.assert_identical(got.isel(time=i).compute(), ds.isel(time=i).load())
        assert float(got["b"].mean()) == pytest.approx(float(ds["b"].mean()), rel=1e-6)
