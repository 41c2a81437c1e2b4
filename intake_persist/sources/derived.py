"""intake 0.x's derived drivers: sources computed from other entries of a catalog.

``alias`` reads another entry (or one of several, chosen by a parameter through
``mapping``) unchanged; ``GenericTransform`` and ``DataFrameTransform`` apply a
function named by a dotted path; ``Columns`` picks columns; ``DataFramePipeline``
(in :mod:`.pipeline`) applies a list of dataframe steps. Targets are looked up and
read through the catalog (:mod:`.targets`), so a fresh persisted copy of an upstream
entry is what they read.

A derived source's token covers its arguments, its upstream tokens and the code
of the functions it calls (:func:`~intake_persist.tokens.code_token`): editing a
transform's logic makes a new token, reformatting it does not. Its metadata gains
``derived_from`` (the catalog's files and persist mode, the upstream entries and
tokens), which lets the store rebuild it for a refresh and order refreshes.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import TargetError
from ..tokens import code_token, digest
from .base import DataSource, Schema
from .targets import Upstream, original_token, resolve, visiting

RECORD_KEY = "derived_from"
_CHOOSERS = {
    "first": "first",
    "intake.source.derived.first": "first",
    "first_discoverable": "first_discoverable",
    "intake.source.derived.first_discoverable": "first_discoverable",
}


def import_name(path: str) -> Any:
    """The object ``path`` names: ``pkg.mod.func``, ``pkg.mod.Class.method`` or
    ``pkg.mod:Class.method``; an ImportError naming ``path`` when there is none."""
    if not isinstance(path, str) or not path.strip():
        raise ImportError(f"expected a dotted path to a function, got {path!r}")
    if ":" in path:
        module, _, rest = path.partition(":")
        candidates = [(module, rest.split("."))]
    else:
        parts = path.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]
    for module, attrs in candidates:
        try:
            obj: Any = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and module != missing and not module.startswith(missing + "."):
                raise  # the module exists, but something it imports does not
            continue
        try:
            for attr in attrs:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        return obj
    raise ImportError(f"cannot import {path!r}: no module has it")


def _callable(value: Any, what: str, owner: str | None) -> Callable[..., Any]:
    func = value if callable(value) else import_name(value)
    if not callable(func):
        raise TypeError(f"derived source {owner!r}: {what} {value!r} is not callable")
    return func


def function_token(value: Any) -> str:
    """Name and code hash of a function given as a dotted path or a callable."""
    func = value if callable(value) else import_name(value)
    name = value if isinstance(value, str) else (
        f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', type(func).__name__)}"
    )
    return digest(name, code_token(func))


class _Container:
    """``container`` of a derived driver: on the class, intake's value; on a source,
    what it makes (for ``alias``, its target's), known without reading data."""

    def __init__(self, default: str):
        self.default = default

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.default
        return obj._output_container()


def _absolute(url: str) -> str:
    """A local catalog path made absolute, so that the record works from any directory."""
    import os

    if "://" in url or "::" in url:
        return url
    return os.path.abspath(url)


def _as_frame(part: Any) -> Any:
    """A pandas Series (a one-column result) as a DataFrame, for Parquet."""
    to_frame = getattr(part, "to_frame", None)
    if to_frame is not None and getattr(part, "ndim", 2) == 1:
        return to_frame()
    return part


class _Derived(DataSource):
    """What every derived driver shares: targets resolved once through the catalog,
    the token, the lineage, and the record kept in the metadata."""

    container = _Container("other")  # type: ignore[assignment]
    _ip_derived = True

    def _target_specs(self) -> list[tuple[Any, dict]]:
        """``(target, parameters)`` for each target, in order."""
        raise NotImplementedError

    def _code(self) -> dict:
        """``{what: code token}`` of the functions the source calls."""
        return {}

    def _fixed_container(self) -> str | None:
        return None

    # ---- the catalog and the targets ------------------------------------------------
    def _catalog(self) -> Any:
        """The catalog to find targets in: the one the source came from, else the one
        recorded in its metadata (a source rebuilt by the store), opened again."""
        cat = self.catalog_object
        if cat is None and self._entry is not None:
            cat = getattr(self._entry, "_catalog", None)
        if cat is None:
            cat = self.__dict__.get("_ip_cat")
        if cat is None:
            record = (self.metadata or {}).get(RECORD_KEY) or {}
            urls = record.get("catalog") if isinstance(record, dict) else None
            if urls:
                from ..catalog.loader import open_catalog

                mode = record.get("persist_mode") or "default"
                cat = open_catalog(urls if len(urls) > 1 else urls[0], persist_mode=mode)
                self.__dict__["_ip_cat"] = cat
        return cat

    def _open_other(self, url: str) -> Any:
        cache = self.__dict__.setdefault("_ip_other", {})
        if url not in cache:
            from ..catalog.loader import open_catalog

            own = self._catalog()
            mode = getattr(own, "persist_mode", None) or "default"
            kwargs = {"persist_mode": mode, **(self._init_kwargs.get("cat_kwargs") or {})}
            cache[url] = open_catalog(url, **kwargs)
        return cache[url]

    def _upstreams(self) -> list[Upstream]:
        """Every target, built (not read) once; their tokens are computed here too, so
        that a cycle of derived entries is found whatever asks first."""
        ups = self.__dict__.get("_ip_upstreams")
        if ups is None:
            cat = self._catalog()
            with visiting(cat, self.entry_name, self):
                ups = [
                    resolve(target, cat, kwargs, self.entry_name, self._open_other)
                    for target, kwargs in self._target_specs()
                ]
                for up in ups:
                    up.token  # noqa: B018  (resolves the target's own upstream)
            self.__dict__["_ip_upstreams"] = ups
            self._record(cat, ups)
        return ups

    def _record(self, cat: Any, ups: list[Upstream]) -> None:
        """Keep in the metadata what the store needs to rebuild and order this source."""
        old = (self.metadata or {}).get(RECORD_KEY)
        urls = [_absolute(u) for u in getattr(cat, "urls", None) or []]
        if not urls and isinstance(old, dict):
            urls = list(old.get("catalog") or [])
        upstream = []
        for up in ups:
            item = {"name": up.name, "token": up.token}
            if up.catalog_url:
                item["catalog"] = up.catalog_url
            upstream.append(item)
        self.metadata[RECORD_KEY] = {
            "catalog": urls,
            "persist_mode": getattr(cat, "persist_mode", None) or "default",
            "upstream": upstream,
        }

    def _output_container(self) -> str:
        explicit = self._init_kwargs.get("container")
        if isinstance(explicit, str) and explicit:
            return explicit
        fixed = self._fixed_container()
        if fixed is not None:
            return fixed
        ups = self._upstreams()
        if not ups:
            return "python"
        return str(ups[0].original.container)

    # ---- identity --------------------------------------------------------------------
    @property
    def token_args(self) -> dict:
        args = super().token_args
        targets = args.get("targets")
        if isinstance(targets, (list, tuple)):
            args["targets"] = [
                t if isinstance(t, str) else {"source": original_token(t)} for t in targets
            ]
        return args

    def __dask_tokenize__(self) -> str:
        ups = self._upstreams()
        return digest(
            self.classpath, self.container, self.token_args, [u.token for u in ups], self._code()
        )

    # ---- description -------------------------------------------------------------------
    def lineage(self) -> list[dict]:
        """The upstream entries, each with its parameters, token and own upstream."""
        return [up.lineage() for up in self._upstreams()]

    def describe(self) -> dict:
        """As any source's, plus ``lineage``: the tree of upstream entries."""
        out = super().describe()
        out["lineage"] = self.lineage()
        return out


class AliasSource(_Derived):
    """Another entry of the catalog, unchanged: ``target`` names it, or names a key
    of ``mapping`` (``{choice: entry}``), typically from a user parameter. ``kwargs``
    are passed to the target as its parameters; ``cat_kwargs`` open the catalog of a
    ``"url:entry"`` target."""

    name = "alias"
    version = "2"

    def __init__(
        self,
        target: Any,
        mapping: dict | None = None,
        metadata: dict | None = None,
        kwargs: dict | None = None,
        cat_kwargs: dict | None = None,
    ):
        super().__init__(metadata=metadata)
        self.target = target
        self.mapping = dict(mapping) if mapping else None
        self.kwargs = dict(kwargs or {})
        self.cat_kwargs = dict(cat_kwargs or {})

    def _chosen_name(self) -> Any:
        if self.mapping is None:
            return self.target
        try:
            return self.mapping[self.target]
        except (KeyError, TypeError):
            choices = ", ".join(map(repr, self.mapping))
            raise TargetError(
                f"alias {self.entry_name!r}: target {self.target!r} is not a key of its "
                f"mapping; choices: {choices or '(none)'}",
                entry=self.entry_name,
            ) from None

    def _target_specs(self) -> list[tuple[Any, dict]]:
        return [(self._chosen_name(), self.kwargs)]

    def _upstreams(self) -> list[Upstream]:
        ups = super()._upstreams()
        for key, value in (ups[0].original.metadata or {}).items():
            self.metadata.setdefault(key, value)
        return ups

    def _source(self) -> Any:
        return self._upstreams()[0].source()

    @property
    def partition_access(self) -> bool:  # type: ignore[override]
        return bool(getattr(self._source(), "partition_access", True))

    def _get_schema(self) -> Schema:
        info = self._source().discover()
        return Schema(
            dtype=info.get("dtype"),
            shape=info.get("shape"),
            npartitions=info.get("npartitions") or 1,
            extra_metadata=dict(info.get("metadata") or {}),
        )

    def _get_partition(self, i: int) -> Any:
        return self._source().read_partition(i)

    def read(self) -> Any:
        return self._source().read()

    def read_chunked(self) -> Iterator[Any]:
        return iter(self._source().read_chunked())

    def to_dask(self) -> Any:
        return self._source().to_dask()


class DerivedSource(_Derived):
    """The base of the transforms: ``targets`` (entry names, ``"url:entry"``, or
    sources), the parameters for each (``target_kwargs``, keyed by target), a
    ``target_chooser`` (``first``, the default, or ``first_discoverable``, or a dotted
    path to ``chooser(targets, cat, kwargs, cat_kwargs)``), and the output
    ``container`` when it is not the input's."""

    name = "derived"

    def __init__(
        self,
        targets: Any,
        target_chooser: Any = "first",
        target_kwargs: dict | None = None,
        cat_kwargs: dict | None = None,
        container: str | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        if isinstance(targets, (str, DataSource)) or hasattr(targets, "_ip_resolve"):
            targets = [targets]
        if not isinstance(targets, (list, tuple)) or not targets:
            raise TypeError(f"targets must be a non-empty list of entry names, got {targets!r}")
        self.targets = list(targets)
        self._chooser = target_chooser
        self._kwargs = dict(target_kwargs or {})
        self._cat_kwargs = dict(cat_kwargs or {})
        self._params = kwargs

    def _target_specs(self) -> list[tuple[Any, dict]]:
        out = []
        for t in self.targets:
            kw = self._kwargs.get(t) if isinstance(t, str) else None
            out.append((t, kw if isinstance(kw, dict) else {}))
        return out

    def _code(self) -> dict:
        code = {}
        chooser = self._chooser
        if not (isinstance(chooser, str) and chooser in _CHOOSERS):
            code["target_chooser"] = function_token(chooser)
        return code

    def _picked(self) -> Any:
        """The source to read, as the chooser picks it among the targets."""
        ups = self._upstreams()
        chooser = self._chooser
        kind = _CHOOSERS.get(chooser) if isinstance(chooser, str) else None
        if kind == "first":
            return ups[0].source()
        if kind == "first_discoverable":
            errors = []
            for up in ups:
                try:
                    src = up.source()
                    src.discover()
                    return src
                except Exception as exc:  # noqa: BLE001 - the next target is tried
                    errors.append(f"{up.name}: {type(exc).__name__}: {exc}")
            raise RuntimeError(
                f"derived source {self.entry_name!r}: no target could be discovered ("
                + "; ".join(errors)
                + ")"
            )
        func = _callable(chooser, "target_chooser", self.entry_name)
        return func(self.targets, self._catalog(), self._kwargs, self._cat_kwargs)


class GenericTransform(DerivedSource):
    """``transform(target data, **transform_kwargs)``: ``transform`` is a dotted path
    (or, from Python, a callable). ``read()`` gives it the target's data in memory,
    ``to_dask()`` the target's dask collection (unless ``allow_dask`` is false). The
    output container is ``container`` when given, else the target's. One partition."""

    name = "generic_transform"

    def __init__(
        self,
        targets: Any,
        transform: Any = None,
        transform_kwargs: dict | None = None,
        allow_dask: bool = True,
        target_chooser: Any = "first",
        target_kwargs: dict | None = None,
        cat_kwargs: dict | None = None,
        container: str | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            targets, target_chooser, target_kwargs, cat_kwargs, container, metadata, **kwargs
        )
        if transform is None:
            raise TypeError(f"{type(self).__name__} needs a 'transform' (a dotted path)")
        self._transform_spec = transform
        self._transform_kwargs = dict(transform_kwargs or {})
        self._allow_dask = allow_dask

    def _transform(self) -> Callable[..., Any]:
        return _callable(self._transform_spec, "transform", self.entry_name)

    def _code(self) -> dict:
        return {**super()._code(), "transform": function_token(self._transform_spec)}

    def _apply(self, data: Any) -> Any:
        return self._transform()(data, **copy.deepcopy(self._transform_kwargs))

    def _get_schema(self) -> Schema:
        return Schema(npartitions=1)

    def _get_partition(self, i: int) -> Any:
        return self.read()

    def read(self) -> Any:
        return self._apply(self._picked().read())

    def to_dask(self) -> Any:
        if not self._allow_dask:
            raise ValueError(
                f"derived source {self.entry_name!r} has allow_dask=False: its transform "
                "does not take dask collections"
            )
        return self._apply(self._picked().to_dask())


class DataFrameTransform(GenericTransform):
    """A transform from a dask dataframe to a dask dataframe (intake's contract): the
    target's ``to_dask()`` goes through ``transform``; the result's partitions are the
    source's partitions."""

    name = "dataframe_transform"
    container = _Container("dataframe")  # type: ignore[assignment]

    def _fixed_container(self) -> str | None:
        return "dataframe"

    def _frame(self) -> Any:
        ddf = self.__dict__.get("_ip_frame")
        if ddf is None:
            ddf = self._apply(self._picked().to_dask())
            self.__dict__["_ip_frame"] = ddf
        return ddf

    def _get_schema(self) -> Schema:
        ddf = self._frame()
        meta = ddf._meta
        if getattr(meta, "ndim", 2) == 1:
            dtype = {str(meta.name): str(meta.dtype)}
        else:
            dtype = {str(k): str(v) for k, v in meta.dtypes.items()}
        return Schema(dtype=dtype, shape=(None, len(dtype)), npartitions=ddf.npartitions)

    def _get_partition(self, i: int) -> Any:
        return _as_frame(self._frame().partitions[i].compute())

    def read(self) -> Any:
        return self._frame().compute()

    def to_dask(self) -> Any:
        return self._frame()

    def _close(self) -> None:
        self.__dict__.pop("_ip_frame", None)


class Columns(DataFrameTransform):
    """The target dataframe's ``columns`` (a label or a list of them)."""

    name = "columns"

    def __init__(self, columns: Any, **kwargs: Any):
        kwargs.setdefault("transform", _pick_columns)
        kwargs["transform_kwargs"] = {"columns": columns}
        super().__init__(**kwargs)
        self.columns = columns

    def _code(self) -> dict:
        return DerivedSource._code(self)


def _pick_columns(df: Any, columns: Any) -> Any:
    return df[columns]
