"""xarray writer: a consolidated Zarr group at ``url``, written block by block.

1. The chunk plan: one chunk size per dimension. The source's own chunking (its
   dask chunks, else the chunks stored on disk) is kept when it is regular and
   the biggest variable's chunk holds between ``MIN_BLOCK`` (1 MiB) and
   ``MAX_BLOCK`` (128 MiB); otherwise (tiny chunks, whole arrays, irregular
   chunks) chunks of about ``TARGET_BLOCK`` (32 MiB) are cut along the leading
   dimensions of the biggest variable (whole along the trailing ones), in
   multiples of the source's chunks where it has some. ``chunks={dim: size}``
   given to persist or export overrides the plan.
2. The metadata: the dataset (re-opened with the plan's chunks, so reading a
   block reads only that block of the source) is written with
   ``to_zarr(compute=False)``: attributes, encodings (CF ``units`` and
   ``calendar``, ``_FillValue``, ``missing_value``, ``scale_factor``,
   ``add_offset``, ``dtype``; compression follows Zarr's defaults), index
   coordinates and variables without dimensions, and consolidated metadata.
3. The data: a block is one chunk of one variable (variables in dataset order,
   chunks in C order, see :func:`tasks`); it is read, loaded and written with
   ``to_zarr(region=...)``. Blocks never share a Zarr chunk, so they can be
   written in any order and at once: by the workers of an active
   ``dask.distributed`` client, else one after the other here.
   ``progress(done, total)`` follows each block. Peak memory is a few times one
   block, whatever the number of variables and blocks.

A DataArray is written as a one-variable dataset whose attribute
``_intake_persist_dataarray`` holds ``[name]`` (``[]`` for no name); the
``zarr`` driver gives it back as a DataArray. Variables whose ``_FillValue``,
``scale_factor``... are attributes (the source did not decode them, as
rioxarray does by default) are stored and read back raw.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal, cast

from . import run_partitions

MIN_BLOCK = 1 << 20
TARGET_BLOCK = 32 << 20
MAX_BLOCK = 128 << 20
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
    template = ds.copy()
    for name, var in ds.variables.items():
        if name not in ds.xindexes and not _written_in_blocks(var):
            template[name] = template[name].load()
    template.to_zarr(
        **_where(url, storage_options),
        mode="w-",
        compute=False,
        consolidated=True,
        zarr_format=zarr_format,
    )
    n = len(tasks(ds, plan))
    run_partitions(
        write_block, source, n, client, progress, url, storage_options, plan, zarr_format
    )
    args: dict = {"urlpath": url, "consolidated": True}
    raw = sorted(str(k) for k in undecoded(ds))
    if raw:  # read back as the source gave them: values not masked or scaled
        args["mask_and_scale"] = {k: False for k in raw}
    if storage_options:
        args["storage_options"] = storage_options
    from . import disk_usage

    return {
        "driver": "zarr",
        "args": args,
        "size": disk_usage(url, storage_options),
        "npartitions": _copy_partitions(ds, plan),
    }


def _copy_partitions(ds: Any, plan: dict[str, int]) -> int:
    """Partitions of the copy as the ``zarr`` driver counts them: blocks of the grid
    over the chunked dimensions."""
    dims = {d for v in ds.variables.values() if _written_in_blocks(v) for d in v.dims}
    return math.prod(-(-int(ds.sizes[d]) // plan[d]) for d in dims) if dims else 1


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
    """Bytes of the biggest chunk of any variable under ``plan`` (what one block,
    a chunk of one variable, holds in memory)."""
    most = 0
    for var in ds.variables.values():
        if var.dims:
            size = math.prod(min(plan[d], ds.sizes[d]) for d in var.dims) * var.dtype.itemsize
            most = max(most, size)
    return most


def plan_chunks(source: Any, chunks: dict | None = None) -> dict[str, int]:
    """One chunk size per dimension for the copy (see the module's notes)."""

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
        plan = _auto_plan(ds, sizes, given)
    for d, c in (chunks or {}).items():
        plan[d] = c
    return {d: min(c, max(sizes[d], 1)) for d, c in plan.items()}


def _auto_plan(ds: Any, sizes: dict, given: dict) -> dict[str, int]:
    """Chunks of about ``TARGET_BLOCK`` bytes for the biggest variable: whole along
    its trailing dimensions, cut along the leading ones (``time`` first, in the
    usual layout), in multiples of the source's chunks where it has some."""
    plan = {d: max(s, 1) for d, s in sizes.items()}
    data = [v for v in ds.variables.values() if v.dims]
    if not data:
        return plan
    big = max(data, key=lambda v: v.size * v.dtype.itemsize)
    order = list(big.dims) + [d for d in sizes if d not in big.dims]
    for d in order:
        if _block_bytes(ds, plan) <= TARGET_BLOCK:
            break
        per = max(_block_bytes(ds, {**plan, d: 1}), 1)  # one step along d
        c = max(1, TARGET_BLOCK // per)
        prev = (given.get(d) or (0,))[0]
        if prev and c > prev:
            c = (c // prev) * prev
        plan[d] = int(min(c, plan[d]))
    return plan


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


def _written_in_blocks(var: Any) -> bool:
    return var.chunks is not None and len(var.dims) > 0


def tasks(ds: Any, plan: dict[str, int]) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """``[(variable, {dim: (start, stop)}), ...]``: every chunk of every variable
    written in blocks (index coordinates and variables without dimensions go
    with the metadata), variables in dataset order, chunks in C order."""
    out = []
    for name, var in ds.variables.items():
        if name in ds.xindexes or not _written_in_blocks(var):
            continue
        axes = []
        for d in var.dims:
            size, step = int(ds.sizes[d]), plan[d]
            axes.append([(d, (s, min(s + step, size))) for s in range(0, size, step)])
        for combo in itertools.product(*axes):
            out.append((str(name), dict(combo)))
    return out


def write_block(
    source: Any, i: int, url: str, storage_options: dict, plan: dict, zarr_format: Literal[2, 3]
) -> int:
    """Read block ``i`` (one chunk of one variable) and write it into the Zarr group."""
    import dask
    import xarray as xr

    ds = target(source, plan)
    name, where = tasks(ds, plan)[i]
    var = ds.variables[name]
    piece = var.isel({d: slice(*where[d]) for d in var.dims})
    piece.attrs = {}  # attributes went with the metadata; values are encoded as stored
    with dask.config.set(scheduler="synchronous"):
        piece = piece.load()
    nbytes = int(piece.nbytes)
    if name in undecoded(ds):  # values as they are: straight into the Zarr array
        import numpy as np
        import zarr

        group = zarr.open_group(**_where(url, storage_options), mode="r+",
                                zarr_format=zarr_format)
        array = cast("zarr.Array", group[name])  # a variable: an array, not a group
        array[tuple(slice(*where[d]) for d in var.dims)] = np.asarray(piece.values)
    else:
        xr.Dataset({name: piece}).to_zarr(
            **_where(url, storage_options),
            region={d: slice(*where[d]) for d in var.dims},
            mode="r+",
            consolidated=False,
            zarr_format=zarr_format,
        )
    del piece
    _trim()
    return nbytes


def _trim() -> None:
    """Hand the freed memory of a block back to the system (glibc keeps large freed
    blocks in its heaps once its mmap threshold has grown), so that the peak stays
    about one block whatever the number of blocks. Elsewhere: nothing."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl...)
        pass
