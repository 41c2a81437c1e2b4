"""Driver registry: short names and intake 0.x dotted names to driver classes.

Classes are named by dotted strings and imported on first use, so registering
the built-in drivers costs nothing at ``import intake_persist``. Third-party
drivers register with :func:`register_driver` or through the
``intake_persist.drivers`` entry-point group.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..errors import UnknownDriverError  # noqa: F401

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import DataSource

ENTRY_POINT_GROUP = "intake_persist.drivers"

_P = "intake_persist.sources"
_C = "intake_persist.catalog.catalog"
_registry: dict[str, str | type] = {
    "csv": f"{_P}.csv.CSVSource",
    "parquet": f"{_P}.parquet.ParquetSource",
    "textfiles": f"{_P}.textfiles.TextFilesSource",
    "json": f"{_P}.jsonfiles.JSONFileSource",
    "jsonl": f"{_P}.jsonfiles.JSONLinesFileSource",
    "numpy": f"{_P}.numpy.NumpySource",
    "ndzarr": f"{_P}.zarr.ZarrArraySource",
    "netcdf": f"{_P}.xr.netcdf.NetCDFSource",
    "zarr": f"{_P}.xr.zarr.ZarrSource",
    "opendap": f"{_P}.xr.opendap.OpenDapSource",
    "rasterio": f"{_P}.xr.raster.RasterIOSource",
    "xarray_image": f"{_P}.xr.image.ImageSource",
    "alias": f"{_P}.derived.AliasSource",
    "generic_transform": f"{_P}.derived.GenericTransform",
    "dataframe_transform": f"{_P}.derived.DataFrameTransform",
    "columns": f"{_P}.derived.Columns",
    "dataframe_pipeline": f"{_P}.pipeline.DataFramePipeline",
    "yaml_file_cat": f"{_C}.YAMLFileCatalog",
    "yaml_files_cat": f"{_C}.YAMLFilesCatalog",
}

# Names used by intake 0.x and its plugins, mapped to our short names.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "intake.source.csv.CSVSource": "csv",
        "intake_parquet.source.ParquetSource": "parquet",
        "intake_parquet.ParquetSource": "parquet",
        "intake.source.textfiles.TextFilesSource": "textfiles",
        "intake.source.jsonfiles.JSONFileSource": "json",
        "intake.source.jsonfiles.JSONLinesFileSource": "jsonl",
        "intake.source.npy.NpySource": "numpy",
        "intake.source.npy.NPySource": "numpy",  # the class name intake 0.7.0 has
        "npy": "numpy",
        "intake.source.zarr.ZarrArraySource": "ndzarr",
        "intake_xarray.netcdf.NetCDFSource": "netcdf",
        "intake_xarray.NetCDFSource": "netcdf",
        "intake_xarray.xzarr.ZarrSource": "zarr",
        "intake_xarray.ZarrSource": "zarr",
        "intake_xarray.opendap.OpenDapSource": "opendap",
        "intake_xarray.OpenDapSource": "opendap",
        "intake_xarray.raster.RasterIOSource": "rasterio",
        "intake_xarray.RasterIOSource": "rasterio",
        "intake_xarray.image.ImageSource": "xarray_image",
        "intake_xarray.ImageSource": "xarray_image",
        "intake.source.derived.AliasSource": "alias",
        "intake.source.derived.GenericTransform": "generic_transform",
        "intake.source.derived.DataFrameTransform": "dataframe_transform",
        "intake.source.derived.Columns": "columns",
        "intake.source.derived.DataFramePipeline": "dataframe_pipeline",
        "intake.catalog.local.YAMLFileCatalog": "yaml_file_cat",
        "intake.catalog.local.YAMLFilesCatalog": "yaml_files_cat",
        "catalog": "yaml_file_cat",
    }
)

_entry_points_loaded = False


def register_driver(name: str, driver: str | type, clobber: bool = False) -> None:
    """Make ``driver`` (a class or a dotted path to one) available as ``name``."""
    if name in _registry and not clobber and _registry[name] != driver:
        raise ValueError(f"driver {name!r} is already registered; pass clobber=True to replace it")
    _registry[name] = driver


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _registry.setdefault(ep.name, ep.value.replace(":", "."))


def known_drivers() -> list[str]:
    """Short names of every registered driver."""
    _load_entry_points()
    return sorted(_registry)


def registry() -> Mapping[str, str | type]:
    """Read-only view of the registry."""
    _load_entry_points()
    return MappingProxyType(_registry)


def _import_class(path: str) -> type:
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def recorded_driver(name: str, container: str | None) -> str:
    """The driver to read a recorded entry (a persisted copy, an export) with.

    The plain Zarr array reader was registered as ``zarr`` before that name went
    to intake-xarray's dataset reader; an entry that records ``zarr`` for an
    ``ndarray`` container was written then, and is read with ``ndzarr``.
    """
    if container == "ndarray" and isinstance(name, str) and resolve_driver_name(name) == "zarr":
        return "ndzarr"
    return name


def resolve_driver_name(name: str) -> str:
    """The registry key a driver name refers to (aliases resolved)."""
    return ALIASES.get(name, name)


def get_driver_class(name: str) -> type[DataSource]:
    """The class for a driver name: short name, alias, or dotted path of a DataSource."""
    from .base import DataSource

    if not isinstance(name, str) or not name:
        raise UnknownDriverError(f"driver must be a non-empty string, got {name!r}")
    key = resolve_driver_name(name)
    if key not in _registry:
        _load_entry_points()
    target = _registry.get(key)
    if target is None and "." in key:
        target = key
    if target is None:
        raise UnknownDriverError(
            f"unknown driver {name!r}; known drivers: {', '.join(known_drivers())}"
        )
    if isinstance(target, str):
        try:
            cls = _import_class(target)
        except Exception as exc:  # ImportError, AttributeError, or the module's own failure
            raise UnknownDriverError(
                f"driver {name!r} could not be imported ({exc}); "
                f"known drivers: {', '.join(known_drivers())}"
            ) from exc
        if key in _registry:
            _registry[key] = cls
    else:
        cls = target
    if not (isinstance(cls, type) and issubclass(cls, DataSource)):
        raise UnknownDriverError(f"driver {name!r} names {cls!r}, which is not a DataSource")
    return cls


def source_driver_name(source: object) -> str:
    """The driver name to record for ``source``: its class's short registry name when
    that name maps back to the class, else the class's dotted path (which
    :func:`get_driver_class` also reads)."""
    cls = type(source)
    path = f"{cls.__module__}.{cls.__qualname__}"
    short = getattr(cls, "name", "")
    if not isinstance(short, str) or not short:
        return path
    # entry points never replace a registered name: load them only for other names
    target = _registry[short] if short in _registry else registry().get(short)
    if target is cls or target == path:
        return str(short)
    return path


def make_source(driver: str, args: Mapping[str, Any], metadata: Mapping[str, Any] | None = None,
                description: str | None = None, container: str | None = None) -> DataSource:
    """The source a recorded entry describes (driver name, arguments with positional
    ones under ``__args__``, metadata, description). ``container``, what the entry
    recorded, picks ``ndzarr`` for array copies recorded as ``zarr`` by older versions."""
    cls: Callable[..., DataSource] = get_driver_class(recorded_driver(driver, container))
    kwargs = dict(args)
    positional = kwargs.pop("__args__", None) or []
    src = cls(*positional, **kwargs, metadata=copy.deepcopy(dict(metadata or {})))
    if description:
        src.description = description
    return src
