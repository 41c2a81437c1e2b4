"""Sources whose data is what a Python function returns, for ``@persisted``.

A :class:`FunctionSource` names its function by import path (``module:qualname``)
and records the call's arguments in a form the store can write: plain values as
they are, sources (upstream data) by their own record, anything else (a dataframe,
an array) by type and dask token only. Its token covers the function's path, a
hash of its code (:func:`~intake_persist.tokens.code_token`) and the arguments, so
editing the function or calling it with other arguments makes another copy.

One class per container (:data:`CLASSES`), so that a copy's recorded original is
rebuilt without calling the function. A source rebuilt from the store (``refresh``,
``backtrack``) calls the function again with the recorded arguments; one with an
unrecorded argument cannot, and says which argument.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from ..tokens import digest
from .base import DataSource, Schema

#: Key of a recorded argument that is a source.
SOURCE = "__source__"
#: Key of a recorded argument the store cannot write (its type and token only).
UNRECORDED = "__unrecorded__"

_PLAIN = (bool, int, float, str, type(None))


def function_path(func: Callable[..., Any]) -> str:
    """``module:qualname`` of a function (what :func:`import_function` reads)."""
    func = getattr(func, "__wrapped__", func)
    return f"{getattr(func, '__module__', None)}:{getattr(func, '__qualname__', repr(func))}"


def import_function(path: str) -> Callable[..., Any]:
    """The function at ``module:qualname``; for a ``@persisted`` one, the function it
    wraps (so that computing does not go through the cache again)."""
    module, sep, qualname = path.partition(":")
    if not sep or "<locals>" in qualname:
        raise ValueError(
            f"function {path!r} cannot be imported again (defined inside another "
            "function?), so its copy cannot be recomputed from the store"
        )
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "__wrapped__", obj)


def _is_source(value: Any) -> bool:
    from ..catalog.entry import EntrySource

    return type(value) is EntrySource or isinstance(value, DataSource)


def _original(value: Any) -> Any:
    """The source that identifies an upstream argument: for ``cat.name``, the entry's
    original (not the copy its persist mode may hand back)."""
    from ..catalog.entry import EntrySource

    if type(value) is EntrySource:
        return object.__getattribute__(value, "_ip_original")
    return value


def source_record(value: Any) -> dict[str, Any]:
    """The record of an upstream source (its original's, for a persisted copy):
    ``token``, ``name`` and the ``driver``/``args``/``metadata`` that rebuild it."""
    from ..store.records import original_record, plain, scrub

    rec = original_record(_original(value))
    orig = rec.get("original_source") or {}
    out: dict[str, Any] = scrub(plain({
        "token": rec.get("original_token"),
        "name": rec.get("original_name"),
        "driver": orig.get("driver"),
        "args": orig.get("args") or {},
        "description": orig.get("description"),
        "metadata": orig.get("metadata") or {},
    }))
    return out


def record(value: Any) -> Any:
    """``value`` in the form the store records (see module docstring)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return [record(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: record(v) for k, v in value.items()}
    if _is_source(value):
        return {SOURCE: source_record(value)}
    from dask.base import tokenize

    cls = type(value)
    return {UNRECORDED: f"{cls.__module__}.{cls.__qualname__}", "token": tokenize(value)}


def token_form(recorded: Any) -> Any:
    """What of a recorded argument counts for the token: a source by its token."""
    if isinstance(recorded, list):
        return [token_form(v) for v in recorded]
    if isinstance(recorded, dict):
        if SOURCE in recorded:
            return {SOURCE: recorded[SOURCE].get("token")}
        return {k: token_form(v) for k, v in recorded.items()}
    return recorded


def upstream(recorded: Any, where: str = "") -> list[dict[str, Any]]:
    """The lineage of a call: ``{"argument", "token", "name", "driver", "args"}`` for
    each source among the recorded arguments, in argument order."""
    out: list[dict[str, Any]] = []
    if isinstance(recorded, list):
        for i, v in enumerate(recorded):
            out += upstream(v, f"{where}[{i}]")
    elif isinstance(recorded, dict):
        if SOURCE in recorded:
            rec = recorded[SOURCE]
            out.append({"argument": where, "token": rec.get("token"), "name": rec.get("name"),
                        "driver": rec.get("driver"), "args": rec.get("args")})
        elif UNRECORDED not in recorded:
            for k, v in recorded.items():
                out += upstream(v, f"{where}.{k}" if where else k)
    return out


def _rebuild(recorded: Any, function: str, where: str) -> Any:
    """A recorded argument as a value again (sources rebuilt from their record)."""
    if isinstance(recorded, list):
        return [_rebuild(v, function, f"{where}[{i}]") for i, v in enumerate(recorded)]
    if isinstance(recorded, dict):
        if SOURCE in recorded:
            from .registry import make_source

            rec = recorded[SOURCE]
            src = make_source(rec["driver"], rec.get("args") or {}, rec.get("metadata"),
                              rec.get("description"))
            src.entry_name = rec.get("name")
            return src
        if UNRECORDED in recorded:
            raise ValueError(
                f"cannot call {function} again from the store: its argument {where} was "
                f"a {recorded[UNRECORDED]}, which the store does not record (pass plain "
                "values or sources to a @persisted function that is to be refreshed)"
            )
        return {k: _rebuild(v, function, f"{where}.{k}") for k, v in recorded.items()}
    return recorded


def kind_of(value: Any) -> tuple[str, str]:
    """``(container, kind)`` of a function's result; kind says how a copy is read back:
    ``pandas``, ``dask`` (dask dataframe or array), ``numpy``, ``xarray``, ``list``."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module == "pandas" and name == "DataFrame":
        return "dataframe", "pandas"
    if module in ("dask", "dask_expr") and name == "DataFrame":
        return "dataframe", "dask"
    if module == "numpy" and name == "ndarray":
        return "ndarray", "numpy"
    if module == "dask" and name == "Array":
        return "ndarray", "dask"
    if module == "xarray" and name in ("Dataset", "DataArray"):
        return "xarray", "xarray"
    if isinstance(value, (list, tuple)):
        return "python", "list"
    raise TypeError(
        f"a @persisted function must return a pandas or dask DataFrame, a numpy or "
        f"dask array, an xarray Dataset or DataArray, or a list or tuple; got "
        f"{type(value).__module__}.{type(value).__qualname__}"
    )


class FunctionSource(DataSource):
    """The result of calling ``function`` (``module:qualname``) with ``args`` and
    ``kwargs`` (recorded forms, see :func:`record`)."""

    name: ClassVar[str] = "function"
    partition_access: ClassVar[bool] = True

    def __init__(self, function: str, args: list[Any] | None = None,
                 kwargs: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None):
        super().__init__(metadata)
        self.function = function
        self.args = list(args or [])
        self.kwargs = dict(kwargs or {})

    # ---- identity ------------------------------------------------------------------
    def __dask_tokenize__(self) -> str:
        inner = self.__dict__.get("_ip_inner")
        if inner is None:
            from ..tokens import code_token

            inner = self.__dict__["_ip_inner"] = call_digest(
                self.function, code_token(import_function(self.function)),
                self.args, self.kwargs)
        return str(inner)

    # ---- the value -----------------------------------------------------------------
    def value(self) -> Any:
        """The function's result (computed on first use, then kept)."""
        if "_ip_value" not in self.__dict__:
            live = self.__dict__.get("_ip_call")
            if live is not None:
                func, args, kwargs = live
            else:
                func = import_function(self.function)
                args = _rebuild(self.args, self.function, "args")
                kwargs = _rebuild(self.kwargs, self.function, "kwargs")
            result = func(*args, **kwargs)
            container, kind = kind_of(result)
            if container != self.container:
                raise TypeError(
                    f"{self.function} returned a {kind} result ({container}); its copy "
                    f"was a {self.container}"
                )
            self.__dict__["_ip_value"] = result
        return self.__dict__["_ip_value"]

    def _close(self) -> None:
        if "_ip_call" in self.__dict__ or "_ip_value" not in self.__dict__:
            return  # a live call keeps its result: it is what the caller got
        del self.__dict__["_ip_value"]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for k in ("_ip_value", "_ip_call"):
            state.pop(k, None)
        return state

    def describe(self) -> dict[str, Any]:
        """As any source's, plus ``lineage``: the sources among the arguments."""
        out = super().describe()
        record = (self.metadata or {}).get("derived_from") or {}
        out["lineage"] = list(record.get("upstream") or [])
        return out

    def _get_schema(self) -> Schema:
        return Schema(npartitions=1)

    def _get_partition(self, i: int) -> Any:
        return self.value()

    def read(self) -> Any:
        return self.value()


def call_digest(function: str, code: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    """What a function source's ``__dask_tokenize__`` returns for a call."""
    return digest("intake_persist.function", function, code, token_form(args),
                  token_form(kwargs))


class FunctionFrame(FunctionSource):
    """A function's dataframe (pandas: one partition; dask: its partitions)."""

    container: ClassVar[str] = "dataframe"
    name: ClassVar[str] = "function_dataframe"

    def _get_schema(self) -> Schema:
        df = self.value()
        n = getattr(df, "npartitions", 1)
        return Schema(dtype={str(k): str(v) for k, v in df.dtypes.items()},
                      shape=(None if n > 1 else len(df), len(df.columns)), npartitions=n)

    def _get_partition(self, i: int) -> Any:
        df = self.value()
        if hasattr(df, "get_partition"):
            return df.get_partition(i).compute()
        return df

    def read(self) -> Any:
        df = self.value()
        return df.compute() if hasattr(df, "get_partition") else df


class FunctionArray(FunctionSource):
    """A function's array (numpy: one partition; dask: its chunks along axis 0)."""

    container: ClassVar[str] = "ndarray"
    name: ClassVar[str] = "function_ndarray"

    def _bounds(self) -> list[tuple[int, int]]:
        arr = self.value()
        chunks = getattr(arr, "chunks", None)
        if not chunks or not arr.ndim:
            return [(0, arr.shape[0] if arr.ndim else 0)]
        out, start = [], 0
        for c in chunks[0]:
            out.append((start, start + c))
            start += c
        return out

    def _get_schema(self) -> Schema:
        arr = self.value()
        return Schema(dtype=str(arr.dtype), shape=tuple(arr.shape),
                      npartitions=len(self._bounds()))

    def partition_rows(self) -> list[int]:
        return [b - a for a, b in self._bounds()]

    def _get_partition(self, i: int) -> Any:
        import numpy as np

        arr = self.value()
        if not arr.ndim:
            return np.asarray(arr)
        a, b = self._bounds()[i]
        part = arr[a:b]
        return part.compute() if hasattr(part, "compute") else part

    def read(self) -> Any:
        arr = self.value()
        return arr.compute() if hasattr(arr, "compute") else arr


class FunctionXarray(FunctionSource):
    """A function's xarray Dataset or DataArray."""

    container: ClassVar[str] = "xarray"
    name: ClassVar[str] = "function_xarray"

    def _dataset(self) -> Any:
        return self.value()

    def to_dask(self) -> Any:
        return self.value()


class FunctionItems(FunctionSource):
    """A function's list (or tuple) of JSON-able items."""

    container: ClassVar[str] = "python"
    name: ClassVar[str] = "function_python"

    def read(self) -> Any:
        return list(self.value())

    def _get_partition(self, i: int) -> Any:
        return list(self.value())


#: The function source class for each container.
CLASSES: dict[str, type[FunctionSource]] = {
    c.container: c for c in (FunctionFrame, FunctionArray, FunctionXarray, FunctionItems)
}
