"""Real NetCDF files for the xarray driver tests, made with fixed seeds."""

from __future__ import annotations

import pytest
from xr_data import make_dataset


@pytest.fixture
def nc4_file(tmp_path):
    """A NetCDF-4 file (netCDF4 engine) and the dataset written to it."""
    ds = make_dataset()
    path = tmp_path / "data4.nc"
    ds.to_netcdf(path, format="NETCDF4", engine="netcdf4")
    return str(path)


@pytest.fixture
def nc3_file(tmp_path):
    """A NetCDF-3 (64-bit offset) file written with scipy."""
    ds = make_dataset(seed=1).drop_vars("station")  # NetCDF-3 has no string type
    path = tmp_path / "data3.nc"
    ds.to_netcdf(path, format="NETCDF3_64BIT", engine="scipy")
    return str(path)
