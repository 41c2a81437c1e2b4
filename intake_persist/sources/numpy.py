"""``.npy`` files as an ndarray, chunked along axis 0 without loading whole files."""

from __future__ import annotations

from typing import Any

from ._files import FileSource, expand_paths
from .base import Schema

DEFAULT_CHUNK_BYTES = 64 * 2**20


class NumpySource(FileSource):
    """Parameters
    ----------
    urlpath : str or list
        ``.npy`` file(s): path, URL, glob or list; several files are concatenated
        along axis 0 (their other dimensions and dtype must agree).
    chunks : int or None
        Rows (along axis 0) per partition; default about 64 MiB; ``-1`` for one
        partition per file. Partitions never span two files.
    shape : list or None
        Expected shape of the whole array; checked against the files.
    storage_options : dict
    path : str or list
        intake's name for ``urlpath`` (``intake.source.npy.NPySource(path=...)``);
        give one of the two.
    dtype : str or None
        Expected dtype (``"int64"``, ``"f4"``...), as intake's ``dtype``; checked
        against the files.
    """

    container = "ndarray"
    name = "numpy"

    def __init__(
        self,
        urlpath: str | list | None = None,
        chunks: int | None = None,
        shape: list | None = None,
        storage_options: dict | None = None,
        metadata: dict | None = None,
        path: str | list | None = None,
        dtype: str | None = None,
    ):
        super().__init__(metadata=metadata)
        if urlpath is not None and path is not None:
            raise TypeError("NumpySource takes 'urlpath' or intake's 'path', not both")
        if urlpath is None and path is None:
            raise TypeError("NumpySource needs 'urlpath' (or intake's 'path'): the .npy file(s)")
        urlpath = urlpath if urlpath is not None else path
        assert urlpath is not None  # one of them was given (checked above)
        self.urlpath = urlpath
        self.expected_dtype = dtype
        if isinstance(chunks, (list, tuple)):
            chunks = chunks[0]
        self.chunks = chunks
        self.expected_shape = tuple(shape) if shape is not None else None
        self.storage_options = dict(storage_options or {})

    def _plan(self) -> dict:
        plan = self._cache.get("plan")
        if plan is not None:
            return plan
        import numpy as np

        fs, paths = expand_paths(self.urlpath, self.storage_options)
        headers = []
        for p in paths:
            with fs.open(p, "rb") as f:
                headers.append(_read_header(f, p))
        dtype = headers[0]["dtype"]
        tail = headers[0]["shape"][1:]
        for p, h in zip(paths, headers, strict=False):
            if h["dtype"] != dtype or h["shape"][1:] != tail:
                raise ValueError(
                    f"{p}: dtype {h['dtype']} shape {h['shape']} does not match "
                    f"{dtype} (*, {', '.join(map(str, tail))}) of {paths[0]}"
                )
            if h["dtype"].hasobject:
                raise ValueError(f"{p}: object arrays need pickle and are not supported")
        if headers[0]["shape"] == ():
            if len(paths) > 1:
                raise ValueError("0-d arrays cannot be concatenated")
            shape: tuple = ()
        else:
            shape = (sum(h["shape"][0] for h in headers), *tail)
        if self.expected_dtype is not None and np.dtype(self.expected_dtype) != dtype:
            raise ValueError(
                f"dtype {dtype} of {self.urlpath!r} differs from dtype={self.expected_dtype!r}"
            )
        if self.expected_shape is not None and tuple(self.expected_shape) != shape:
            raise ValueError(
                f"shape {shape} of {self.urlpath!r} differs from shape={list(self.expected_shape)}"
            )
        row_bytes = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
        parts = []  # (file, start_row, stop_row)
        for j, h in enumerate(headers):
            n = h["shape"][0] if h["shape"] else 1
            if self.chunks is not None and self.chunks > 0:
                step = int(self.chunks)
            elif self.chunks == -1 or h["fortran_order"] or not h["shape"]:
                step = max(n, 1)
            else:
                step = max(1, DEFAULT_CHUNK_BYTES // max(row_bytes, 1))
            if h["fortran_order"] and len(h["shape"]) > 1:
                step = max(n, 1)  # rows are not contiguous: read the file whole
            for start in range(0, max(n, 1), step):
                parts.append((j, start, min(start + step, n)))
        plan = {
            "fs": fs,
            "paths": paths,
            "headers": headers,
            "dtype": dtype,
            "shape": shape,
            "parts": parts,
            "row_bytes": row_bytes,
        }
        self._cache["plan"] = plan
        return plan

    def _get_schema(self) -> Schema:
        plan = self._plan()
        return Schema(
            dtype=plan["dtype"],
            shape=plan["shape"],
            npartitions=len(plan["parts"]),
            extra_metadata={"files": len(plan["paths"])},
        )

    def partition_rows(self) -> list[int]:
        return [stop - start for _j, start, stop in self._plan()["parts"]]

    def _get_partition(self, i: int):
        import numpy as np

        plan = self._plan()
        j, start, stop = plan["parts"][i]
        h = plan["headers"][j]
        dtype = plan["dtype"]
        with plan["fs"].open(plan["paths"][j], "rb") as f:
            if not h["shape"]:
                f.seek(h["offset"])
                return np.frombuffer(f.read(dtype.itemsize), dtype=dtype).reshape(())
            if h["fortran_order"] and len(h["shape"]) > 1:
                f.seek(h["offset"])
                data = f.read(int(np.prod(h["shape"])) * dtype.itemsize)
                arr = np.frombuffer(data, dtype=dtype).reshape(h["shape"], order="F")
                return np.ascontiguousarray(arr)
            f.seek(h["offset"] + start * plan["row_bytes"])
            arr = np.empty((stop - start, *h["shape"][1:]), dtype=dtype)
            nbytes = arr.nbytes
            got = _read_into(f, arr.reshape(-1).view(np.uint8)) if nbytes else 0
        if got != nbytes:
            raise OSError(f"{plan['paths'][j]}: file is truncated")
        return arr


def _read_into(f: Any, buf: Any) -> int:
    view = memoryview(buf)
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _read_header(f: Any, path: str) -> dict:
    import numpy as np
    from numpy.lib import format as npf

    try:
        version = npf.read_magic(f)
    except ValueError as exc:
        raise ValueError(f"{path}: not a .npy file ({exc})") from exc
    if version == (1, 0):
        shape, fortran, dtype = npf.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = npf.read_array_header_2_0(f)
    else:
        # (3, 0): numpy's private reader, absent from numpy's stubs
        shape, fortran, dtype = npf._read_array_header(f, version)  # type: ignore[attr-defined]
    return {
        "shape": tuple(shape),
        "fortran_order": bool(fortran),
        "dtype": np.dtype(dtype),
        "offset": f.tell(),
    }
