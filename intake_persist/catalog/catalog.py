"""Catalogs: a DataSource of container ``catalog`` whose entries build other sources.

``YAMLFileCatalog`` reads one intake 0.x YAML file, ``YAMLFilesCatalog`` merges
several (a list, a glob or a directory). Entries are kept as raw YAML mappings and
turned into :class:`CatalogEntry` objects only when used, so opening and listing
a large catalog costs little more than parsing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar, overload

from .. import _io
from ..sources.base import DataSource, Schema
from .entry import CatalogEntry, EntrySource
from .errors import CatalogError, DuplicateKeyError, check_persist_mode
from .files import (
    catalog_dir_of,
    catalog_files,
    name_from_path,
    normalize_url,
    parse_catalog,
    parse_catalog_text,
    read_catalog_text,
)

_T = TypeVar("_T")


class _FileInfo:
    """Where a group of entries came from: the file's URL, its CATALOG_DIR and the
    catalog-level parameter specs."""

    __slots__ = ("url", "catalog_dir", "parameters")

    def __init__(self, url: str | None, catalog_dir: str | None, parameters: Any = None):
        self.url = url
        self.catalog_dir = catalog_dir
        self.parameters = parameters


# ---- the catalog ------------------------------------------------------------------
class _LazyEntries(Mapping):
    """``{name: CatalogEntry}`` built on first access of each name."""

    __slots__ = ("_cat",)

    def __init__(self, cat: Catalog):
        self._cat = cat

    def __getitem__(self, name: str) -> CatalogEntry:
        return self._cat.get_entry(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._cat._raw)

    def __len__(self) -> int:
        return len(self._cat._raw)

    def __contains__(self, name: object) -> bool:
        return name in self._cat._raw


class Catalog(DataSource):
    """A source whose items are catalog entries.

    ``list(cat)`` gives entry names; ``cat.name`` / ``cat["name"]`` the entry's
    source with default parameters (through the persist mode); ``cat.name(year=2021)``
    another one; ``cat.walk(depth=2)`` the entries, nested catalogs included.
    """

    container = "catalog"
    name = "catalog"
    partition_access = False

    def __init__(
        self,
        metadata: dict | None = None,
        persist_mode: str = "default",
        allow_shell: bool = False,
        storage_options: dict | None = None,
        user_parameters: Any = None,
        **kwargs: Any,
    ):
        super().__init__(metadata=metadata)
        # how the catalog is used, not what it is: kept out of the token and the YAML
        self._init_kwargs.pop("persist_mode", None)
        self._init_kwargs.pop("allow_shell", None)
        # parameters given as an argument (a nested catalog entry's args), and those
        # a parent catalog passes down (set by the parent's entry, win over the rest)
        self._arg_params = _parameter_specs(user_parameters)
        self._parent_params: dict = {}
        self._own_fields: dict = {}
        self._persist_mode = check_persist_mode(persist_mode)
        self._allow_shell = bool(allow_shell)
        self._storage_options = dict(storage_options or {})
        self._extra_kwargs = kwargs  # intake 0.x catalog options (ttl, getenv...): ignored
        self._raw: dict[str, dict] = {}
        self._file_of: dict[str, _FileInfo] = {}
        self._entry_cache: dict[str, CatalogEntry] = {}
        self._files: list[_FileInfo] = []
        self._entries = _LazyEntries(self)
        self._own_metadata = dict(metadata or {})

    @classmethod
    def from_dict(
        cls,
        sources: dict,
        metadata: dict | None = None,
        catalog_dir: str | None = None,
        **kwargs: Any,
    ) -> Catalog:
        """A catalog from entry specs (``{name: {driver:..., args:...}}``)."""
        from .._yaml import dump

        cat = Catalog(metadata=metadata, **kwargs)
        text = dump({"metadata": metadata or {}, "sources": sources})
        meta, raw, params = parse_catalog_text(text)
        cat._add(_FileInfo(None, catalog_dir, params), meta, raw)
        return cat

    # ---- loading ----------------------------------------------------------------
    @property
    def user_parameters(self) -> dict:
        """``{name: UserParameter}``: the catalog-level parameters (``metadata:
        parameters:`` of its file(s), ``user_parameters`` given as an argument, and
        those of the parent catalog, which win). They apply to every entry that has
        no parameter of the same name."""
        from .parameters import UserParameter

        out: dict = {}
        own_url = self.urls[0] if len(self.urls) == 1 else None
        groups = [(self._arg_params, own_url)] + [(f.parameters or {}, f.url) for f in self._files]
        for group, url in groups:
            for pname, spec in group.items():
                if isinstance(spec, UserParameter):
                    out[pname] = spec
                    continue
                try:
                    out[str(pname)] = UserParameter.from_spec(str(pname), spec)
                except CatalogError as exc:  # name the file the parameter is written in
                    from .limits import located

                    named = located(exc, url)
                    if named is exc:
                        raise
                    raise named from exc
        out.update(self._parent_params)
        return out

    def _add(self, info: _FileInfo, metadata: dict, sources: dict, own: dict | None = None) -> None:
        if own and not self._files:
            self._own_fields = dict(own)
        self._files.append(info)
        for name in sources:
            self._entry_cache.pop(name, None)
        self._raw.update(sources)
        self._file_of.update(dict.fromkeys(sources, info))
        if metadata:
            merged = dict(self.metadata)
            merged.update(metadata)
            # as intake 0.7.0: the file's own metadata wins over what the constructor
            # (for a nested catalog, its entry) gave
            self.metadata = merged

    def _load_file(self, url: str) -> None:
        text = read_catalog_text(url, self._storage_options)
        metadata, sources, params, own = parse_catalog(text, url)
        self._add(_FileInfo(url, catalog_dir_of(url), params), metadata, sources, own)

    def _reset(self) -> None:
        self._own_fields = {}
        self._raw = {}
        self._file_of = {}
        self._entry_cache = {}
        self._files = []
        self.metadata = dict(self._own_metadata)

    def reload(self) -> Catalog:
        """Read the catalog file(s) again."""
        self._reset()
        self._load()
        return self

    def _load(self) -> None:
        pass

    def __call__(self, **kwargs: Any) -> Catalog:
        """The same catalog with other options (``persist_mode=``, ``allow_shell=``...);
        a value for one of its ``user_parameters`` becomes that parameter's default
        for every entry, as in intake 0.7.0 (``cat(region="us").trips``)."""
        try:
            shared = self.user_parameters
            defaults = {k: kwargs.pop(k) for k in list(kwargs) if k in shared}
            if self._entry is not None:
                new = self._entry(**kwargs)
            else:
                new = self._with_options(**kwargs)
            for pname, value in defaults.items():
                new._parent_params[pname] = shared[pname].with_default(value)
        except CatalogError as exc:  # name the file (a parameter's value refused...)
            from .limits import located

            url = self.urls[0] if len(self.urls) == 1 else None
            named = located(exc, url)
            if named is exc:
                raise
            raise named from exc
        return new

    def _with_options(self, **kwargs: Any) -> Catalog:
        if "persist" in kwargs:
            kwargs.setdefault("persist_mode", kwargs.pop("persist"))
        merged = {
            "persist_mode": self._persist_mode,
            "allow_shell": self._allow_shell,
            **self._init_kwargs,
            **kwargs,
        }
        new = type(self)(*self._init_args, **merged)
        new.description = self.description
        new.entry_name = self.entry_name
        new.catalog_object = self.catalog_object
        new._parent_params = dict(self._parent_params)
        return new

    # ---- options ----------------------------------------------------------------
    @property
    def persist_mode(self) -> str:
        return self._persist_mode

    @persist_mode.setter
    def persist_mode(self, mode: str) -> None:
        self._persist_mode = check_persist_mode(mode)

    @property
    def urls(self) -> list[str]:
        return [f.url for f in self._files if f.url]

    # ---- entries ----------------------------------------------------------------
    def get_entry(self, name: str) -> CatalogEntry:
        """The :class:`CatalogEntry` called ``name`` (KeyError if absent)."""
        entry = self._entry_cache.get(name)
        if entry is None:
            try:
                spec = self._raw[name]
            except KeyError:
                raise KeyError(self._missing(name)) from None
            entry = CatalogEntry(name, spec, self, self._file_of.get(name))
            self._entry_cache[name] = entry
        return entry

    def _missing(self, name: str) -> str:
        where = f" {self.urls[0]}" if len(self.urls) == 1 else ""
        return f"no entry {name!r} in catalog{where}"

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._raw))

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def keys(self) -> list[str]:
        return list(self._raw)

    def items(self) -> Iterator[tuple[str, DataSource | EntrySource]]:
        """``(name, source)`` pairs, sources built with default parameters."""
        for name in list(self._raw):
            yield name, self[name]

    def __getitem__(self, key: str) -> DataSource | EntrySource:
        if key in self._raw:
            entry = self.get_entry(key)
            if self._persist_mode == "never" or entry.is_catalog:
                return entry()
            # resolved under the catalog's mode on first use, so that a call with
            # persist_mode=... is not preceded by a store lookup
            mode = self._persist_mode
            return EntrySource(entry, entry.build(_persist_mode=mode), mode)
        if isinstance(key, str) and "." in key:
            # dotted path into nested catalogs: try the longest matching prefix first
            parts = key.split(".")
            for i in range(len(parts) - 1, 0, -1):
                head = ".".join(parts[:i])
                if head in self._raw and self.get_entry(head).is_catalog:
                    return self.get_entry(head)()[".".join(parts[i:])]
        raise KeyError(self._missing(key))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raw = self.__dict__.get("_raw")
        if raw is not None and name in raw:
            return self[name]
        raise AttributeError(f"{type(self).__name__} object has no attribute or entry {name!r}")

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(n for n in self._raw if n.isidentifier())
        return sorted(names)

    @overload
    def walk(
        self, depth: int = 2, on_error: Literal["raise", "skip"] = "raise"
    ) -> dict[str, CatalogEntry]: ...

    @overload
    def walk(
        self, depth: int, on_error: Callable[[str, Exception], _T | None]
    ) -> dict[str, CatalogEntry | _T]: ...

    @overload
    def walk(
        self, depth: int = 2, *, on_error: Callable[[str, Exception], _T | None]
    ) -> dict[str, CatalogEntry | _T]: ...

    def walk(self, depth: int = 2, on_error: Any = "raise") -> dict[str, Any]:
        """``{dotted name: entry}`` for the entries, and those of nested catalogs down to
        ``depth`` levels (``depth=1``: this catalog only).

        ``on_error`` decides what an entry that cannot be read, or a nested catalog
        that cannot be opened, does to the walk: ``"raise"`` its error, ``"skip"`` it,
        or call ``on_error(name, exception)``, whose result, unless None, stands in
        for it under ``name``. A nested catalog that cannot be opened is named
        ``parent.*`` there (its entry ``parent`` is listed before it)."""
        if on_error not in ("raise", "skip") and not callable(on_error):
            raise ValueError(
                f"on_error must be 'raise', 'skip' or a callable (name, exception), "
                f"got {on_error!r}"
            )
        out: dict[str, Any] = {}

        def failed(name: str, exc: Exception) -> None:
            if on_error == "raise":
                raise exc
            if on_error != "skip":
                stand_in = on_error(name, exc)
                if stand_in is not None:
                    out[name] = stand_in

        for name in list(self._raw):
            try:
                entry = self.get_entry(name)
            except Exception as exc:  # noqa: BLE001 - on_error decides
                failed(name, exc)
                continue
            out[name] = entry
            if depth > 1 and entry.is_catalog:
                try:
                    sub = entry()
                except Exception as exc:  # noqa: BLE001 - on_error decides
                    failed(f"{name}.*", exc)
                    continue
                inner = on_error
                if callable(on_error):
                    def inner(sub_name: str, exc: Exception, _p: str = f"{name}.") -> Any:
                        return on_error(_p + sub_name, exc)
                for subname, value in sub.walk(depth - 1, inner).items():
                    out[f"{name}.{subname}"] = value
        return out

    # ---- DataSource API ---------------------------------------------------------
    def _get_schema(self) -> Schema:
        return Schema(
            dtype=None, shape=(len(self._raw),), npartitions=0, extra_metadata=dict(self.metadata)
        )

    def _get_partition(self, i: int) -> Any:
        raise IndexError("a catalog has no partitions; use its entries")

    def read(self) -> Catalog:
        """A catalog reads as itself."""
        return self

    def to_dask(self) -> Any:
        raise TypeError("a catalog has no data of its own to turn into a dask collection")

    def export(self, path: str, **kwargs: Any) -> str:
        raise TypeError("a catalog cannot be exported; export its entries instead")

    def describe(self) -> dict:
        if self._entry is not None:
            return self._entry.describe()
        return {
            "name": self.entry_name,
            "description": self.description,
            "driver": self.driver_name,
            "container": "catalog",
            "args": {k: v for k, v in self._init_kwargs.items() if k != "metadata"},
            "metadata": dict(self.metadata),
            "user_parameters": [p.describe() for p in self.user_parameters.values()],
            "entries": list(self._raw),
        }

    def __repr__(self) -> str:
        label = f" {self.entry_name!r}" if self.entry_name else ""
        where = (
            f" {self.urls[0]!r}"
            if len(self.urls) == 1
            else (f" ({len(self.urls)} files)" if self.urls else "")
        )
        return f"<{type(self).__name__}{label}{where} entries={len(self._raw)}>"


class YAMLFileCatalog(Catalog):
    """A catalog read from one YAML file (local path or fsspec URL)."""

    name = "yaml_file_cat"

    def __init__(
        self,
        path: str | None = None,
        urlpath: str | None = None,
        storage_options: dict | None = None,
        metadata: dict | None = None,
        persist_mode: str = "default",
        allow_shell: bool = False,
        text: str | None = None,
        autoreload: bool = True,
        **kwargs: Any,
    ):
        """``text`` (as in intake, deprecated there): the catalog's YAML itself, read
        instead of the file (``path`` then only names it and sets ``CATALOG_DIR``).
        ``autoreload`` is accepted for intake's signature; the file is read at open
        and by ``reload()``."""
        super().__init__(
            metadata=metadata,
            persist_mode=persist_mode,
            allow_shell=allow_shell,
            storage_options=storage_options,
            **kwargs,
        )
        self._text = text
        self.autoreload = bool(autoreload)
        path = path if path is not None else urlpath
        if path is None and text is not None:
            self.path = None
            self._load()
            return
        if path is None:
            raise TypeError(f"{type(self).__name__} needs a 'path' (the catalog file's URL)")
        if isinstance(path, (list, tuple)):
            if len(path) != 1:
                raise TypeError(
                    f"{type(self).__name__} reads one file; use yaml_files_cat "
                    f"for several: {path!r}"
                )
            path = path[0]
        self.path = normalize_url(str(path))
        self._load()

    def _load(self) -> None:
        if self._text is not None:
            metadata, sources, params, own = parse_catalog(self._text, self.path)
            cat_dir = catalog_dir_of(self.path) if self.path else None
            self._add(_FileInfo(self.path, cat_dir, params), metadata, sources, own)
            if self.entry_name is None and (own.get("name") or self.path):
                self.entry_name = own.get("name") or name_from_path(self.path or "")
            if self.description is None:
                self.description = own.get("description")
            return
        assert self.path is not None  # set by __init__ whenever there is no text
        self._load_file(self.path)
        # as intake 0.7.0: the file's name (a nested catalog: its entry's name, set
        # by the entry) and its top-level description
        if self.entry_name is None:
            self.entry_name = self._own_fields.get("name") or name_from_path(self.path)
        if self.description is None:
            self.description = self._own_fields.get("description")


class YAMLFilesCatalog(Catalog):
    """A catalog merging several YAML files: a list of paths/URLs, globs or directories.

    As in intake 0.7.0, an entry name found in two files is an error
    (:class:`DuplicateKeyError`); with ``flatten=False`` each file is instead one
    entry, a nested catalog named after the file."""

    name = "yaml_files_cat"

    def __init__(
        self,
        path: Any = None,
        urlpath: Any = None,
        storage_options: dict | None = None,
        metadata: dict | None = None,
        persist_mode: str = "default",
        allow_shell: bool = False,
        flatten: bool = True,
        **kwargs: Any,
    ):
        super().__init__(
            metadata=metadata,
            persist_mode=persist_mode,
            allow_shell=allow_shell,
            storage_options=storage_options,
            **kwargs,
        )
        self._flatten = bool(flatten)
        path = path if path is not None else urlpath
        if path is None:
            raise TypeError(f"{type(self).__name__} needs a 'path' (files, globs or a directory)")
        self._given_list = isinstance(path, (list, tuple))
        self.path = [
            normalize_url(str(p)) for p in (path if isinstance(path, (list, tuple)) else [path])
        ]
        pattern = self.path[0]
        if not self._given_list and not _io.has_glob(pattern):
            pattern = pattern.rstrip("/") + "/*"
        self._pattern = pattern.replace(os.sep, "/")
        self._load()

    def _add(self, info: _FileInfo, metadata: dict, sources: dict, own: dict | None = None) -> None:
        # as intake 0.7.0 flattens several files: one name in two files is an error,
        # and the files' own metadata stays theirs
        clash = sorted(set(sources) & set(self._raw))
        if clash:
            first = {self._file_of[n].url for n in clash if n in self._file_of}
            raise DuplicateKeyError(
                f"entries {', '.join(map(repr, clash))} are defined in more than one "
                f"catalog file ({', '.join(sorted(u for u in first if u))} and {info.url}); "
                "entry names must be unique across the merged files",
                url=info.url,
                entry=clash[0],
            )
        super()._add(info, {}, sources, None)

    def _load(self) -> None:
        urls = catalog_files(self.path, self._storage_options)
        for url in urls:
            if self._flatten:
                self._load_file(url)
                continue
            base = url.rstrip("/").rsplit("/", 1)[-1]
            name = base.replace(".yaml", "").replace(".yml", "")
            spec = {
                "driver": "yaml_file_cat",
                "description": f"YAML file: {name}",
                "args": {"path": url},
            }
            self._add(_FileInfo(None, _io.parent(url), None), {}, {name: spec}, None)
        if self.entry_name is None:
            if self._given_list:
                self.entry_name = f"{len(urls)} files"
            else:
                self.entry_name = self._pattern
        if self.description is None:
            self.description = (
                f"Catalog generated from {len(urls)} files"
                if self._given_list
                else f"Catalog generated from all files found in {self._pattern}"
            )


def _parameter_specs(value: Any) -> dict:
    """``user_parameters`` given to a catalog: a mapping of specs, or intake's list of
    specs with ``name`` keys."""
    if not value:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        out = {}
        for spec in value:
            if isinstance(spec, dict) and "name" in spec:
                spec = dict(spec)
                out[str(spec.pop("name"))] = spec
            elif hasattr(spec, "name"):
                out[spec.name] = spec
        return out
    raise TypeError(f"user_parameters must be a mapping of parameter specs, got {value!r}")


