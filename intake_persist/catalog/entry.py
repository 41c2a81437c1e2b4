"""Catalog entries: the raw spec of one source, described and instantiated on demand.

An entry keeps the spec as written in the YAML file and does nothing at
construction, so opening a catalog of thousands of entries stays cheap. Calling
it renders the arguments with the user parameters and builds the driver's
source, then applies the persist mode (``docs/persisting.rst``).
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, SupportsIndex

from ..errors import (
    CatalogError,
    CatalogRecursionError,
    DriverImportError,
    EntryDriverError,
    UnknownDriverError,
)
from ..sources.registry import get_driver_class, recorded_driver, resolve_driver_name
from .errors import EntryError, ParameterError, TemplateError, check_persist_mode
from .limits import MAX_CATALOG_NESTING, driver_error, located, located_os_error

if TYPE_CHECKING:
    from ..sources.base import DataSource

CATALOG_DRIVERS = frozenset({"yaml_file_cat", "yaml_files_cat"})
_PERSIST_KWARGS = ("persist_mode", "persist")


def driver_candidates(raw: Any) -> list[str]:
    """Driver names an entry's ``driver`` gives, in order: a string, each name of a
    list, each key and ``class`` of a mapping."""
    if isinstance(raw, str):
        return [raw.strip()] if raw.strip() else []
    out: list[str] = []
    if isinstance(raw, (list, tuple)):
        for item in raw:
            out.extend(driver_candidates(item))
    elif isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, dict) and isinstance(value.get("class"), str):
                out.append(value["class"])
            elif isinstance(key, str) and key:
                out.append(key)
    return out


def entry_driver_name(raw: Any) -> str | None:
    """The driver name of an entry, from the forms intake 0.x catalogs use.

    ``driver: csv``; ``driver: intake.source.csv.CSVSource``; a list of names (the
    first known one wins); a mapping ``{csv: {class: intake.source.csv.CSVSource}}``.
    """
    if isinstance(raw, str):
        return raw.strip() or None
    candidates: list[str] = []
    if isinstance(raw, (list, tuple)):
        for item in raw:
            name = entry_driver_name(item)
            if name:
                candidates.append(name)
    elif isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(key, str) and key:
                candidates.append(key)
            if isinstance(value, dict) and isinstance(value.get("class"), str):
                candidates.append(value["class"])
    if not candidates:
        return None
    from ..sources.registry import registry

    known = registry()
    for name in candidates:
        if resolve_driver_name(name) in known:
            return name
    return candidates[0]


def _valid_driver_form(raw: Any) -> bool:
    if isinstance(raw, str):
        return bool(raw.strip())
    if isinstance(raw, (list, tuple, dict)):
        return len(raw) > 0
    return False


def _same_protocol(args: dict, parent: Any) -> bool:
    """Whether a nested catalog's path uses the parent catalog's protocol."""
    from .._io import protocol

    path = args.get("path", args.get("urlpath"))
    if isinstance(path, (list, tuple)) and path:
        path = path[0]
    urls = getattr(parent, "urls", None) or []
    if not isinstance(path, str) or not urls:
        return False
    return protocol(path) == protocol(urls[0])


def _named(method):
    """Errors of ``method`` name the entry and its catalog file: a CatalogError gets
    them added to its message; running out of stack (a structure or catalog chain
    nested without end) becomes a CatalogRecursionError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except CatalogError as exc:
            new = located(exc, self.url, self.name)
            if new is exc:
                raise
            raise new from exc
        except RecursionError as exc:
            where = f"catalog {self.url}, " if self.url else ""
            raise CatalogRecursionError(
                f"{where}entry {self.name!r}: nested too deep (a structure or a chain of "
                "catalogs without end)",
                url=self.url,
                entry=self.name,
            ) from exc

    return wrapper


def _derives(cls: type) -> bool:
    """True for a derived driver (alias, transforms), whose container is per source."""
    return bool(getattr(cls, "_ip_derived", False))


def _nesting(catalog: Any) -> int:
    """How many catalogs ``catalog`` is nested in."""
    n = 0
    while catalog is not None and n <= MAX_CATALOG_NESTING:
        catalog = getattr(catalog, "catalog_object", None)
        n += 1
    return n


