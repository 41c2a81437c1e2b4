"""xarray writer: a consolidated Zarr group at ``url``, written block by block.

1. The chunk plan: one chunk size per dimension. The source's own chunking (its
   dask chunks, else the chunks stored on disk) is kept when it is regular and a
   block of every variable together holds between ``MIN_BLOCK`` and
   ``MAX_BLOCK`` bytes; otherwise (tiny chunks, whole arrays, irregular chunks)
   the dimensions are chunked to blocks of about ``TARGET_BLOCK`` bytes with
   dask's ``auto`` rule, in multiples of the source's chunks where it can.
   ``chunks={dim: size}`` given to persist or export overrides the plan.
2. The metadata: the dataset (re-opened with the plan's chunks, so reading a
   block reads only that block of the source) is written with
   ``to_zarr(compute=False)``: attributes, encodings (CF ``units`` and
   ``calendar``, ``_FillValue``, ``missing_value``, ``scale_factor``,
   ``add_offset``, ``dtype``; compression follows Zarr's defaults), index
   coordinates and variables without a chunked dimension, and consolidated
   metadata.
3. The data: block ``i`` of the plan's grid (numbered in C order) is read,
   loaded and written with ``to_zarr(region=...)``. A variable lacking one of
   the grid's dimensions is written by the blocks at index 0 along it only, and
   blocks never share a Zarr chunk, so blocks can be written in any order and
   at once: by the workers of an active ``dask.distributed`` client, else one
   after the other here. ``progress(done, total)`` follows each block. Peak
   memory is about one block.

A DataArray is written as a one-variable dataset whose attribute
``_intake_persist_dataarray`` holds ``[name]`` (``[]`` for no name); the
``zarr`` driver gives it back as a DataArray.
"""

from __future__ import annotations

import math
from typing import Any

from . import run_partitions

MIN_BLOCK = 1 << 20
TARGET_BLOCK = 64 << 20
MAX_BLOCK = 256 << 20
KEEP_ENCODING = (
    "dtype",
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
    "units",
    "calendar",
)

MASK_AND_SCALE = ("_FillValue", "missing_value", "scale_factor", "add_offset")


def write(
    source: Any,
    url: str,
    storage_options: dict,
    progress: Any = None,
    client: Any = None,
    chunks: dict | None = None,
    zarr_format: int = 2,
    **kwargs: Any,
) -> dict:
    if kwargs:
        raise TypeError(
            f"unknown argument(s) for writing an xarray source: {', '.join(sorted(kwargs))}; "
            "the xarray writer takes chunks= and zarr_format="
        )
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
    plan = plan_chunks(source, chunks)
    ds = target(source, plan)
    grid = _grid(ds, plan)
    template = ds.copy()
    gdims = {d for d, _ in grid}
    for name, var in ds.variables.items():
        if not set(var.dims) & gdims:
            template[name] = template[name].load()
    template.to_zarr(
        **_where(url, storage_options),
        mode="w-",
        compute=False,
        consolidated=True,
        zarr_format=zarr_format,
    )
    n = math.prod(len(b) for _, b in grid) if grid else 0
    run_partitions(
        write_block, source, n, client, progress, url, storage_options, plan, zarr_format
    )
    args: dict = {"urlpath": url, "consolidated": True}
    raw = sorted(str(k) for k in undecoded(ds))
    if raw:  # read back as the source gave them: values not masked or scaled
        args["mask_and_scale"] = {k: False for k in raw}
    if storage_options:
        args["storage_options"] = storage_options
    from .ndarray import _du

    return {
        "driver": "zarr",
        "args": args,
        "size": _du(url, storage_options),
        "npartitions": n,
    }


def _where(url: str, storage_options: dict) -> dict:
    from .._io import is_local, strip_file_scheme

    if is_local(url):
        return {"store": strip_file_scheme(url)}
    return {"store": url, "storage_options": storage_options or None}


# ---- the plan ---------------------------------------------------------------------------


def _as_dataset(obj: Any) -> Any:
    if hasattr(obj, "data_vars"):
        return obj
    from ..sources.xr.base import DATAARRAY_ATTR, UNNAMED

    name = obj.name
    ds = obj.to_dataset(name=name if name is not None else UNNAMED)
    ds.attrs[DATAARRAY_ATTR] = [name] if name is not None else []
    return ds


