"""XarraySource: the base of every driver whose container is ``xarray``.

A subclass implements ``_open(chunks)``, which returns the dataset (an
``xarray.Dataset``, or an ``xarray.DataArray`` for the drivers that gave one in
intake-xarray) opened lazily with the given ``chunks`` argument of xarray.

Partitions
----------
The partitions are the blocks of the dataset's dask chunk grid, after
``unify_chunks()``: the grid's dimensions are taken in the order of
``to_dask().dims`` (only the dimensions some variable is chunked along), and the
blocks are numbered in C order, the last dimension varying fastest. Partition
``i`` is ``to_dask().isel(<the block's slice along each grid dimension>)``, loaded
in memory: every variable is cut to the block, so a variable that lacks one of
the grid's dimensions appears whole in each block along that dimension.
``read_partition`` also takes intake-xarray's form, a tuple
``(variable, *block_index)``, which returns that block of one variable as a
NumPy array.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._files import FileSource
from ..base import Schema

#: dataset attribute that marks a Zarr copy of a DataArray (its value: the name)
DATAARRAY_ATTR = "_intake_persist_dataarray"
#: variable name used for a DataArray without a name (as xarray does)
UNNAMED = "__xarray_dataarray_variable__"


class XarraySource(FileSource):
    """Base class of the xarray drivers.

    ``read()`` gives the dataset in memory, ``to_dask()`` the same dataset
    lazily with dask chunks, ``discover()`` its dims, coordinates, variables,
    dtypes, attributes and chunking without reading data values.
    """

    container = "xarray"
    chunks: Any = None

    # ---- opening ------------------------------------------------------------------
    def _open(self, chunks: Any) -> Any:
        raise NotImplementedError

    def _dataset(self) -> Any:
        """The dataset opened with the source's own ``chunks`` (cached)."""
        ds = self._cache.get("ds")
        if ds is None:
            ds = self._cache["ds"] = self._open(self.chunks)
        return ds

    def _lazy(self) -> Any:
        """The dataset with every non-index variable a dask array (cached)."""
        lazy = self._cache.get("lazy")
        if lazy is None:
            ds = self._dataset()
            if not _all_dask(ds):
                ds = ds.chunk({})  # variables not yet in dask: one chunk each
            lazy = self._cache["lazy"] = ds.unify_chunks()
        return lazy

    # ---- the container's API --------------------------------------------------------
    def to_dask(self) -> Any:
        """The dataset (or DataArray), lazily, backed by dask chunks."""
        return self._lazy()

    def read(self) -> Any:
        """The dataset (or DataArray) with all its values in memory."""
        return self._dataset().compute()

    def _grid(self) -> list[tuple[str, list[tuple[int, int]]]]:
        """``[(dim, [(start, stop), ...]), ...]`` for the dims of the chunk grid."""
        lazy = self._lazy()
        sizes = lazy.chunksizes
        grid = []
        for dim in lazy.dims:
            if dim not in sizes:
                continue
            bounds, start = [], 0
            for c in sizes[dim]:
                bounds.append((start, start + c))
                start += c
            grid.append((dim, bounds))
        return grid

    def _get_schema(self) -> Schema:
        lazy = self._lazy()
        grid = self._grid()
        n = 1
        for _dim, bounds in grid:
            n *= len(bounds)
        return Schema(
            dtype=_dtypes(lazy),
            shape=None,
            npartitions=n,
            extra_metadata=describe_dataset(lazy),
        )

    def _block_slices(self, i: int) -> dict[str, slice]:
        grid = self._grid()
        index = []
        for _dim, bounds in reversed(grid):
            i, k = divmod(i, len(bounds))
            index.append(k)
        index.reverse()
        return {dim: slice(*bounds[k]) for (dim, bounds), k in zip(grid, index, strict=True)}

    def read_partition(self, i: Any) -> Any:
        """Block ``i`` (an int, see the module's notes on the order) in memory, or
        with intake-xarray's tuple ``(variable, *block_index)`` one variable's block
        as a NumPy array."""
        if isinstance(i, (tuple, list)) and i and isinstance(i[0], str):
            return self._variable_block(i[0], tuple(i[1:]))
        return super().read_partition(i)

    def _variable_block(self, name: str, index: tuple) -> Any:
        import numpy as np

        lazy = self._lazy()
        if hasattr(lazy, "variables"):
            if name not in lazy.variables:
                raise KeyError(f"no variable {name!r} in {self!r}; it has {sorted(lazy.variables)}")
            data = lazy.variables[name].data
        else:
            data = lazy.data
        if isinstance(data, np.ndarray):
            return data
        return np.asarray(data.blocks[index].compute())

    def _get_partition(self, i: int) -> Any:
        return self._lazy().isel(self._block_slices(i)).compute()

    def read_chunked(self) -> Iterator[Any]:
        """Yield the blocks in partition order (see the module's notes)."""
        for i in range(self.npartitions):
            yield self.read_partition(i)

    def partition_slices(self) -> list[dict[str, slice]]:
        """The slices of every partition, in order."""
        return [self._block_slices(i) for i in range(self.npartitions)]

    def _close(self) -> None:
        for f in self._cache.get("files", ()):
            try:
                f.close()
            except Exception:  # pragma: no cover - best effort
                pass
        ds = self._cache.get("ds")
        if ds is not None:
            try:
                ds.close()
            except Exception:  # pragma: no cover
                pass
        self._cache = {}


