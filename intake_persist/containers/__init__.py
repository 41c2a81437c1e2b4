"""Containers: joining partitions, lazy dask collections, and the writers used by
persist and export.

``write(source, url, storage_options=None, progress=None, **kwargs) -> dict``
writes the data of ``source`` under the directory ``url`` in the format for its
container and returns ``{"driver", "args", "size", "npartitions"}``:

=========== ============= ===================================================
container   driver        what is written under ``url``
=========== ============= ===================================================
dataframe   parquet       ``part.00000.parquet``, ... one file per partition
ndarray     ndzarr        a Zarr array (chunks along axis 0 follow partitions)
python      jsonl         ``part.00000.jsonl``, ... one file per partition
xarray      zarr          a consolidated Zarr group, written block by block
catalog     yaml_file_cat ``cat.yaml`` holding every entry of the catalog
=========== ============= ===================================================

``args["urlpath"]`` is exactly ``url`` (the ``jsonl`` and ``parquet`` drivers read
every part file of a directory; for a catalog it is ``url + "/cat.yaml"``), so a
caller can rewrite it into a template; the other args (``storage_options`` when
given, ``encoder``) are relative to nothing.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from typing import Any

WRITERS = {
    "dataframe": "intake_persist.containers.dataframe",
    "ndarray": "intake_persist.containers.ndarray",
    "python": "intake_persist.containers.python",
    "xarray": "intake_persist.containers.xarray",
    "catalog": "intake_persist.containers.catalog",
}


def concat(container: str, parts: Iterable[Any]) -> Any:
    """Join partitions into one object of the container's type."""
    parts = list(parts)
    if container == "dataframe":
        import pandas as pd

        if not parts:
            return pd.DataFrame()
        if len(parts) == 1:
            return parts[0]
        return pd.concat(parts, ignore_index=_range_indexed(parts))
    if container == "ndarray":
        import numpy as np

        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts, axis=0)
    if container == "python":
        return list(itertools.chain.from_iterable(parts))
    raise ValueError(f"cannot concatenate partitions of container {container!r}")


def _range_indexed(parts: list) -> bool:
    import pandas as pd

    return all(isinstance(p.index, pd.RangeIndex) and p.index.name is None for p in parts)


def to_dask(source: Any) -> Any:
    """A dask collection with one chunk per partition of ``source``."""
    container = source.container
    n = source.npartitions
    token = source.token
    if container == "dataframe":
        import dask.dataframe as dd

        meta = dataframe_meta(source)
        return dd.from_map(
            _ReadPartition(source),
            list(range(n)),
            meta=meta,
            label=f"read-{source.name}",
            enforce_metadata=False,
        )
    if container == "ndarray":
        import dask.array as da
        import numpy as np
        from dask import delayed

        rows = partition_rows(source)
        dtype = np.dtype(source.dtype)
        tail = tuple(source.shape[1:]) if source.shape else ()
        name = f"read-{source.name}-{token}"
        arrays = [
            da.from_delayed(
                delayed(source.read_partition, pure=True)(i, dask_key_name=f"{name}-{i}"),
                shape=(r if r is not None else np.nan, *tail),
                dtype=dtype,
            )
            for i, r in enumerate(rows)
        ]
        if len(arrays) == 1:
            return arrays[0]
        return da.concatenate(arrays, axis=0)
    if container == "python":
        import dask.bag as db
        from dask import delayed

        name = f"read-{source.name}-{token}"
        return db.from_delayed(
            [
                delayed(source.read_partition, pure=True)(i, dask_key_name=f"{name}-{i}")
                for i in range(n)
            ]
        )
    raise ValueError(f"no dask collection for container {container!r}")


class _ReadPartition:
    """Picklable callable ``i -> source.read_partition(i)`` (for dask)."""

    def __init__(self, source: Any):
        self.source = source

    def __call__(self, i: int) -> Any:
        return self.source.read_partition(i)

    def __dask_tokenize__(self) -> str:
        return self.source.token


