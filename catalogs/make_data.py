"""Write the small example data under catalogs/data/ used by example.yaml and nested.yaml.

Deterministic (fixed seed), a few KB in all. Run it from anywhere:

    python catalogs/make_data.py

The generated files are committed, so you only need this to change them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def trips(year: int, rng: np.random.Generator, n: int = 40) -> pd.DataFrame:
    start = pd.Timestamp(f"{year}-01-01")
    pickup = start + pd.to_timedelta(np.sort(rng.integers(0, 365 * 24 * 60, n)), unit="min")
    return pd.DataFrame(
        {
            "pickup": pickup.strftime("%Y-%m-%d %H:%M:%S"),
            "passengers": rng.integers(1, 5, n),
            "distance_km": np.round(rng.gamma(2.0, 2.5, n), 2),
            "fare": np.round(rng.uniform(5, 60, n), 2),
            "borough": rng.choice(["Bronx", "Brooklyn", "Manhattan", "Queens"], n),
        }
    )


def weather(path: Path) -> None:
    """Hourly 2 m temperature and precipitation over one day on a 3 x 4 grid,
    CF-encoded (packed precipitation, time units), as NetCDF-4."""
    import xarray as xr

    rng = np.random.default_rng(20240602)
    time = pd.date_range("2024-06-01", periods=24, freq="h")
    lat = np.array([40.6, 40.7, 40.8])
    lon = np.array([-74.0, -73.9, -73.8, -73.7])
    hours = np.arange(24)[:, None, None]
    t2m = 18 + 6 * np.sin((hours - 9) / 24 * 2 * np.pi) + rng.normal(0, 0.5, (24, 3, 4))
    precip = np.round(rng.gamma(0.3, 1.5, (24, 3, 4)), 2)
    ds = xr.Dataset(
        {
            "t2m": (("time", "lat", "lon"), t2m.astype("float32"),
                    {"units": "degC", "long_name": "2 m air temperature"}),
            "precip": (("time", "lat", "lon"), precip,
                       {"units": "mm/h", "long_name": "precipitation rate"}),
        },
        coords={"time": time, "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"title": "intake_persist example weather", "Conventions": "CF-1.8"},
    )
    encoding = {
        "precip": {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -1},
        "time": {"units": "hours since 2024-06-01", "calendar": "standard"},
    }
    ds.to_netcdf(path, format="NETCDF4", engine="netcdf4", encoding=encoding)


def main() -> None:
    rng = np.random.default_rng(20240601)
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir()

    # csv: one file per year, chosen by the `year` user parameter
    for year in (2020, 2021):
        trips(year, rng).to_csv(DATA / f"trips_{year}.csv", index=False)

    # parquet
    stations = pd.DataFrame(
        {
            "station_id": np.arange(1, 21, dtype="int64"),
            "name": [f"station-{i:02d}" for i in range(1, 21)],
            "lat": np.round(40.6 + rng.uniform(0, 0.3, 20), 5),
            "lon": np.round(-74.05 + rng.uniform(0, 0.3, 20), 5),
            "docks": rng.integers(10, 40, 20),
        }
    )
    stations.to_parquet(DATA / "stations.parquet", index=False)

    # textfiles: two files -> two partitions
    notes = DATA / "notes"
    notes.mkdir()
    (notes / "part-0.txt").write_text(
        "first note\nroads were wet\nstation-03 closed for repairs\n", encoding="utf-8"
    )
    (notes / "part-1.txt").write_text("second note\nnew docks at station-11\n", encoding="utf-8")

    # jsonl: one JSON object per line
    with open(DATA / "events.jsonl", "w", encoding="utf-8") as f:
        for i in range(12):
            event = {
                "id": i,
                "kind": ["start", "stop", "pause"][i % 3],
                "station": int(rng.integers(1, 21)),
                "ok": bool(i % 4),
            }
            f.write(json.dumps(event) + "\n")

    # numpy .npy
    grid = np.arange(60, dtype="float64").reshape(12, 5) / 4.0
    np.save(DATA / "grid.npy", grid)

    # zarr array (format 2, readable by zarr 2.18 and 3.x), chunked by rows
    import zarr

    temps = np.round(10 + 8 * np.sin(np.linspace(0, 6.28, 48 * 4)).reshape(48, 4), 3)
    kwargs = {"zarr_format": 2} if int(zarr.__version__.split(".")[0]) >= 3 else {}
    arr = zarr.open_array(
        str(DATA / "temperature.zarr"), mode="w", shape=temps.shape, chunks=(12, 4),
        dtype="float32", **kwargs,
    )  # fmt: skip
    arr[:] = temps.astype("float32")

    # netcdf: a small NetCDF-4 dataset for the xarray drivers (its own seed)
    weather(DATA / "weather.nc")

    # the nested catalog's data
    pd.DataFrame(
        {
            "borough": ["Bronx", "Brooklyn", "Manhattan", "Queens"],
            "population_k": [1472, 2736, 1694, 2405],
        }
    ).to_csv(DATA / "boroughs.csv", index=False)

    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"wrote {DATA} ({total} bytes)")


if __name__ == "__main__":
    main()
