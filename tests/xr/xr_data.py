"""Datasets for the xarray tests (fixed seeds)."""

from __future__ import annotations

import numpy as np


def make_dataset(ntime: int = 30, nlat: int = 4, nlon: int = 5, seed: int = 0, start="2020-01-01"):
    """Several variables over (time, lat, lon), CF-encoded: a packed int16 variable
    with scale_factor and _FillValue, a variable without time, a scalar, a
    non-index coordinate and global attributes."""
    import pandas as pd
    import xarray as xr

    rng = np.random.default_rng(seed)
    shape = (ntime, nlat, nlon)
    prec = np.round(rng.uniform(0, 30, shape), 3)
    prec[0, 0, 0] = np.nan
    ds = xr.Dataset(
        {
            "temp": (
                ("time", "lat", "lon"),
                rng.normal(280, 5, shape).astype("float32"),
                {"units": "K", "long_name": "air temperature"},
            ),
            "prec": (("time", "lat", "lon"), prec, {"units": "mm"}),
            "mask": (("lat", "lon"), rng.integers(0, 2, (nlat, nlon)).astype("int8")),
            "height": ((), 2.0, {"units": "m"}),
        },
        coords={
            "time": pd.date_range(start, periods=ntime, freq="D"),
            "lat": np.linspace(-30, 30, nlat),
            "lon": np.linspace(0, 40, nlon),
            "station": ("lat", [f"s{i}" for i in range(nlat)]),
        },
        attrs={"title": "test data", "source": "intake_persist tests", "version": 2},
    )
    ds["prec"].encoding = {"dtype": "int16", "scale_factor": 0.001, "_FillValue": -9999}
    ds["time"].encoding = {"units": "hours since 2000-01-01", "calendar": "standard"}
    return ds
