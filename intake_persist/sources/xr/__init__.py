"""The xarray drivers (container ``xarray``), with the names and constructor
arguments of the intake-xarray plugin (0.7.0): ``netcdf``, ``zarr``,
``opendap``, ``rasterio`` and ``xarray_image``."""