def dataframe_meta(source: Any) -> Any:
    """An empty pandas frame with the source's columns and dtypes (dask's ``meta``)."""
    meta = getattr(source, "_dask_meta", None)
    if meta is not None:
        return meta()
    import pandas as pd

    dtype = source.dtype
    if isinstance(dtype, dict):
        return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in dtype.items()})
    return source.read_partition(0).iloc[:0]


def partition_rows(source: Any) -> list[int | None]:
    """Rows of each partition of an ndarray source, when it can tell without reading."""
    fn = getattr(source, "partition_rows", None)
    if fn is not None:
        return list(fn())
    return [None] * source.npartitions


# ---- writing -------------------------------------------------------------------------


def write(
    source: Any,
    url: str,
    storage_options: dict | None = None,
    progress: Callable[[int, int], Any] | None = None,
    ready: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> dict:
    """Write ``source`` under the directory ``url``, one partition at a time.

    Returns ``{"driver": "parquet"|"ndzarr"|"jsonl"|"zarr", "args": {"urlpath": url, ...},
    "size": bytes_written, "npartitions": n}``. ``progress(done, total)`` is called
    after each partition. With an active ``dask.distributed`` client the
    partitions are read and written by its workers.

    ``ready()``, when given, is called once before anything is written (a store
    claims the copy's place there); a writer that can (``READS_AHEAD``) reads its
    first partition meanwhile, so a slow claim costs no time.
    """
    import importlib

    module = WRITERS.get(source.container)
    if module is None:
        raise ValueError(f"cannot write a source of container {source.container!r}")
    writer = importlib.import_module(module)
    if ready is not None:
        if getattr(writer, "READS_AHEAD", False):
            kwargs["ready"] = ready
        else:
            ready()
    return writer.write(
        source,
        url,
        storage_options=dict(storage_options or {}),
        progress=progress,
        client=get_client(),
        **kwargs,
    )


def get_client() -> Any:
    """The active ``dask.distributed`` client, or None (distributed is never imported here)."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_client as _get_client

        return _get_client()
    except (ValueError, ImportError):
        return None


def run_partitions(
    func: Callable[..., Any],
    source: Any,
    n: int,
    client: Any,
    progress: Callable[[int, int], Any] | None,
    *args: Any,
) -> list[Any]:
    """``[func(source, i, *args) for i in range(n)]`` in order: on the client's
    workers when there is one, else in this process; ``progress`` after each."""
    results: list[Any] = [None] * n
    if client is not None and n > 0:
        from distributed import as_completed

        uid = _uid()
        futures = [
            client.submit(func, source, i, *args, pure=False, key=f"intake-persist-write-{uid}-{i}")
            for i in range(n)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        done = 0
        try:
            for fut in as_completed(futures):
                results[index[fut.key]] = fut.result()
                done += 1
                if progress is not None:
                    progress(done, n)
        finally:
            for f in futures:
                f.release()
        return results
    for i in range(n):
        results[i] = func(source, i, *args)
        if progress is not None:
            progress(i + 1, n)
    return results


def _uid() -> str:
    import uuid

    return uuid.uuid4().hex[:12]


#: fsspec protocols of object stores: keys, no directories to create (s3fs's
#: ``makedirs`` would only ask whether the bucket exists, one request per copy)
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "az"})


def makedirs(url: str, storage_options: dict) -> tuple[Any, str]:
    """``(fs, path)`` for ``url``, the directory created if the filesystem has them."""
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **storage_options)
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if not protocols & OBJECT_STORES:
        fs.makedirs(path, exist_ok=True)
    return fs, path


def disk_usage(url: str, storage_options: dict) -> int:
    """Bytes under ``url`` (0 when nothing is there): the size a writer reports."""
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **storage_options)
    try:
        return int(fs.du(path, total=True))
    except FileNotFoundError:
        return 0