def _opened(source: Any) -> Any:
    """The source's dataset as opened by it (lazily), as a Dataset."""
    ds = source._dataset() if hasattr(source, "_dataset") else source.to_dask()
    return _as_dataset(ds)


def _source_chunks(ds: Any) -> dict[str, tuple[int, ...]]:
    """Chunks along each dimension: dask chunks where a variable has them, else the
    chunks stored on disk (``preferred_chunks`` of the encoding)."""
    out: dict[str, tuple[int, ...]] = {}
    for var in ds.variables.values():
        if var.chunks is not None:
            for d, c in zip(var.dims, var.chunks, strict=True):
                out.setdefault(d, tuple(int(x) for x in c))
    for var in ds.variables.values():
        pref = var.encoding.get("preferred_chunks") or {}
        for d, c in pref.items():
            if d in out or d not in ds.sizes:
                continue
            size = int(ds.sizes[d])
            if isinstance(c, int):
                c = max(int(c), 1)
                out[d] = tuple([c] * (size // c) + ([size % c] if size % c else []))
            else:
                out[d] = tuple(int(x) for x in c)
    return out


def _regular(chunks: tuple[int, ...]) -> bool:
    return all(c == chunks[0] for c in chunks[:-1]) and chunks[-1] <= chunks[0]


def _block_bytes(ds: Any, plan: dict[str, int]) -> int:
    total = 0
    for var in ds.variables.values():
        if not var.dims:
            continue
        total += math.prod(min(plan[d], ds.sizes[d]) for d in var.dims) * var.dtype.itemsize
    return total


def plan_chunks(source: Any, chunks: dict | None = None) -> dict[str, int]:
    """One chunk size per dimension for the copy (see the module's notes)."""
    import dask.array as da
    import numpy as np

    ds = _opened(source)
    sizes = {str(d): int(s) for d, s in ds.sizes.items()}
    if chunks is not None:
        if not isinstance(chunks, dict):
            raise ValueError(f"chunks must be a mapping of dimension to size, got {chunks!r}")
        for d, c in chunks.items():
            if d not in sizes:
                raise ValueError(f"chunks names {d!r}, which is not a dimension: {sorted(sizes)}")
            if not isinstance(c, int) or isinstance(c, bool) or c < 1:
                raise ValueError(f"chunks[{d!r}] must be a positive integer, got {c!r}")
    given = _source_chunks(ds)
    plan = {d: max(s, 1) for d, s in sizes.items()}
    keep = True
    for d in sizes:
        c = given.get(d)
        if c is not None and sizes[d]:
            if not _regular(c):
                keep = False
            plan[d] = max(c[0], 1)
    block = _block_bytes(ds, plan)
    whole = _block_bytes(ds, {d: max(s, 1) for d, s in sizes.items()})
    if block > MAX_BLOCK or (block < MIN_BLOCK and whole > block):
        keep = False
    if not keep:
        data = [v for v in ds.variables.values() if v.dims]
        if data:
            big = max(data, key=lambda v: v.size * v.dtype.itemsize)
            share = _block_bytes(ds, plan) / max(
                math.prod(min(plan[d], sizes[d]) for d in big.dims) * big.dtype.itemsize, 1
            )
            limit = max(int(TARGET_BLOCK / max(share, 1.0)), big.dtype.itemsize)
            prev = tuple(min(plan[d], sizes[d]) for d in big.dims)
            auto = da.core.normalize_chunks(
                ("auto",) * len(big.dims),
                shape=tuple(sizes[d] for d in big.dims),
                limit=limit,
                dtype=np.dtype(big.dtype) if big.dtype != object else np.dtype("O"),
                previous_chunks=prev,
            )
            for d, c in zip(big.dims, auto, strict=True):
                plan[d] = max(int(c[0]), 1)
            for d in sizes:  # dims the biggest variable lacks: not larger than the target
                if d not in big.dims and _block_bytes(ds, plan) > MAX_BLOCK:
                    plan[d] = max(1, plan[d] // 2)
    for d, c in (chunks or {}).items():
        plan[d] = c
    return {d: min(c, max(sizes[d], 1)) for d, c in plan.items()}


# ---- the dataset as written ------------------------------------------------------------


def target(source: Any, plan: dict[str, int]) -> Any:
    """The source's dataset re-opened with the plan's chunks, encodings cleaned (cached)."""
    key = ("xarray-write", tuple(sorted(plan.items())))
    cache = getattr(source, "_cache", None)
    if cache is not None and key in cache:
        return cache[key]
    opener = getattr(source, "_open", None)
    ds = opener(dict(plan)) if opener is not None else source.to_dask()
    ds = _as_dataset(ds)
    ds = ds.chunk({d: plan[d] for d in ds.dims if d in plan})
    raw = undecoded(ds)
    for name, var in ds.variables.items():
        enc = {k: var.encoding[k] for k in KEEP_ENCODING if k in var.encoding}
        if name in raw:  # the attributes say it: the values are stored as they are
            enc = {k: v for k, v in enc.items() if k not in MASK_AND_SCALE}
        if var.chunks is not None and name not in ds.xindexes:
            enc["chunks"] = tuple(min(plan[d], ds.sizes[d]) or 1 for d in var.dims)
        var.encoding = enc
    if cache is not None:
        cache[key] = ds
    return ds


def undecoded(ds: Any) -> set:
    """Variables whose ``_FillValue``/``scale_factor``/... are attributes, not
    encodings: the source did not mask and scale them (rioxarray's default), and
    the copy keeps them so."""
    return {k for k, v in ds.variables.items() if set(v.attrs) & set(MASK_AND_SCALE)}


def _grid(ds: Any, plan: dict[str, int]) -> list[tuple[str, list[tuple[int, int]]]]:
    grid = []
    for d in ds.dims:
        size = int(ds.sizes[d])
        if size == 0:
            continue
        step = plan[d]
        grid.append((d, [(s, min(s + step, size)) for s in range(0, size, step)]))
    return grid


def block(grid: list, i: int) -> dict[str, tuple[int, tuple[int, int]]]:
    """``{dim: (block_index, (start, stop))}`` of block ``i`` (C order)."""
    out = {}
    for d, bounds in reversed(grid):
        i, k = divmod(i, len(bounds))
        out[d] = (k, bounds[k])
    return out


def write_block(
    source: Any, i: int, url: str, storage_options: dict, plan: dict, zarr_format: int
) -> int:
    """Read block ``i`` of the plan's grid and write it into the Zarr group at ``url``."""
    import dask
    import xarray as xr

    ds = target(source, plan)
    grid = _grid(ds, plan)
    where = block(grid, i)
    gdims = set(where)
    owned = {}
    for name, var in ds.variables.items():
        dims = set(var.dims)
        if name in ds.xindexes or not dims & gdims:
            continue  # written with the metadata
        if any(where[d][0] != 0 for d in gdims - dims):
            continue  # written by the block at index 0 along that dimension
        piece = var.isel({d: slice(*where[d][1]) for d in var.dims if d in where})
        piece.attrs = {}  # attributes went with the metadata; values are encoded as stored
        owned[name] = piece
    if not owned:
        return 0
    sub = xr.Dataset(owned)
    with dask.config.set(scheduler="synchronous"):
        sub = sub.load()
    raw = undecoded(ds) & set(owned)
    if raw:  # values as they are: straight into the Zarr arrays
        import numpy as np
        import zarr

        group = zarr.open_group(**_where(url, storage_options), mode="r+",
                                zarr_format=zarr_format)
        for name in raw:
            var = sub.variables[name]
            key = tuple(slice(*where[d][1]) for d in var.dims)
            group[str(name)][key] = np.asarray(var.values)
    rest = sub.drop_vars(list(raw))
    if rest.variables:
        region = {d: slice(*where[d][1]) for d in rest.dims}
        rest.to_zarr(
            **_where(url, storage_options),
            region=region,
            mode="r+",
            consolidated=False,
            zarr_format=zarr_format,
        )
    return int(sub.nbytes)
