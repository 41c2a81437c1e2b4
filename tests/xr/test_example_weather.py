"""The example catalog's NetCDF entry, as docs/usage.rst shows it."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from intake_persist import open_catalog

EXAMPLE = Path(__file__).resolve().parents[2] / "catalogs" / "example.yaml"


def test_weather_entry_end_to_end():
    data = EXAMPLE.parent / "data" / "weather.nc"
    expected = xr.open_dataset(data).load()
    cat = open_catalog(str(EXAMPLE))
    src = cat.weather
    assert src.container == "xarray"
    assert src.discover()["metadata"]["dims"] == {"time": 24, "lat": 3, "lon": 4}
    assert src.npartitions == 4
    ds = src.read()
    xr.testing.assert_identical(ds, expected)
    copy = src.persist()
    xr.testing.assert_identical(copy.read(), ds)
    assert copy.read()["precip"].encoding["scale_factor"] == 0.01
    again = open_catalog(str(EXAMPLE)).weather
    assert again.is_persisted
    xr.testing.assert_identical(again.read(), expected)
    original = open_catalog(str(EXAMPLE)).weather(persist_mode="never")
    assert not original.is_persisted and original.driver_name == "netcdf"
