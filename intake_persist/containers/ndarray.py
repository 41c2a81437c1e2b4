"""ndarray writer: one Zarr array at ``url``, written partition by partition.

When the partitions have known, regular lengths (all equal but a shorter last one)
the Zarr chunks along axis 0 are the partitions, so partitions can be written
independently (by dask workers). Otherwise the array is written in order by
the caller, appending when the total length is not known in advance.
"""

from __future__ import annotations

from typing import Any

from . import disk_usage, partition_rows, run_partitions


def open_zarr(url: str, storage_options: dict, mode: str, **kwargs: Any):
    """Open the array (``mode`` "r+"), or create it where none is (``mode`` "w", ``kwargs``
    go to ``zarr.create_array``: compressors, filters, zarr_format...)."""
    import zarr

    from .._io import is_local, strip_file_scheme

    local = is_local(url)
    store = strip_file_scheme(url) if local else url
    so: dict[str, Any] = {} if local else {"storage_options": storage_options}
    if mode == "w":  # never overwrite: writers only create arrays in folders of their own
        return zarr.create_array(store, overwrite=False, **so, **kwargs)
    return zarr.open_array(store=store, mode=mode, **so, **kwargs)


def write_partition(source: Any, i: int, url: str, storage_options: dict, start: int) -> int:
    import numpy as np

    part = np.asarray(source.read_partition(i))
    arr = open_zarr(url, storage_options, "r+")
    arr[start : start + part.shape[0]] = part
    return part.nbytes


def write(
    source: Any,
    url: str,
    storage_options: dict,
    progress: Any = None,
    client: Any = None,
    **kwargs: Any,
) -> dict:
    import numpy as np

    n = source.npartitions
    shape = source.shape
    dtype = np.dtype(source.dtype) if source.dtype is not None else None
    rows = partition_rows(source)
    known = (
        shape is not None
        and dtype is not None
        and all(s is not None for s in shape)
        and all(r is not None for r in rows)
        and (len(shape) == 0 or sum(r or 0 for r in rows) == shape[0])
    )
    if known and len(shape) == 0:
        arr = open_zarr(url, storage_options, "w", shape=(), dtype=dtype, **kwargs)
        arr[()] = np.asarray(source.read_partition(0))
        if progress is not None:
            progress(1, 1)
    elif known:
        tail = tuple(shape[1:])
        sizes = [r for r in rows if r is not None]  # all of them: known
        regular = all(r == sizes[0] for r in sizes[:-1]) and sizes[-1] <= sizes[0]
        chunk0 = max(max(sizes, default=1), 1)
        open_zarr(
            url,
            storage_options,
            "w",
            shape=tuple(shape),
            chunks=(chunk0, *tail),
            dtype=dtype,
            **kwargs,
        )
        starts = [int(s) for s in np.cumsum([0, *sizes[:-1]])] if sizes else []
        if regular:
            run_partitions(_write_at, source, n, client, progress, url, storage_options, starts)
        else:  # chunks straddle partitions: write in order, here
            run_partitions(_write_at, source, n, None, progress, url, storage_options, starts)
    else:
        _append_all(source, n, url, storage_options, progress, kwargs)
    return {
        "driver": "ndzarr",
        "args": _args(url, storage_options),
        "size": disk_usage(url, storage_options),
        "npartitions": n,
    }


def _write_at(source: Any, i: int, url: str, storage_options: dict, starts: list) -> int:
    return write_partition(source, i, url, storage_options, starts[i])


def _append_all(source, n, url, storage_options, progress, kwargs) -> None:
    import numpy as np

    arr = None
    for i in range(n):
        part = np.asarray(source.read_partition(i))
        if arr is None:
            arr = open_zarr(
                url,
                storage_options,
                "w",
                shape=(0, *part.shape[1:]),
                chunks=(max(part.shape[0], 1), *part.shape[1:]),
                dtype=part.dtype,
                **kwargs,
            )
        arr.append(part, axis=0)
        if progress is not None:
            progress(i + 1, n)
    if arr is None:
        raise ValueError("cannot write an ndarray source without partitions")


def _args(url: str, storage_options: dict) -> dict:
    args: dict = {"urlpath": url}
    if storage_options:
        args["storage_options"] = storage_options
    return args

