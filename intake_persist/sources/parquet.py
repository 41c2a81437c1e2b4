"""Parquet as a dataframe: a file, a directory (dataset), a glob or a list.

One partition per file (or per row group with ``split_row_groups=True``), read
with pyarrow. This driver also reads persisted dataframe copies (a directory of
``part.NNNNN.parquet``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from .._io import strip_file_scheme
from ._files import FileSource, as_list, expand_paths, local_files
from .base import Schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SUFFIXES = (".parquet", ".parq", ".pq")


class ParquetSource(FileSource):
    """Parameters: ``urlpath``, ``columns`` (subset to read), ``filters`` (pyarrow
    filter expressions in DNF list form), ``split_row_groups`` (a partition per row
    group instead of per file), ``storage_options``; other keyword arguments go to
    ``pyarrow.parquet.ParquetFile.read`` / ``read_row_group``.

    Hive-style directories (``key=value/``) add their keys as columns.
    """

    container = "dataframe"
    name = "parquet"

    def __init__(
        self,
        urlpath: str | list,
        columns: list | None = None,
        filters: list | None = None,
        split_row_groups: bool = False,
        storage_options: dict | None = None,
        metadata: dict | None = None,
        engine: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        self.columns = list(columns) if columns is not None else None
        self.filters = filters
        self.split_row_groups = bool(split_row_groups)
        self.storage_options = dict(storage_options or {})
        if engine == "fastparquet":
            # intake-parquet catalogs say so; the files are the same Parquet
            import warnings

            warnings.warn(
                f"parquet engine 'fastparquet' asked for {urlpath!r}: reading with pyarrow",
                UserWarning,
                stacklevel=2,
            )
        elif engine not in (None, "pyarrow", "auto"):
            raise ValueError(
                f"parquet engine {engine!r} is not supported for {urlpath!r}; "
                "use 'pyarrow' (or 'fastparquet', read with pyarrow)"
            )
        self.kwargs = kwargs

    def _plan(self) -> dict:
        plan = self._cache.get("plan")
        if plan is not None:
            return plan

        fs: Any = None  # None: local files, opened by pyarrow itself
        paths = local_files(self.urlpath, self.storage_options, _SUFFIXES)
        if paths is None:
            fs, paths = expand_paths(self.urlpath, self.storage_options,
                                     dir_suffixes=_SUFFIXES)
            roots = [fs._strip_protocol(u).rstrip("/") for u in as_list(self.urlpath)]
        else:
            roots = [os.path.abspath(strip_file_scheme(u)).rstrip("/")
                     for u in as_list(self.urlpath)]
        if not paths:
            raise FileNotFoundError(f"no Parquet files under {self.urlpath!r}")
        hive = [_hive_keys(p, roots) for p in paths]
        parts: list[tuple[int, int | None]] = []
        if self.split_row_groups:
            for j, p in enumerate(paths):
                with _parquet_file(fs, p) as pf:
                    nrg = pf.metadata.num_row_groups
                parts.extend((j, g) for g in range(max(nrg, 1)))
        else:
            parts = [(j, None) for j in range(len(paths))]
        plan = {"fs": fs, "paths": paths, "parts": parts, "hive": hive}
        self._cache["plan"] = plan
        return plan

    def _read_columns(self, schema) -> list | None:
        if self.columns is None:
            return None
        return [c for c in self.columns if c in schema.names]

    def read_partition_arrow(self, i: int):
        """Partition ``i`` as a ``pyarrow.Table``."""
        n = self.npartitions
        if not isinstance(i, int) or not 0 <= i < n:
            raise IndexError(f"partition {i!r} out of range: {self!r} has {n} partition(s)")
        plan = self._plan()
        j, group = plan["parts"][i]
        with _parquet_file(plan["fs"], plan["paths"][j]) as pf:
            cols = self._read_columns(pf.schema_arrow)
            if group is None:
                table = pf.read(columns=cols, use_pandas_metadata=True, **self.kwargs)
            elif pf.metadata.num_row_groups == 0:
                table = pf.schema_arrow.empty_table()
            else:
                table = pf.read_row_group(
                    group, columns=cols, use_pandas_metadata=True, **self.kwargs
                )
        table = _add_hive(table, plan["hive"][j], self.columns)
        if self.filters:
            table = _apply_filters(table, self.filters)
        return table

    def _get_partition(self, i: int):
        return self.read_partition_arrow(i).to_pandas()

    @property
    def npartitions(self) -> int:
        """From the file listing alone: no file is opened."""
        return len(self._plan()["parts"])

    def read(self):
        """All partitions joined as Arrow tables and converted to pandas once, which
        saves a copy of the whole frame over joining pandas partitions."""
        import pyarrow as pa

        table = self._read_together()
        if table is not None:
            return _to_pandas(table)
        tables = [self.read_partition_arrow(i) for i in range(self.npartitions)]
        if len(tables) < 2 or not _joinable(tables):
            from ..containers import concat

            return concat(self.container, [t.to_pandas() for t in tables])
        return _to_pandas(pa.concat_tables(tables))

    def _read_together(self):
        """The whole of a local multi-file copy as one Arrow table, its files read
        concurrently as one pyarrow dataset (file by file, a file's columns alone
        cannot keep both cores busy). None where the result could differ from
        joining :meth:`read_partition_arrow`'s tables: row-group partitions, hive
        keys, filters, reader options, remote files, files whose schemas or index
        kinds differ, or a column list pyarrow would resolve otherwise."""
        plan = self._plan()
        paths, fs = plan["paths"], plan["fs"]
        if (len(paths) < 2 or self.split_row_groups or self.filters or self.kwargs
                or any(plan["hive"])
                or (fs is not None and not {"file", "local"} & set(as_list(fs.protocol)))):
            return None
        import pyarrow.dataset as ds
        from pyarrow.fs import LocalFileSystem

        fmt = ds.ParquetFileFormat()
        local = LocalFileSystem()
        fragments = [fmt.make_fragment(p, local) for p in paths]
        schemas = [f.physical_schema for f in fragments]
        first = schemas[0]
        kind = _index_kind(first)
        if not all(s.equals(first, check_metadata=False) and _index_kind(s) == kind
                   for s in schemas[1:]):
            return None
        cols = self._read_columns(first)
        if cols is not None:
            index_cols = _pandas_index_columns(first)
            if (len(set(cols)) != len(cols) or set(cols) & set(index_cols)
                    or not set(index_cols) <= set(first.names)):
                return None
            cols = cols + index_cols
        if len(set(first.names)) != len(first.names):
            return None
        dataset = ds.FileSystemDataset(fragments, first, fmt, local)
        return dataset.to_table(columns=cols)

    def _dask_meta(self):
        meta = self._cache.get("meta")
        if meta is None:
            plan = self._plan()
            with _parquet_file(plan["fs"], plan["paths"][0]) as pf:
                schema = pf.schema_arrow
            cols = self._read_columns(schema)
            empty = schema.empty_table()
            if cols is not None:
                index_cols = _pandas_index_columns(schema)
                empty = empty.select(cols + [c for c in index_cols if c not in cols])
            empty = _add_hive(empty, plan["hive"][0], self.columns)
            meta = empty.to_pandas()
            self._cache["meta"] = meta
        return meta

    def _get_schema(self) -> Schema:
        plan = self._plan()
        meta = self._dask_meta()
        rows = None
        if len(plan["paths"]) <= 64 and not self.filters:
            rows = 0
            for p in plan["paths"]:
                with _parquet_file(plan["fs"], p) as pf:
                    rows += pf.metadata.num_rows
        return Schema(
            dtype={str(k): str(v) for k, v in meta.dtypes.items()},
            shape=(rows, len(meta.columns)),
            npartitions=len(plan["parts"]),
            extra_metadata={"files": len(plan["paths"])},
        )


@contextlib.contextmanager
def _parquet_file(fs: Any, path: str) -> Iterator[Any]:
    """A ``pyarrow.parquet.ParquetFile`` for ``path``, closed on exit. Local files
    (``fs`` None, or fsspec's local filesystem, which pyarrow maps to its own) are
    read by pyarrow natively: no Python file object, no copy of every byte."""
    import pyarrow.parquet as pq

    if fs is None:
        with pq.ParquetFile(path) as pf:
            yield pf
        return
    if {"file", "local"} & set(as_list(fs.protocol)):
        with pq.ParquetFile(path, filesystem=fs) as pf:
            yield pf
        return
    with fs.open(path, "rb") as f:
        yield pq.ParquetFile(f)


def _hive_keys(path: str, roots: list[str]) -> dict:
    root = next((r for r in roots if path.startswith(r + "/")), None)
    if root is None:
        return {}
    out = {}
    for part in path[len(root) + 1 :].split("/")[:-1]:
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def _add_hive(table, keys: dict, columns: list | None):
    import pyarrow as pa

    for k, v in keys.items():
        if k in table.column_names or (columns is not None and k not in columns):
            continue
        table = table.append_column(k, pa.array([v] * table.num_rows, pa.string()))
    return table


def _pandas_index_columns(schema) -> list:
    import json

    md = schema.metadata or {}
    raw = md.get(b"pandas")
    if not raw:
        return []
    return [c for c in json.loads(raw).get("index_columns", []) if isinstance(c, str)]


def _apply_filters(table, filters: list):
    """Filters in pyarrow's DNF form: ``[(col, op, value), ...]`` or a list of such lists."""
    import pyarrow.parquet as pq

    expr = pq.filters_to_expression(filters)
    return table.filter(expr)


def _to_pandas(table):
    """``table`` as a DataFrame; a default index is renumbered over the joined files."""
    df = table.to_pandas()
    if _index_kind(table.schema) == "range":
        import pandas as pd

        df.index = pd.RangeIndex(len(df))
    return df


def _index_kind(schema) -> str | tuple:
    """``"range"`` when pandas would rebuild a default unnamed RangeIndex (so joined
    partitions are renumbered), else the index columns stored in the schema."""
    md = schema.pandas_metadata or {}
    cols = md.get("index_columns", [])
    if all(isinstance(c, dict) and c.get("kind") == "range" and c.get("name") is None
           for c in cols):
        return "range"
    return tuple(c if isinstance(c, str) else repr(sorted(c.items())) for c in cols)


def _joinable(tables: list) -> bool:
    """Same columns and types, and the same kind of index, in every table."""
    first = tables[0].schema
    kind = _index_kind(first)
    return all(t.schema.equals(first, check_metadata=False) and _index_kind(t.schema) == kind
               for t in tables[1:])
