"""The DataSource base class: the contract every driver fulfils."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator

from .._frozen import Frozen
from ..tokens import digest, token_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from ..catalog.entry import CatalogEntry

CONTAINERS = ("dataframe", "ndarray", "python", "catalog")


class Schema(Frozen):
    """What ``discover()`` learns about a source without reading it all (immutable)."""

    _fields = ("dtype", "shape", "npartitions", "extra_metadata")
    dtype: Any
    shape: tuple | None
    npartitions: int
    extra_metadata: dict

    def __init__(self, dtype: Any = None, shape: tuple | None = None, npartitions: int = 1,
                 extra_metadata: dict | None = None) -> None:
        self._set(dtype=dtype, shape=shape, npartitions=npartitions,
                  extra_metadata={} if extra_metadata is None else extra_metadata)

    def as_dict(self) -> dict:
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "npartitions": self.npartitions,
            "metadata": dict(self.extra_metadata),
        }


def _without(value: Any, part: str) -> Any:
    """``value`` with ``part`` removed from every string in it."""
    if isinstance(value, str):
        return value.replace(part, "")
    if isinstance(value, dict):
        return {k: _without(v, part) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without(v, part) for v in value]
    return value


def _guarded(fn: Any) -> Any:
    """``fn`` (a reading method) consulting the source's copy guard, when it has one
    (a persisted copy made by the store: see :mod:`intake_persist.store.readers`)."""
    if getattr(fn, "_ip_guarded", False) or not callable(fn):
        return fn
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        guard = self.__dict__.get("_ip_guard")
        if guard is None:
            return fn(self, *args, **kwargs)
        return guard.call(self, name, fn, args, kwargs)

    wrapper._ip_guarded = True  # type: ignore[attr-defined]
    return wrapper


def _guard_methods(cls: type) -> None:
    from ..store.readers import GUARDED_METHODS

    for name in GUARDED_METHODS:
        fn = cls.__dict__.get(name)
        if fn is not None:
            setattr(cls, name, _guarded(fn))


class DataSource:
    """A readable source of one container type, made from a driver and its arguments.

    Subclasses set ``container`` and ``name`` (the short driver name, which stays on
    the class and in ``source.driver_name``) and implement
    ``_get_schema`` and ``_get_partition``; they may override ``read``, ``to_dask``
    and ``_close`` where the underlying library does better. The keyword arguments
    a source was built with are kept (``_init_kwargs``): they make its token and
    its YAML.

    As in intake, ``source.name`` of a source taken from a catalog is its entry's
    name (also ``entry_name``); other sources answer the driver's short name.
    """

    container: ClassVar[str] = "python"
    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0.1"
    partition_access: ClassVar[bool] = True
    # set by __new__: the arguments the source was built with
    _init_args: tuple[Any, ...]
    _init_kwargs: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _guard_methods(cls)

    def __new__(cls, *args: Any, **kwargs: Any) -> DataSource:
        obj = super().__new__(cls)
        obj._init_args = args
        obj._init_kwargs = dict(kwargs)
        return obj

    def __init__(self, metadata: dict | None = None):
        self.metadata: dict = dict(metadata or {})
        self.description: str | None = None
        self.entry_name = None
        self.catalog_object = None
        self._entry: CatalogEntry | None = None
        self._schema: Schema | None = None

    # ---- identity -------------------------------------------------------------
    @property
    def entry_name(self) -> str | None:
        """The catalog entry this source was made from (None if not from a catalog)."""
        return self.__dict__.get("name")

    @entry_name.setter
    def entry_name(self, value: str | None) -> None:
        if value is None:
            self.__dict__.pop("name", None)
        else:
            self.__dict__["name"] = value

    @property
    def driver_name(self) -> str:
        """The driver's short name (the class's ``name``), whatever ``name`` says."""
        return type(self).name

    @property
    def classpath(self) -> str:
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}"

    @property
    def token_args(self) -> dict:
        """The arguments that identify the data (metadata left out)."""
        args = dict(self._init_kwargs)
        args.pop("metadata", None)
        if self._init_args:
            args["__args__"] = list(self._init_args)
        return args

    def __dask_tokenize__(self) -> str:
        return digest(self.classpath, self.container, self.token_args)

    @property
    def token(self) -> str:
        """Equal to ``dask.base.tokenize(self)``."""
        return token_of(self)

    def _identity(self) -> str:
        """What equality and hashing compare: the token. For a persisted copy, what
        it copies and where, but not which version: a re-persisted copy equals the
        one before, as in intake (its token still names the version it reads)."""
        md = self.metadata or {}
        if "original_tok" not in md:
            return self.token
        vid = md.get("version")
        args = self.token_args
        if isinstance(vid, str) and vid:
            args = _without(args, "/" + vid)
        return digest("persisted", self.classpath, str(md["original_tok"]), args)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataSource):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    # ---- schema and reading ---------------------------------------------------
    def _only_reads(self) -> bool:
        """True for a driver that implements ``read()`` and no partitions (common in
        hand-written and third-party drivers): it is read as one partition."""
        cls = type(self)
        return cls.read is not DataSource.read and cls._get_partition is DataSource._get_partition

    def _get_schema(self) -> Schema:
        if self._only_reads():
            return Schema(npartitions=1)
        raise NotImplementedError(f"{type(self).__name__} implements neither read() nor a schema")

    def _get_partition(self, i: int) -> Any:
        if self._only_reads():
            return self.read()
        raise NotImplementedError(f"{type(self).__name__} implements neither read() nor partitions")

    def _close(self) -> None:
        pass

    def _load_schema(self) -> Schema:
        if self._schema is None:
            self._schema = self._get_schema()
        return self._schema

    def discover(self) -> dict:
        """Schema (dtype, shape, npartitions, metadata) without reading all the data."""
        return self._load_schema().as_dict()

    @property
    def npartitions(self) -> int:
        return self._load_schema().npartitions

    @property
    def dtype(self) -> Any:
        return self._load_schema().dtype

    @property
    def shape(self) -> tuple | None:
        return self._load_schema().shape

    def read_partition(self, i: int) -> Any:
        n = self.npartitions
        if not isinstance(i, int) or not 0 <= i < n:
            raise IndexError(f"partition {i!r} out of range: {self!r} has {n} partition(s)")
        return self._get_partition(i)

    def read_chunked(self) -> Iterator[Any]:
        """Yield the partitions one at a time."""
        for i in range(self.npartitions):
            yield self.read_partition(i)

    def read(self) -> Any:
        """All the data in memory, as the container's usual type."""
        from ..containers import concat

        return concat(self.container, [self.read_partition(i) for i in range(self.npartitions)])

    def to_dask(self) -> Any:
        """A lazy dask collection with one chunk per partition."""
        from ..containers import to_dask

        return to_dask(self)

    def close(self) -> None:
        self._schema = None
        guard = self.__dict__.get("_ip_guard")
        if guard is not None:  # the copy it read may be pruned now
            guard.opened = False
        self._close()

    def __enter__(self) -> DataSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- calling: a new source with other parameters ----------------------------
    def __call__(self, **kwargs: Any) -> DataSource:
        """A new source with other values.

        For a source made from a catalog entry this goes through the entry
        (``cat.name(year=2021)``: user parameters, ``persist_mode=``); otherwise the
        keyword arguments replace constructor arguments. ``as_of=`` (a datetime or
        ISO-8601 time) gives the configured store's copy that was current then.
        """
        if self._entry is not None:
            return self._entry(**kwargs)
        for key in ("persist_mode", "persist"):
            if key in kwargs:
                raise TypeError(f"{key}= applies to sources made from catalog entries")
        as_of = kwargs.pop("as_of", None)
        if as_of is not None:  # the configured store's copy that was current then
            from ..store import get_store

            base = self(**kwargs) if kwargs else self
            return get_store().as_of(base, as_of)  # type: ignore[no-any-return]
        merged = {**self._init_kwargs, **kwargs}
        new = type(self)(*self._init_args, **merged)
        new.description = self.description
        new.entry_name = self.entry_name
        new.catalog_object = self.catalog_object
        return new

    # ---- description ------------------------------------------------------------
    def describe(self) -> dict:
        if self._entry is not None:
            return self._entry.describe()
        return {
            "name": self.entry_name,
            "description": self.description,
            "driver": self.classpath,
            "container": self.container,
            "args": copy.deepcopy(self._init_kwargs),
            "metadata": copy.deepcopy(self.metadata),
            "user_parameters": [],
        }

    def _yaml_entry(self) -> dict:
        args = {k: v for k, v in self._init_kwargs.items() if k != "metadata"}
        entry: dict = {"driver": self.classpath, "args": copy.deepcopy(args)}
        if self.description:
            entry["description"] = self.description
        if self.metadata:
            entry["metadata"] = copy.deepcopy(self.metadata)
        return entry

    def yaml(self) -> str:
        """A one-entry catalog (YAML text) that rebuilds this source."""
        from .._yaml import dump

        return dump({"sources": {self.entry_name or self.name: self._yaml_entry()}})

    def __repr__(self) -> str:
        label = f" {self.entry_name!r}" if self.entry_name else ""
        return f"<{type(self).__name__}{label} container={self.container}>"

    # ---- persistence ------------------------------------------------------------
    @property
    def is_persisted(self) -> bool:
        """True for a source that reads a persisted copy."""
        return "original_tok" in self.metadata

    @property
    def has_been_persisted(self) -> bool:
        """True when the configured store holds a copy of this source."""
        from ..store import get_store

        return self.token in get_store()

    def persist(self, ttl: float | None = None, **kwargs: Any) -> DataSource:
        """Write a copy into the configured store and return a source that reads it."""
        from ..store import get_store

        store = kwargs.pop("store", None)
        if store is None:
            store = get_store()
        return store.persist(self, ttl=ttl, **kwargs)

    def export(self, path: str, **kwargs: Any) -> str:
        """Write a copy to ``path`` (local or URL) and return a one-entry catalog (YAML)."""
        from ..store.export import export

        return export(self, path, **kwargs)


_guard_methods(DataSource)
