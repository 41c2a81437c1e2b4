"""CSV files as a dataframe, partitioned in byte blocks aligned on line ends.

Blocks are parsed with ``pyarrow.csv`` when the ``csv_kwargs`` allow it (the usual
case) and with pandas' C parser otherwise. Only the head of the first file is
read by ``discover()``.
"""

from __future__ import annotations

import io
from typing import Any

from ._files import (
    FileSource,
    expand_paths,
    is_pattern,
    match_pattern,
    pattern_fields,
    pattern_to_glob,
)
from .base import Schema

DEFAULT_BLOCKSIZE = 64 * 2**20
HEAD_BYTES = 256 * 2**10

# csv_kwargs that the pyarrow path understands (others make it fall back to pandas)
_ARROW_OK = {
    "sep",
    "delimiter",
    "header",
    "names",
    "usecols",
    "dtype",
    "parse_dates",
    "skiprows",
    "na_values",
    "keep_default_na",
    "quotechar",
    "doublequote",
    "escapechar",
    "encoding",
    "compression",
    "low_memory",
    "skip_blank_lines",
    "true_values",
    "false_values",
    "engine",
}
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_bytes(value: Any) -> int | None:
    """``64 * 2**20``, ``"64MiB"``, ``"64 MB"`` or None."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip().lower().replace(" ", "")
    text = text.removesuffix("ib").removesuffix("b")
    num = text.rstrip("kmgt")
    unit = text[len(num) :]
    if unit not in _UNITS:
        raise ValueError(f"cannot parse a byte size from {value!r}")
    return int(float(num or 1) * _UNITS[unit])


class CSVSource(FileSource):
    """One or more CSV files (a path, a glob, a list, or a ``{field}`` pattern).

    Parameters
    ----------
    urlpath : str or list
        Local path or fsspec URL; globs allowed. With ``{field}`` or
        ``{field:format}`` parts (and ``path_as_pattern`` true, the default) the
        fields become columns: ``{year:d}`` int, ``{x:f}`` float,
        ``{date:%Y%m%d}`` datetime, anything else a string.
    csv_kwargs : dict
        Keyword arguments in the style of ``pandas.read_csv``.
    blocksize : int, str or None
        Bytes per partition (default 64 MiB); None gives one partition per file.
        Compressed files are always one partition each.
    storage_options : dict
        Passed to fsspec.
    path_as_pattern : bool or str
        Use the urlpath as a pattern (default: when it has fields), or give the
        pattern here as a string.
    """

    container = "dataframe"
    name = "csv"

    def __init__(
        self,
        urlpath: str | list,
        csv_kwargs: dict | None = None,
        blocksize: int | str | None = DEFAULT_BLOCKSIZE,
        storage_options: dict | None = None,
        path_as_pattern: bool | str | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        self.urlpath = urlpath
        kw = dict(csv_kwargs or {})
        kw.update(kwargs)
        if "blocksize" in kw:  # intake 0.x passed it to dask inside csv_kwargs
            blocksize = kw.pop("blocksize")
        self.csv_kwargs = kw
        self.blocksize = parse_bytes(blocksize)
        self.storage_options = dict(storage_options or {})
        if path_as_pattern is None:
            path_as_pattern = is_pattern(urlpath)
        if isinstance(path_as_pattern, str):
            self.pattern: str | None = path_as_pattern
        elif path_as_pattern and is_pattern(urlpath):
            self.pattern = urlpath  # type: ignore[assignment]
        else:
            self.pattern = None

    # ---- planning -----------------------------------------------------------------
    def _plan(self) -> dict:
        plan = self._cache.get("plan")
        if plan is not None:
            return plan
        from fsspec.utils import infer_compression

        urlpath = self.urlpath
        if self.pattern is not None and isinstance(urlpath, str) and is_pattern(urlpath):
            urlpath = pattern_to_glob(urlpath)
        fs, paths = expand_paths(urlpath, self.storage_options)
        fields: list[dict] = [{} for _ in paths]
        if self.pattern is not None:
            pat = fs._strip_protocol(self.pattern)
            fields = match_pattern(pat, paths)
        comp_arg = self.csv_kwargs.get("compression", "infer")
        compressions = [infer_compression(p) if comp_arg == "infer" else comp_arg for p in paths]
        kw = self.csv_kwargs
        whole_files = (
            self.blocksize is None
            or kw.get("nrows") is not None
            or kw.get("skipfooter")
            or not (kw.get("skiprows") is None or isinstance(kw.get("skiprows"), int))
            or isinstance(kw.get("header"), (list, tuple))
            or (kw.get("comment") is not None and kw.get("skiprows"))
            or kw.get("lineterminator") not in (None, "\n")
        )
        blocks: list[tuple[int, int, int | None]] = []
        for j, p in enumerate(paths):
            if whole_files or compressions[j]:
                blocks.append((j, 0, None))
                continue
            size = fs.size(p)
            bs = self.blocksize
            assert bs is not None  # no blocksize: whole_files
            offsets = list(range(0, max(size, 1), bs))
            blocks.extend((j, off, bs) for off in offsets)
        plan = {
            "fs": fs,
            "paths": paths,
            "fields": fields,
            "compressions": compressions,
            "blocks": blocks,
            "arrow": self._arrow_ok(),
        }
        self._cache["plan"] = plan
        return plan

    def _arrow_ok(self) -> bool:
        kw = self.csv_kwargs
        if kw.get("engine") not in (None, "pyarrow"):
            return False
        if not set(kw) <= _ARROW_OK:
            return False
        sep = kw.get("sep", kw.get("delimiter", ","))
        if not isinstance(sep, str) or len(sep) != 1:
            return False
        header = kw.get("header", "infer")
        names = kw.get("names")
        if header not in ("infer", None) and not isinstance(header, int):
            return False
        if header is None and names is None:
            return False  # pandas numbers the columns 0, 1, ...
        usecols = kw.get("usecols")
        if usecols is not None and not all(isinstance(c, str) for c in usecols):
            return False
        pd_ = kw.get("parse_dates")
        if pd_ not in (None, False) and not (
            isinstance(pd_, (list, tuple)) and all(isinstance(c, str) for c in pd_)
        ):
            return False
        dtype = kw.get("dtype")
        if dtype is not None and not isinstance(dtype, dict):
            return False
        if dtype is not None:
            try:
                for v in dtype.values():
                    _arrow_type(v)
            except (TypeError, ValueError):
                return False
        if not kw.get("skip_blank_lines", True):
            return False
        na = kw.get("na_values")
        if isinstance(na, dict):
            return False
        return True

    # ---- raw bytes --------------------------------------------------------------------
    def _open(self, j: int):
        plan = self._plan()
        fs = plan["fs"]
        f = fs.open(plan["paths"][j], "rb")
        comp = plan["compressions"][j]
        if comp:
            from fsspec.compression import compr

            return compr[comp](f, mode="rb")
        return f

    def _block_bytes(self, i: int) -> bytes:
        from fsspec.utils import read_block

        j, offset, length = self._plan()["blocks"][i]
        with self._open(j) as f:
            if length is None:
                return f.read()
            return read_block(f, offset, length, delimiter=b"\n")

    def _head_bytes(self, j: int = 0) -> bytes:
        """The first lines of file ``j`` (whole lines, about HEAD_BYTES)."""
        skip = self.csv_kwargs.get("skiprows")
        need = (skip if isinstance(skip, int) else 0) + 2
        data = b""
        with self._open(j) as f:
            while True:
                more = f.read(HEAD_BYTES)
                if not more:
                    return data
                data += more
                if data.count(b"\n") >= need:
                    break
        return data[: data.rindex(b"\n") + 1]

    # ---- pyarrow parsing ------------------------------------------------------------
    def _arrow_options(self, first: bool, file_names: list[str] | None, column_types=None):
        import pyarrow.csv as pc

        kw = self.csv_kwargs
        sep = kw.get("sep", kw.get("delimiter", ","))
        skip = kw.get("skiprows") or 0
        header = kw.get("header", "infer")
        names = kw.get("names")
        ro: dict = {"use_threads": True, "block_size": 4 * 2**20}
        if kw.get("encoding"):
            ro["encoding"] = kw["encoding"]
        if first:
            if names is not None:
                ro["column_names"] = list(names)
                ro["skip_rows"] = skip + (0 if header in ("infer", None) else header + 1)
            else:
                ro["skip_rows"] = skip + (0 if header == "infer" else header)
        else:
            if file_names is None:
                raise RuntimeError("column names of the file are unknown")
            ro["column_names"] = list(file_names)
        po: dict = {"delimiter": sep, "newlines_in_values": False}
        if "quotechar" in kw:
            po["quote_char"] = kw["quotechar"] or False
        if "doublequote" in kw:
            po["double_quote"] = bool(kw["doublequote"])
        if kw.get("escapechar"):
            po["escape_char"] = kw["escapechar"]
        co: dict = {"strings_can_be_null": True, "quoted_strings_can_be_null": True}
        if kw.get("usecols") is not None:
            co["include_columns"] = list(kw["usecols"])
        na = kw.get("na_values")
        if na is not None or kw.get("keep_default_na") is False:
            vals = [na] if isinstance(na, str) else list(na or [])
            if kw.get("keep_default_na", True):
                vals += list(pc.ConvertOptions().null_values)
            co["null_values"] = vals
        if kw.get("true_values"):
            co["true_values"] = list(kw["true_values"]) + ["true", "True", "TRUE"]
        if kw.get("false_values"):
            co["false_values"] = list(kw["false_values"]) + ["false", "False", "FALSE"]
        if column_types:
            co["column_types"] = column_types
        return pc.ReadOptions(**ro), pc.ParseOptions(**po), pc.ConvertOptions(**co)

    def _arrow_head(self) -> dict:
        """Parse the head once: file column names, forced column types, arrow schema."""
        head = self._cache.get("arrow_head")
        if head is not None:
            return head
        import pyarrow as pa
        import pyarrow.csv as pc

        data = self._head_bytes(0)
        ro, po, co = self._arrow_options(True, None)
        raw = pc.read_csv(pa.py_buffer(data), read_options=ro, parse_options=po)
        file_names = raw.column_names
        kw = self.csv_kwargs
        parse_dates = set(kw.get("parse_dates") or [])
        forced: dict = {}
        for name, v in (kw.get("dtype") or {}).items():
            forced[name] = _arrow_type(v)
        for name in parse_dates:
            forced.setdefault(name, pa.timestamp("us"))
        for fld in raw.schema:
            if fld.name in forced:
                continue
            t = fld.type
            if (
                pa.types.is_string(t)
                or pa.types.is_large_string(t)
                or pa.types.is_date(t)
                or pa.types.is_timestamp(t)
                or pa.types.is_time(t)
            ):
                forced[fld.name] = pa.string()  # pandas keeps these as text unless asked
        forced = {k: v for k, v in forced.items() if k in file_names}
        ro, po, co = self._arrow_options(True, None, forced)
        table = pc.read_csv(
            pa.py_buffer(data), read_options=ro, parse_options=po, convert_options=co
        )
        head = {"file_names": file_names, "types": forced, "schema": table.schema, "table": table}
        self._cache["arrow_head"] = head
        return head

    def _parse_arrow(self, data: bytes, first: bool):
        import pyarrow as pa
        import pyarrow.csv as pc

        head = self._arrow_head()
        schema = head["schema"]
        if not data or data.isspace():  # no copy of the block, unlike strip()
            return schema.empty_table()
        ro, po, co = self._arrow_options(first, head["file_names"], head["types"])
        table = pc.read_csv(
            pa.py_buffer(data), read_options=ro, parse_options=po, convert_options=co
        )
        if table.schema.equals(schema):
            return table
        cols = []
        for name, col in zip(table.column_names, table.columns, strict=False):
            idx = schema.get_field_index(name)
            if (
                idx >= 0
                and col.type != schema.field(idx).type
                and not pa.types.is_null(schema.field(idx).type)
            ):
                try:
                    col = col.cast(schema.field(idx).type, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            cols.append(col)
        return pa.Table.from_arrays(cols, names=table.column_names)

    # ---- pandas parsing (fallback) ------------------------------------------------------
    def _header_bytes(self, j: int) -> bytes:
        """The lines before the data in file ``j`` (skipped rows and header)."""
        key = ("header_bytes", j)
        if key in self._cache:
            return self._cache[key]
        kw = self.csv_kwargs
        nskip = kw.get("skiprows") or 0
        header = kw.get("header", "infer")
        if header == "infer":
            nhead = 0 if kw.get("names") is not None else 1
        elif header is None:
            nhead = 0
        else:
            nhead = header + 1
        n = nskip + nhead
        out = b""
        if n:
            with self._open(j) as f:
                lines = []
                comment = kw.get("comment")
                cbytes = comment.encode() if isinstance(comment, str) and comment else None
                while n > 0:
                    line = f.readline()
                    if not line:
                        break
                    lines.append(line)
                    if cbytes is None or not line.lstrip().startswith(cbytes):
                        n -= 1  # pandas skips whole comment lines before the header
            out = b"".join(lines)
        self._cache[key] = out
        return out

    def _parse_pandas(self, data: bytes, j: int, first: bool):
        import pandas as pd

        kw = {k: v for k, v in self.csv_kwargs.items() if k != "compression"}
        if not first:
            data = self._header_bytes(j) + data
        df = pd.read_csv(io.BytesIO(data), **kw)
        if len(df) == 0:  # a block of comments or blank lines: the head's dtypes
            meta = self._dask_meta()
            df = df.astype({c: meta[c].dtype for c in df.columns if c in meta.columns})
        return df

    # ---- pattern columns --------------------------------------------------------------
    def _field_items(self, j: int) -> list[tuple[str, Any]]:
        if self.pattern is None:
            return []
        values = self._plan()["fields"][j]
        return [(name, values[name]) for name, _ in _unique_fields(self.pattern)]

    # ---- DataSource API -----------------------------------------------------------------
    def _get_schema(self) -> Schema:
        meta = self._dask_meta()
        dtype = {str(k): str(v) for k, v in meta.dtypes.items()}
        plan = self._plan()
        return Schema(
            dtype=dtype,
            shape=(None, len(dtype)),
            npartitions=len(plan["blocks"]),
            extra_metadata={"files": len(plan["paths"])},
        )

    @property
    def npartitions(self) -> int:
        """From the block plan alone, so that counting partitions imports no pandas."""
        return len(self._plan()["blocks"])

    def _dask_meta(self):
        """An empty DataFrame with the columns and dtypes of the partitions."""
        meta = self._cache.get("meta")
        if meta is not None:
            return meta
        plan = self._plan()
        if plan["arrow"]:
            table = self._with_fields(self._arrow_head()["table"], 0)
            meta = table.to_pandas().iloc[:0]
        else:
            import pandas as pd

            kw = {k: v for k, v in self.csv_kwargs.items() if k not in ("compression", "nrows")}
            df = pd.read_csv(io.BytesIO(self._head_bytes(0)), nrows=50, **kw)
            meta = self._with_fields_pandas(df, 0).iloc[:0]
        self._cache["meta"] = meta
        return meta

    def _with_fields(self, table, j: int):
        import numpy as np
        import pyarrow as pa

        n = table.num_rows
        for name, value in self._field_items(j):
            arr = pa.array([value])
            if pa.types.is_timestamp(arr.type):
                arr = arr.cast(pa.timestamp("us"))
            col = arr.take(pa.array(np.zeros(n, dtype=np.int32)))
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, col)
            else:
                table = table.append_column(name, col)
        return table

    def _with_fields_pandas(self, df, j: int):
        import pandas as pd

        for name, value in self._field_items(j):
            if isinstance(value, pd.Timestamp):
                df[name] = pd.Series([value] * len(df), index=df.index, dtype="datetime64[us]")
            else:
                df[name] = value
        return df

    def read_partition_arrow(self, i: int):
        """Partition ``i`` as a ``pyarrow.Table`` (no pandas round trip on the fast path)."""
        n = self.npartitions
        if not isinstance(i, int) or not 0 <= i < n:
            raise IndexError(f"partition {i!r} out of range: {self!r} has {n} partition(s)")
        plan = self._plan()
        j, offset, _length = plan["blocks"][i]
        data = self._block_bytes(i)
        if plan["arrow"]:
            return self._with_fields(self._parse_arrow(data, offset == 0), j)
        import pyarrow as pa

        df = self._with_fields_pandas(self._parse_pandas(data, j, offset == 0), j)
        return pa.Table.from_pandas(df, preserve_index=None)

    def _get_partition(self, i: int):
        plan = self._plan()
        if plan["arrow"]:
            return self.read_partition_arrow(i).to_pandas()
        j, offset, _length = plan["blocks"][i]
        return self._with_fields_pandas(self._parse_pandas(self._block_bytes(i), j, offset == 0), j)


def _unique_fields(pattern: str) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for name, spec in pattern_fields(pattern):
        seen.setdefault(name, spec)
    return list(seen.items())


def _arrow_type(spec: Any):
    """A pyarrow type for a pandas-style dtype name (``int64``, ``str``, ``category``...)."""
    import numpy as np
    import pyarrow as pa

    if spec in (str, "str", "string", "object", object, "O"):
        return pa.string()
    if spec == "category":
        return pa.dictionary(pa.int32(), pa.string())
    if isinstance(spec, str) and spec.startswith("datetime64"):
        unit = spec[11:-1] if "[" in spec else "ns"
        return pa.timestamp(unit)
    dt = np.dtype(spec)
    if dt.kind in "biuf":
        return pa.from_numpy_dtype(dt)
    raise ValueError(f"no pyarrow type for {spec!r}")