def _all_dask(ds: Any) -> bool:
    """Whether every non-index variable is a dask array (``Variable.chunks``, which,
    unlike ``Variable.data``, never loads a lazily opened variable)."""
    variables = ds.variables if hasattr(ds, "variables") else {None: ds.variable}
    indexes = getattr(ds, "xindexes", {})
    return all(v.chunks is not None for k, v in variables.items() if k not in indexes)


def _dtypes(ds: Any) -> Any:
    if hasattr(ds, "data_vars"):
        return {str(k): str(v.dtype) for k, v in ds.data_vars.items()}
    return str(ds.dtype)


def describe_dataset(ds: Any) -> dict:
    """Dims, coords, variables (dims, dtype, shape, chunks) and attributes, from
    metadata only."""
    def var(v: Any) -> dict:
        return {
            "dims": list(v.dims),
            "dtype": str(v.dtype),
            "shape": list(v.shape),
            "chunks": [list(c) for c in v.chunks] if v.chunks is not None else None,
            "attrs": _plain(dict(v.attrs)),
        }

    out: dict = {"dims": {str(k): int(v) for k, v in ds.sizes.items()}}
    if hasattr(ds, "data_vars"):
        out["data_vars"] = {str(k): list(v.coords) for k, v in ds.data_vars.items()}
        out["variables"] = {str(k): var(v.variable) for k, v in ds.data_vars.items()}
    else:
        out["name"] = ds.name
        out["variables"] = {str(ds.name): var(ds.variable)}
    out["coords"] = {str(k): var(v.variable) for k, v in ds.coords.items()}
    out["chunks"] = {str(k): list(v) for k, v in ds.chunksizes.items()}
    out["attrs"] = _plain(dict(ds.attrs))
    return out


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays in attributes as Python numbers and lists (so the
    schema dumps to JSON and YAML)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None and type(value).__module__ == "numpy":
        return _plain(tolist())
    return value


# ---- several files, {pattern} paths -----------------------------------------------------


def open_files(
    urlpath: Any, storage_options: dict | None, path_as_pattern: bool
) -> tuple[list[Any], list[dict], bool, list[Any]]:
    """``(targets, fields, multi, handles)`` for ``urlpath`` (a path, URL, glob, list or
    ``{pattern}``): local paths as strings, remote files as open fsspec file objects
    (``handles``, to close), the pattern's field values of each (empty dicts when
    there is no pattern), and whether several files were meant."""
    from ..._io import has_glob, is_local, strip_file_scheme
    from .._files import expand_paths, is_pattern, match_pattern, pattern_to_glob

    pattern = urlpath if (path_as_pattern and is_pattern(urlpath)) else None
    target = pattern_to_glob(pattern) if pattern else urlpath
    multi = isinstance(urlpath, (list, tuple)) or has_glob(str(target))
    urls = list(urlpath) if isinstance(urlpath, (list, tuple)) else [target]
    local = all(is_local(str(u)) for u in urls)
    if local and not multi:
        path = strip_file_scheme(str(urls[0]))
        fields = match_pattern(strip_file_scheme(pattern), [path]) if pattern else [{}]
        return [path], fields, False, []
    fs, paths = expand_paths(
        [strip_file_scheme(str(u)) if local else str(u) for u in urls], storage_options
    )
    fields = [{}] * len(paths)
    if pattern:
        fields = match_pattern(fs._strip_protocol(pattern), paths)
    if local:
        return paths, fields, multi, []
    handles = [fs.open(p, "rb") for p in paths]
    return handles, fields, multi, handles


#: xarray's long-standing join defaults, which it is changing: pinned so that a
#: catalog written for intake-xarray keeps giving the same dataset.
COMBINE_DEFAULTS = {"data_vars": "all", "coords": "different", "compat": "no_conflicts",
                    "join": "outer"}


def with_combine_defaults(kwargs: dict) -> dict:
    """``kwargs`` with :data:`COMBINE_DEFAULTS` for the keys it does not set."""
    return {**COMBINE_DEFAULTS, **kwargs}


def combine(datasets: list, combine: str | None, concat_dim: Any, kwargs: dict) -> Any:
    """Combine datasets as ``open_mfdataset`` does: ``nested`` along ``concat_dim``
    (the default when ``concat_dim`` is given) or ``by_coords``."""
    import xarray as xr

    how = combine or ("nested" if concat_dim is not None else "by_coords")
    keys = ("compat", "data_vars", "coords", "join", "combine_attrs", "fill_value")
    kw = with_combine_defaults({k: kwargs[k] for k in keys if k in kwargs})
    kw.setdefault("combine_attrs", "override")  # as open_mfdataset: the first file's
    if how == "nested":
        if concat_dim is None:
            raise ValueError("combine='nested' needs concat_dim (the dimension to join along)")
        return xr.combine_nested(datasets, concat_dim=concat_dim, **kw)
    if how == "by_coords":
        return xr.combine_by_coords(datasets, **kw)
    raise ValueError(f"combine must be 'by_coords' or 'nested', got {combine!r}")


def file_chunks(chunks: Any, new_dims: Any) -> Any:
    """``chunks`` for opening one of several files: without the dimensions that only
    the joined dataset has (``concat_dim``, pattern fields)."""
    if not isinstance(chunks, dict):
        return chunks
    new = {new_dims} if isinstance(new_dims, str) else set(new_dims or ())
    return {k: v for k, v in chunks.items() if k not in new}


def add_fields(ds: Any, fields: dict) -> Any:
    """The pattern's fields of a file as scalar coordinates of its dataset."""
    if not fields:
        return ds
    return ds.assign_coords({k: v for k, v in fields.items()})
