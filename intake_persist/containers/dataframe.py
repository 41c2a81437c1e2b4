"""Dataframe writer: a Parquet dataset, one ``part.NNNNN.parquet`` file per partition."""

from __future__ import annotations

from typing import Any

from .._io import join
from . import makedirs, run_partitions


def part_name(i: int) -> str:
    return f"part.{i:05d}.parquet"


def _to_table(source: Any, i: int):
    fast = getattr(source, "read_partition_arrow", None)
    if fast is not None:
        return fast(i)
    import pyarrow as pa

    return pa.Table.from_pandas(source.read_partition(i), preserve_index=None)


#: rows of a partition looked at to tell columns with few distinct values from the
#: others, for which Parquet's dictionary encoding is tried, outgrows its page and
#: is dropped: time spent for nothing (a third of the writing for IDs or timestamps)
DICTIONARY_SAMPLE = 10_000


def dictionary_columns(table: Any) -> list[str] | bool:
    """The columns worth dictionary-encoding (``use_dictionary`` of ``write_table``):
    those of at most one distinct value per two rows in a sample, and dictionary
    (categorical) ones. True, pyarrow's default (all), for small or nested tables."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = table.column_names
    if table.num_rows < DICTIONARY_SAMPLE or len(set(names)) != len(names):
        return True
    sample = table.slice(0, DICTIONARY_SAMPLE)
    chosen = []
    try:
        for name, col in zip(names, sample.columns, strict=True):
            if pa.types.is_nested(col.type):
                return True
            if (pa.types.is_dictionary(col.type)
                    or pc.count_distinct(col, mode="all").as_py() * 2 <= len(col)):
                chosen.append(name)
    except pa.ArrowException:  # a type count_distinct does not take
        return True
    return chosen


def _write_table(table: Any, i: int, path: str, fs: Any, kwargs: dict) -> int:
    import pyarrow.parquet as pq

    if "use_dictionary" not in kwargs:
        kwargs = {**kwargs, "use_dictionary": dictionary_columns(table)}
    with fs.open(join(path, part_name(i)), "wb") as f:
        pq.write_table(table, f, **kwargs)
        return f.tell()


def write_partition(source: Any, i: int, path: str, fs: Any, kwargs: dict) -> int:
    """Read partition ``i`` and write it to ``path/part.i.parquet``; the bytes written."""
    return _write_table(_to_table(source, i), i, path, fs, kwargs)


#: ``write`` takes ``ready`` and reads the first partition while it runs
READS_AHEAD = True


def write(
    source: Any,
    url: str,
    storage_options: dict,
    progress: Any = None,
    client: Any = None,
    ready: Any = None,
    **kwargs: Any,
) -> dict:
    n = source.npartitions
    if client is not None or n == 0:
        if ready is not None:
            ready()
        fs, path = makedirs(url, storage_options)
        sizes = run_partitions(write_partition, source, n, client, progress, path, fs, kwargs)
    else:
        sizes = _pipelined(source, n, url, storage_options, kwargs, progress, ready)
    args: dict = {"urlpath": url}
    if storage_options:
        args["storage_options"] = storage_options
    return {"driver": "parquet", "args": args, "size": int(sum(sizes)), "npartitions": n}


def _pipelined(source: Any, n: int, url: str, storage_options: dict, kwargs: dict,
               progress: Any, ready: Any) -> list[int]:
    """Read partition i+1 in a helper thread while partition i is written: at most two
    partitions in memory, and parsing overlaps Parquet encoding (and the first
    partition's parsing overlaps ``ready()``)."""
    from concurrent.futures import ThreadPoolExecutor

    sizes = []
    with ThreadPoolExecutor(1, thread_name_prefix="intake-persist-read") as ex:
        fut = ex.submit(_to_table, source, 0)
        try:
            if ready is not None:
                ready()
            fs, path = makedirs(url, storage_options)
            for i in range(n):
                table = fut.result()
                if i + 1 < n:
                    fut = ex.submit(_to_table, source, i + 1)
                sizes.append(_write_table(table, i, path, fs, kwargs))
                del table
                if progress is not None:
                    progress(i + 1, n)
        except BaseException:
            fut.cancel()
            raise
    return sizes
