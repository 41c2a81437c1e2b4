"""xarray benchmark: a ~1 GB NetCDF dataset persisted to Zarr, intake_persist
versus xarray by hand, side by side in one run.

Run: ``python benchmarks/bench_xarray.py [--ntime 1000] [--repeats 1]``. The
dataset has four float32 variables over (time, lat=250, lon=250), CF time
units, written contiguous (so neither side gets chunks from the file). The
hand-written pipeline is ``xr.open_dataset(path).chunk(CHUNKS).to_zarr(out,
consolidated=True)`` with the chunks intake_persist's plan picks, on dask's
default (threaded) scheduler; reading back is ``xr.open_zarr(out).load()``
versus ``copy.read()``. Each step runs in its own subprocess, so its peak
memory (max RSS) is its own. No test asserts any figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from _common import DATA, footer, header, timed_step

VARIABLES = ("t2m", "u10", "v10", "sst")


def make_netcdf(path: str, ntime: int, nlat: int = 250, nlon: int = 250) -> None:
    import netCDF4
    import numpy as np

    rng = np.random.default_rng(7)
    with netCDF4.Dataset(path, "w") as nc:
        nc.title = "intake_persist xarray benchmark"
        for name, n in (("time", ntime), ("lat", nlat), ("lon", nlon)):
            nc.createDimension(name, n)
        t = nc.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "hours since 2000-01-01", "standard"
        t[:] = np.arange(ntime)
        nc.createVariable("lat", "f8", ("lat",))[:] = np.linspace(-60, 60, nlat)
        nc.createVariable("lon", "f8", ("lon",))[:] = np.linspace(0, 359, nlon)
        for name in VARIABLES:
            v = nc.createVariable(name, "f4", ("time", "lat", "lon"))
            v.units = "1"
            for s in range(0, ntime, 50):
                e = min(s + 50, ntime)
                base = np.sin(np.arange(s, e) / 24.0)[:, None, None]
                v[s:e] = (base + rng.normal(0, 1, (e - s, nlat, nlon))).astype("float32")


STEP = {
    "raw_persist": """
        import xarray as xr
        xr.open_dataset(NC).chunk(CHUNKS).to_zarr(OUT, consolidated=True, zarr_format=2)
    """,
    "ours_persist": """
        from intake_persist.sources.xr.netcdf import NetCDFSource
        from intake_persist.store.persist_store import PersistStore
        PersistStore(OUT).persist(NetCDFSource(NC))
    """,
    "raw_read": """
        import xarray as xr
        ds = xr.open_zarr(OUT).load()
        assert ds.sizes["time"] == NTIME
    """,
    "ours_read": """
        from intake_persist.store.persist_store import PersistStore
        store = PersistStore(OUT)
        ds = store[list(store)[0]].read()
        assert ds.sizes["time"] == NTIME
    """,
}


def run_step(name: str, **values: object) -> dict:
    return timed_step(name, STEP[name], **values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ntime", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(DATA, exist_ok=True)
    nc = os.path.join(DATA, f"bench_xarray_{args.ntime}.nc")
    if not os.path.exists(nc):
        make_netcdf(nc + ".part", args.ntime)
        os.replace(nc + ".part", nc)
    from intake_persist.containers.xarray import plan_chunks
    from intake_persist.sources.xr.netcdf import NetCDFSource

    chunks = plan_chunks(NetCDFSource(nc))
    data_mb = len(VARIABLES) * args.ntime * 250 * 250 * 4 / 2**20
    header(args.repeats)
    print(f"# NetCDF: {len(VARIABLES)} float32 variables x (time {args.ntime}, lat 250, "
          f"lon 250) = {data_mb:.0f} MiB of data, file {os.path.getsize(nc) / 2**20:.0f} MiB")
    print(f"# chunks (both sides): {chunks}")
    runs: dict[str, list[dict]] = {k: [] for k in STEP}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(dir=DATA) as raw_dir, \
                tempfile.TemporaryDirectory(dir=DATA) as ours_dir:
            raw_out = os.path.join(raw_dir, "copy.zarr")
            runs["raw_persist"].append(run_step("raw_persist", NC=nc, OUT=raw_out, CHUNKS=chunks))
            runs["ours_persist"].append(run_step("ours_persist", NC=nc, OUT=ours_dir))
            runs["raw_read"].append(run_step("raw_read", OUT=raw_out, NTIME=args.ntime))
            runs["ours_read"].append(run_step("ours_read", OUT=ours_dir, NTIME=args.ntime))
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    raw, ours = med["raw_persist"], med["ours_persist"]
    raw_r, ours_r = med["raw_read"], med["ours_read"]
    print(f"persist  xarray .chunk().to_zarr()  : {raw['s']:7.2f} s  "
          f"peak {raw['rss_mb']:6.0f} MiB")
    print(f"persist  intake_persist             : {ours['s']:7.2f} s  "
          f"peak {ours['rss_mb']:6.0f} MiB   ratio {ours['s'] / raw['s']:.2f}x "
          "(aim <= 1.1x)")
    print(f"read     xr.open_zarr().load()      : {raw_r['s']:7.2f} s  "
          f"peak {raw_r['rss_mb']:6.0f} MiB")
    print(f"read     persisted copy .read()     : {ours_r['s']:7.2f} s  "
          f"peak {ours_r['rss_mb']:6.0f} MiB   ratio {ours_r['s'] / raw_r['s']:.2f}x "
          "(aim <= 1.1x)")
    footer()


if __name__ == "__main__":
    main()