class CatalogEntry:
    """One ``sources:`` entry of a catalog file.

    ``spec`` is the mapping as written; ``catalog`` is the catalog holding it, which
    gives the persist mode, ``CATALOG_DIR``, ``allow_shell`` and the catalog-level
    parameters.
    """

    __slots__ = ("name", "_spec", "_catalog", "_file", "_params", "_cls", "_is_cat")

    def __init__(self, name: str, spec: dict, catalog: Any = None, file: Any = None):
        self.name = name
        self._spec = spec
        self._catalog = catalog
        self._file = file  # _FileInfo: url, catalog_dir, parameters
        self._params: dict | None = None
        self._cls: type[DataSource] | None = None
        self._is_cat: bool | None = None

    # ---- raw spec ----------------------------------------------------------------
    @property
    def spec(self) -> dict:
        return self._spec

    @property
    def description(self) -> str:
        return self._spec.get("description") or ""

    @property
    def driver(self) -> str | None:
        return entry_driver_name(self._spec.get("driver"))

    @property
    def args(self) -> dict:
        args = self._spec.get("args")
        return args if isinstance(args, dict) else {}

    @property
    def metadata(self) -> dict:
        md = self._spec.get("metadata")
        return md if isinstance(md, dict) else {}

    @property
    def catalog_dir(self) -> str | None:
        return None if self._file is None else self._file.catalog_dir

    @property
    def url(self) -> str | None:
        return None if self._file is None else self._file.url

    @property
    @_named
    def user_parameters(self) -> dict:
        """``{name: UserParameter}``: the catalog's parameters that the entry does not
        define itself, then the entry's own (as intake 0.7.0 lists them)."""
        if self._params is None:
            from .parameters import UserParameter

            own: dict = {}
            group = self._spec.get("parameters")
            if group:
                if not isinstance(group, dict):
                    raise ParameterError(
                        f"entry {self.name!r}: 'parameters' must be a mapping, got {group!r}",
                        entry=self.name,
                    )
                for pname, pspec in group.items():
                    own[str(pname)] = UserParameter.from_spec(str(pname), pspec, entry=self.name)
            shared = getattr(self._catalog, "user_parameters", None)
            if not isinstance(shared, dict):
                shared = {}
                specs = self._file.parameters if self._file is not None else None
                for pname, pspec in (specs or {}).items():
                    shared[str(pname)] = UserParameter.from_spec(str(pname), pspec)
            params = {k: v for k, v in shared.items() if k not in own}
            params.update(own)
            self._params = params
        return self._params

    def driver_class(self) -> type[DataSource]:
        """The driver class; raises the registry's UnknownDriverError if unknown."""
        if self._cls is None:
            name = self.driver
            if name is None:
                raise EntryError(
                    f"entry {self.name!r} has no driver", entry=self.name, url=self.url
                )
            md = self._spec.get("metadata")
            recorded = md.get("container") if isinstance(md, dict) else None
            try:
                self._cls = get_driver_class(recorded_driver(name, recorded))
            except UnknownDriverError as exc:
                imported = isinstance(exc.__cause__, ImportError)
                cls = DriverImportError if imported else EntryDriverError
                where = f"catalog {self.url}, " if self.url else ""
                message = f"{where}entry {self.name!r}: {exc}"
                raise cls(message, url=self.url, entry=self.name) from (exc.__cause__ or exc)
        return self._cls

    @property
    def container(self) -> str | None:
        name = self.driver
        if name is not None and resolve_driver_name(name) in CATALOG_DRIVERS:
            return "catalog"
        try:
            cls = self.driver_class()
        except ValueError:  # unknown driver: describe() still works
            return None
        if _derives(cls):  # alias: its target's, found by building (not reading) it
            try:
                return self.build().container
            except Exception:  # noqa: BLE001 - a bad target, a cycle: describe() works
                return None
        return cls.container

    @property
    def is_catalog(self) -> bool:
        """True when the driver is a catalog driver (unknown drivers: False)."""
        if self._is_cat is None:
            name = self.driver
            if name is None:
                self._is_cat = False
            elif resolve_driver_name(name) in CATALOG_DRIVERS:
                self._is_cat = True
            else:
                try:
                    derived = _derives(self.driver_class())
                except ValueError:
                    derived = False
                self._is_cat = not derived and self.container == "catalog"
        return self._is_cat

    @property
    def direct_access(self) -> str:
        """intake's ``direct_access`` (forbid, allow or force; ``forbid`` when absent)."""
        return self._spec.get("direct_access", "forbid")

    @_named
    def describe(self) -> dict:
        """What the entry is, without reading data: ``args`` and ``driver`` as written,
        ``container`` from the driver class (None for an unknown driver),
        ``direct_access``, ``metadata`` and the user parameters; for a derived entry,
        ``lineage`` too (the tree of its upstream entries)."""
        out = {
            "name": self.name,
            "description": self.description,
            "driver": copy.deepcopy(self._spec.get("driver")),
            "direct_access": self.direct_access,
            "container": self.container,
            "args": copy.deepcopy(self.args),
            "metadata": copy.deepcopy(self.metadata),
            "user_parameters": [p.describe() for p in self.user_parameters.values()],
        }
        lineage = self._lineage()
        if lineage is not None:
            out["lineage"] = lineage
        return out

    def _lineage(self) -> list | None:
        """A derived entry's tree of upstream entries, built with default parameters;
        None for other entries, and for one that cannot be built (a bad target, a
        cycle), which is described all the same."""
        try:
            if not _derives(self.driver_class()):
                return None
            lineage: list = self.build().lineage()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            return None
        return lineage

    def __repr__(self) -> str:
        return f"<CatalogEntry {self.name!r} driver={self.driver!r}>"

    # ---- building sources -------------------------------------------------------
    def _context(self) -> dict:
        from .templates import base_context

        allow_shell = bool(getattr(self._catalog, "_allow_shell", False))
        return base_context(self.catalog_dir, allow_shell)

    def _split_kwargs(self, kwargs: dict) -> tuple[dict, dict]:
        """User parameter values and driver-argument overrides; others are refused."""
        params = self.user_parameters
        values: dict = {}
        overrides: dict = {}
        unknown: list[str] = []
        args = self.args
        signature_names: set | None = None
        for key, value in kwargs.items():
            if key in params:
                values[key] = value
            elif key in args:
                overrides[key] = value
            else:
                if signature_names is None:
                    signature_names = self._driver_arg_names()
                if key in signature_names:
                    overrides[key] = value
                else:
                    unknown.append(key)
        if unknown:
            known = sorted(params)
            raise ParameterError(
                f"entry {self.name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"user parameters are: {', '.join(known) if known else '(none)'}; "
                f"driver arguments may also be overridden: "
                f"{', '.join(sorted(set(args) | self._driver_arg_names())) or '(none)'}",
                entry=self.name,
            )
        return values, overrides

    def _driver_arg_names(self) -> set:
        import inspect

        try:
            sig = inspect.signature(self.driver_class().__init__)
        except (TypeError, ValueError):
            return set()
        return {
            p.name
            for p in sig.parameters.values()
            if p.name not in ("self", "metadata")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    @_named
    def build(self, _persist_mode: str | None = None, **kwargs: Any) -> DataSource:
        """The original source for these parameter values (no persist-mode handling)."""
        from .templates import one_budget

        with one_budget():  # every template of the entry shares the limits
            return self._build(_persist_mode, **kwargs)

    def _build(self, _persist_mode: str | None = None, **kwargs: Any) -> DataSource:
        from .templates import render

        raw_args = self._spec.get("args")
        if raw_args is not None and not isinstance(raw_args, dict):
            raise EntryError(
                f"entry {self.name!r}{f' of catalog {self.url}' if self.url else ''}: 'args' "
                f"must be a mapping, got {type(raw_args).__name__}",
                url=self.url,
                entry=self.name,
            )
        values, overrides = self._split_kwargs(kwargs)
        cls = self.driver_class()
        context = self._context()
        params = self.user_parameters
        try:
            for pname, param in params.items():
                if pname in values:
                    context[pname] = param.validate(values[pname])
                else:
                    context[pname] = param.expand_default(context)
            args = render(self.args, context) if self.args else {}
        except TemplateError as exc:
            if exc.entry is not None:
                raise
            where = f" of catalog {self.url}" if self.url else ""
            raise type(exc)(
                f"entry {self.name!r}{where}: {exc}", url=self.url, entry=self.name
            ) from exc
        if overrides:
            args.update(overrides)
        # as intake 0.7.0: the entry's metadata, rendered, with the catalog's directory
        metadata = copy.deepcopy(self.metadata)
        if metadata:
            try:
                metadata = render(metadata, context)
            except TemplateError:
                pass  # metadata is not data: keep it as written
        metadata["catalog_dir"] = self.catalog_dir
        cache = self._spec.get("cache")
        if cache:  # intake 0.7.0 hands the entry's cache specs to the source this way
            metadata["cache"] = copy.deepcopy(cache)
        if "metadata" in args:  # metadata written among the args: merge it
            extra = args.pop("metadata")
            if isinstance(extra, dict):
                metadata = {**extra, **metadata}
        parent = self._catalog
        is_catalog = getattr(cls, "container", None) == "catalog"
        if is_catalog and _nesting(parent) > MAX_CATALOG_NESTING:
            raise CatalogRecursionError(
                f"entry {self.name!r}: catalogs nested more than {MAX_CATALOG_NESTING} levels "
                "deep (a catalog that includes itself?); refused",
                url=self.url,
                entry=self.name,
            )
        if is_catalog and parent is not None:
            # nested catalogs inherit the parent's mode and shell permission (a YAML file
            # cannot grant itself shell access); neither is part of the token
            args["persist_mode"] = _persist_mode or getattr(parent, "_persist_mode", "default")
            args["allow_shell"] = bool(getattr(parent, "_allow_shell", False))
            parent_so = getattr(parent, "_storage_options", None)
            if parent_so and "storage_options" not in args and _same_protocol(args, parent):
                args["storage_options"] = dict(parent_so)
        try:
            source = cls(**args, metadata=metadata)
        except (CatalogError, RecursionError):
            raise  # named by _named
        except OSError as exc:  # a nested catalog's file: same class, entry named too
            raise located_os_error(exc, self.url, self.name) from exc
        except Exception as exc:
            raise driver_error(exc, self.url, self.name, self._spec.get("driver")) from exc
        source.entry_name = self.name
        source.description = self.description
        if getattr(cls, "container", None) == "catalog" and parent is not None:
            shared = getattr(parent, "user_parameters", None)
            if isinstance(shared, dict) and hasattr(source, "_parent_params"):
                source._parent_params = dict(shared)  # passed down, as in intake
        source.catalog_object = parent
        source._entry = self
        return source

    @_named
    def __call__(self, **kwargs: Any) -> DataSource:
        """The source for these user parameters (defaults otherwise), after the persist
        mode: ``persist_mode=`` (alias ``persist=``) overrides the catalog's mode.
        ``as_of=`` (a datetime or ISO-8601 time) hands back the store's copy that was
        current then, whatever the mode."""
        as_of = kwargs.pop("as_of", None)
        mode = None
        for key in _PERSIST_KWARGS:
            if key in kwargs:
                value = kwargs.pop(key)
                if mode is not None and value != mode:
                    raise ValueError(
                        f"persist_mode={mode!r} and persist={value!r} disagree; pass one of them"
                    )
                mode = value
        if mode is None:
            mode = getattr(self._catalog, "_persist_mode", "default")
        mode = check_persist_mode(mode)
        source = self.build(_persist_mode=mode, **kwargs)
        if as_of is not None:
            return self.copy_as_of(source, as_of)
        return self.apply_persist_mode(source, mode)

    def copy_as_of(self, source: DataSource, as_of: Any) -> DataSource:
        """The store's copy of ``source`` (built from this entry) that was current at
        ``as_of``; an error when the store has none of it, or none that old."""
        from ..errors import NotPersistedError
        from ..store import get_store

        store = get_store()
        copy = store.get(source.token, as_of=as_of)
        if copy is None:
            where = f" of catalog {self.url}" if self.url else ""
            raise NotPersistedError(
                f"entry {self.name!r}{where} has no persisted copy in the persist store "
                f"{store.path} (key {source.token}), so none as of {as_of!r}"
            )
        try:
            copy._entry = self
        except AttributeError:
            pass
        return copy

    def apply_persist_mode(self, source: DataSource, mode: str) -> DataSource:
        """``source`` (built from this entry) as the persist mode hands it back."""
        if mode == "never" or source.container == "catalog":
            return source
        from ..store import get_store

        resolved = get_store().resolve(source, mode)
        if resolved is not source and getattr(resolved, "_entry", None) is None:
            try:
                resolved._entry = self  # so that calling it again goes through the entry
            except AttributeError:
                pass
        return resolved

    get = __call__


class EntrySource:
    """What ``cat.name`` / ``cat["name"]`` hand back when the catalog's mode may use
    the persist store: the entry's source with default parameters, resolved under
    the catalog's persist mode on first use.

    The original source is built at once (so bad parameters or an unknown driver
    fail here); its resolution is deferred so that ``cat.name(persist_mode="never")``
    (or any call with parameters) goes straight to the entry: nothing is looked up,
    refreshed or re-persisted under the catalog's mode on the way. Any other use (attributes,
    ``isinstance``, ``with``, pickling, tokenizing) resolves it once and acts on the
    resolved source.
    """

    __slots__ = ("_ip_entry", "_ip_original", "_ip_mode", "_ip_source")

    def __init__(self, entry: CatalogEntry, original: DataSource, mode: str):
        object.__setattr__(self, "_ip_entry", entry)
        object.__setattr__(self, "_ip_original", original)
        object.__setattr__(self, "_ip_mode", mode)
        object.__setattr__(self, "_ip_source", None)

    def _ip_resolve(self) -> Any:  # the source, or a catalog: what the proxy forwards to
        source = object.__getattribute__(self, "_ip_source")
        if source is None:
            entry = object.__getattribute__(self, "_ip_entry")
            source = entry.apply_persist_mode(
                object.__getattribute__(self, "_ip_original"),
                object.__getattribute__(self, "_ip_mode"),
            )
            object.__setattr__(self, "_ip_source", source)
        return source

    def __call__(self, **kwargs: Any) -> DataSource:
        return object.__getattribute__(self, "_ip_entry")(**kwargs)

    # Persisting and exporting act on the entry's original, never on a copy the
    # mode would hand back: ``cat.name.persist()`` refreshes a fresh copy too.
    def persist(self, ttl: float | None = None, **kwargs: Any) -> DataSource:
        return object.__getattribute__(self, "_ip_original").persist(ttl=ttl, **kwargs)

    def export(self, path: str, **kwargs: Any) -> str:
        return object.__getattribute__(self, "_ip_original").export(path, **kwargs)

    @property
    def has_been_persisted(self) -> bool:
        return object.__getattribute__(self, "_ip_original").has_been_persisted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ip_resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._ip_resolve(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._ip_resolve(), name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(cat.name, DataSource) holds
        return type(self._ip_resolve())

    def __dir__(self) -> list[str]:
        return dir(self._ip_resolve())

    def __repr__(self) -> str:
        return repr(self._ip_resolve())

    def __enter__(self) -> DataSource:
        return self._ip_resolve().__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self._ip_resolve().__exit__(*exc)

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return self._ip_resolve().__reduce_ex__(protocol)

    def __dask_tokenize__(self) -> Any:
        return self._ip_resolve().__dask_tokenize__()

    def __eq__(self, other: object) -> bool:
        return self._ip_resolve() == other

    def __hash__(self) -> int:
        return hash(self._ip_resolve())

    def __bool__(self) -> bool:
        return bool(self._ip_resolve())

    def __iter__(self):
        return iter(self._ip_resolve())

    def __len__(self) -> int:
        return len(self._ip_resolve())

    def __getitem__(self, key: Any) -> Any:
        return self._ip_resolve()[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._ip_resolve()
