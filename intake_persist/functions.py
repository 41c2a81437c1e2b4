"""``@persisted``: a Python function whose results are cached in the persist store.

A call looks up the copy for its key (the function's ``module:qualname``, a hash
of its code, and its arguments bound to its signature: ``f(1)`` and ``f(x=1)`` are
one call); a fresh copy is read back, else the function runs and its result is
persisted (with ``ttl`` and ``keep``) and returned as computed. Copies are store
entries like any other: versions, ``as_of``, ``refresh``, ``gc`` and the command
line apply. Sources passed as arguments count by their token and are recorded as
the copy's lineage.

The code hash covers the decorated function only, not the functions it calls.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, overload

from .sources.function import (
    CLASSES,
    call_digest,
    function_path,
    kind_of,
    record,
    upstream,
)
from .store.freshness import check_keep, check_ttl, is_expired

F = TypeVar("F", bound=Callable[..., Any])

#: Parquet compression of dataframe results unless ``compression=`` is given: none,
#: so that a hit reads about as fast as a pickle (the encodings still make the copy
#: smaller than one; see docs/benchmarks.rst).
FRAME_COMPRESSION = "none"


class PersistedFunction:
    """A function whose results live in the persist store (made by
    :func:`persisted`); calling it returns the cached or freshly computed result."""

    def __init__(self, func: Callable[..., Any], ttl: float | None, store: Any, keep: int,
                 persist_kwargs: dict[str, Any] | None = None):
        functools.update_wrapper(self, func)
        self.__wrapped__ = func
        self.ttl = ttl
        self.keep = keep
        self.persist_kwargs = dict(persist_kwargs or {})
        self._store_arg = store
        self._path = function_path(func)
        self._code: str | None = None
        self._signature = inspect.signature(func)

    def __repr__(self) -> str:
        return f"<persisted function {self._path}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)  # a method: the instance is an argument

    @property
    def store(self) -> Any:
        """The store copies go to: the one given to the decorator (a store or its
        URL), else the configured store at the time of the call."""
        given = self._store_arg
        if given is None:
            from .store import get_store

            return get_store()
        if isinstance(given, str):
            from .store.persist_store import PersistStore

            given = self._store_arg = PersistStore(given)
        return given

    def _code_token(self) -> str:
        if self._code is None:
            from .tokens import code_token

            self._code = code_token(self.__wrapped__)
        return self._code

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self._path}: {exc}") from None
        bound.apply_defaults()
        return bound

    def _key(self, bound: inspect.BoundArguments) -> tuple[str, list[Any], dict[str, Any]]:
        rec_args = record(list(bound.args))
        rec_kwargs = record(dict(bound.kwargs))
        inner = call_digest(self._path, self._code_token(), rec_args, rec_kwargs)
        # what token_of gives a source whose __dask_tokenize__ is ``inner``
        key = hashlib.md5(str((inner,)).encode(), usedforsecurity=False).hexdigest()
        return key, rec_args, rec_kwargs

    def token(self, *args: Any, **kwargs: Any) -> str:
        """The store key of the call with these arguments (nothing is computed)."""
        return self._key(self._bind(args, kwargs))[0]

    def source(self, *args: Any, **kwargs: Any) -> Any:
        """The store's copy of the call with these arguments, or None when it has none
        (nothing is computed); ``store.versions``, ``refresh`` and ``remove`` take it."""
        return self.store.get(self.token(*args, **kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = self._bind(args, kwargs)
        key, rec_args, rec_kwargs = self._key(bound)
        store = self.store
        try:
            copy = store.get(key)
        except OSError as exc:  # the store is a cache: compute without it
            warnings.warn(
                f"{self._path}: the persist store {store.path} could not be read "
                f"({type(exc).__name__}: {exc}); computing the result", RuntimeWarning,
                stacklevel=2)
            return self.__wrapped__(*bound.args, **bound.kwargs)
        if copy is not None and not is_expired({"metadata": copy.metadata}):
            kind = (copy.metadata.get("original_metadata") or {}).get("result")
            return copy.to_dask() if kind == "dask" else copy.read()
        result = self.__wrapped__(*bound.args, **bound.kwargs)
        container, kind = kind_of(result)
        metadata: dict[str, Any] = {"result": kind, "code_token": self._code_token()}
        lineage = upstream(record(dict(bound.arguments)))  # by parameter name
        if lineage:  # as derived sources record theirs: refresh orders by it
            metadata["derived_from"] = {"upstream": lineage}
        src = CLASSES[container](self._path, rec_args, rec_kwargs, metadata=metadata)
        src.__dict__["_ip_inner"] = call_digest(self._path, self._code_token(), rec_args,
                                                rec_kwargs)
        src.__dict__["_ip_call"] = (self.__wrapped__, bound.args, bound.kwargs)
        src.__dict__["_ip_value"] = result
        src.entry_name = self.__wrapped__.__qualname__
        try:
            kwargs = dict(self.persist_kwargs)
            if container == "dataframe":  # a cache is read more than written
                kwargs.setdefault("compression", FRAME_COMPRESSION)
            store.persist(src, ttl=self.ttl, keep=self.keep, **kwargs)
        except OSError as exc:  # the store is a cache: the caller still gets the result
            warnings.warn(
                f"{self._path}: the result could not be persisted into {store.path} "
                f"({type(exc).__name__}: {exc}); it will be computed again next time",
                RuntimeWarning, stacklevel=2)
        return result


@overload
def persisted(func: F, *, ttl: float | None = ..., store: Any = ..., keep: int = ...,
              **persist_kwargs: Any) -> PersistedFunction: ...
@overload
def persisted(func: None = ..., *, ttl: float | None = ..., store: Any = ..., keep: int = ...,
              **persist_kwargs: Any) -> Callable[[F], PersistedFunction]: ...


def persisted(func: Callable[..., Any] | None = None, *, ttl: float | None = None,
              store: Any = None, keep: int = 1, **persist_kwargs: Any) -> Any:
    """Cache a function's results in the persist store: ``@persisted`` or
    ``@persisted(ttl=3600, store="s3://bucket/cache", keep=2)``.

    The function must return a pandas or dask DataFrame, a numpy or dask array, an
    xarray Dataset or DataArray, or a list; ``ttl`` (seconds, None: never) and
    ``keep`` (copies kept) are those of ``persist``; ``store`` is a
    :class:`~intake_persist.store.persist_store.PersistStore` or its URL (default:
    the configured store); other keyword arguments go to the writer, as those of
    ``persist`` do. Dataframe results are written uncompressed unless
    ``compression=`` says otherwise (``"zstd"``: smaller copies, slower hits)."""
    ttl = check_ttl(ttl)
    keep = check_keep(keep)
    if store is not None and not isinstance(store, str) and not hasattr(store, "persist"):
        raise TypeError(f"store must be a PersistStore, its URL or None, got {store!r}")

    def decorate(f: Callable[..., Any]) -> PersistedFunction:
        if not callable(f):
            raise TypeError(f"@persisted decorates a function, got {f!r}")
        return PersistedFunction(f, ttl, store, keep, persist_kwargs)

    return decorate(func) if func is not None else decorate
