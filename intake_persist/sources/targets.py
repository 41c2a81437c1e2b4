"""The upstream of a derived source: its targets, looked up in its catalog.

A target is an entry name of the derived entry's own catalog, ``"<catalog
url>:<entry>"`` for an entry of another catalog, or (from Python) a source. Each
is built once with the parameters the derived entry passes it, without reading
data. Reading goes through the catalog's persist mode, so a target with a fresh
persisted copy is read from that copy; the token is the original's, so a derived
source keeps its identity when its upstream is re-persisted.

A derived source reached again while its own upstream is being resolved is a
cycle, refused with :class:`~intake_persist.errors.DependencyCycleError`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import DependencyCycleError, TargetError

if TYPE_CHECKING:
    from ..catalog.entry import CatalogEntry
    from .base import DataSource

_visiting = threading.local()


def catalog_key(catalog: Any) -> Any:
    """What identifies a catalog across reopenings: its file URLs (else the object)."""
    urls = getattr(catalog, "urls", None)
    return tuple(urls) if urls else id(catalog)


@contextlib.contextmanager
def visiting(catalog: Any, name: str | None, owner: Any = None) -> Iterator[None]:
    """Mark the entry ``name`` of ``catalog`` as being resolved in this thread; entering
    it again before it is done is a cycle."""
    stack: list[tuple[Any, str]] = _visiting.__dict__.setdefault("stack", [])
    key = (catalog_key(catalog) if catalog is not None else id(owner), name or "?")
    if key in stack:
        names = [n for _, n in stack[stack.index(key) :]] + [key[1]]
        urls = getattr(catalog, "urls", None) or []
        where = f" of catalog {urls[0]}" if len(urls) == 1 else ""
        raise DependencyCycleError(
            f"derived entries{where} depend on each other in a cycle: {' -> '.join(names)}",
            entries=names,
            url=urls[0] if len(urls) == 1 else None,
        )
    stack.append(key)
    try:
        yield
    finally:
        stack.pop()


def original_token(source: Any) -> str:
    """The token of ``source``'s original: a persisted copy answers its original's."""
    md = getattr(source, "metadata", None) or {}
    if "original_tok" in md:
        return str(md["original_tok"])
    token: str = source.token
    return token


class Upstream:
    """One target of a derived source: the entry it names, the parameters passed to
    it, the original source built from it, and (on first read) what the catalog's
    persist mode hands back for it."""

    def __init__(
        self,
        target: Any,
        original: DataSource,
        entry: CatalogEntry | None = None,
        kwargs: dict | None = None,
        mode: str = "never",
        catalog_url: str | None = None,
    ):
        self.target = target
        self.original = original
        self.entry = entry
        self.kwargs = dict(kwargs or {})
        self.mode = mode
        self.catalog_url = catalog_url
        self._resolved: Any = None
        self._token: str | None = None

    @property
    def name(self) -> str:
        if isinstance(self.target, str):
            return self.target
        return str(getattr(self.original, "entry_name", None) or type(self.original).__name__)

    @property
    def token(self) -> str:
        """The original's token (computing it resolves the target's own upstream)."""
        if self._token is None:
            self._token = original_token(self.original)
        return self._token

    def source(self) -> Any:
        """What to read: the target under its catalog's persist mode."""
        if self._resolved is None:
            if self.entry is None or self.mode == "never":
                self._resolved = self.original
            else:
                self._resolved = self.entry.apply_persist_mode(self.original, self.mode)
        return self._resolved

    def parameters(self) -> dict:
        """The user-parameter values the target is built with: those passed, and the
        defaults of the rest."""
        if self.entry is None:
            return dict(self.kwargs)
        out = {n: p.coerced_default() for n, p in self.entry.user_parameters.items()}
        out.update(self.kwargs)
        return out

    def lineage(self) -> dict:
        """This target and, for a derived one, its own upstream: a tree of entries."""
        node: dict = {
            "name": self.name,
            "driver": self.entry.spec.get("driver") if self.entry is not None else None,
            "container": self.original.container,
            "parameters": self.parameters(),
            "token": self.token,
        }
        if self.catalog_url:
            node["catalog"] = self.catalog_url
        lineage = getattr(self.original, "lineage", None)
        node["upstream"] = lineage() if callable(lineage) else []
        return node


def split_target(target: str) -> tuple[str | None, str]:
    """``"url:entry"`` to ``(url, entry)``; a plain entry name to ``(None, name)``."""
    if ":" in target:
        url, _, name = target.rpartition(":")
        if url and name and not name.startswith("//"):
            return url, name
    return None, target


def find_entry(catalog: Any, name: str) -> tuple[Any, CatalogEntry]:
    """The entry ``name`` of ``catalog`` and the catalog holding it: a dotted name
    reaches into nested catalogs, as ``cat["sub.entry"]`` does (KeyError if absent)."""
    if name in catalog:
        return catalog, catalog.get_entry(name)
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in catalog and catalog.get_entry(head).is_catalog:
            return find_entry(catalog.get_entry(head)(), ".".join(parts[i:]))
    raise KeyError(name)


def resolve(
    target: Any,
    catalog: Any,
    kwargs: dict | None,
    owner_name: str | None,
    open_other: Any,
) -> Upstream:
    """The :class:`Upstream` for one target of the derived entry ``owner_name``.

    ``catalog`` is the derived entry's catalog (None outside one); ``open_other(url)``
    opens another catalog for ``"url:entry"`` targets.
    """
    from .base import DataSource

    kwargs = dict(kwargs or {})
    if isinstance(target, DataSource) or hasattr(target, "_ip_resolve"):
        if kwargs:
            target = target(**kwargs)
        return Upstream(target, target, kwargs=kwargs)
    if not isinstance(target, str) or not target:
        raise TargetError(
            f"derived source {owner_name or ''!r}: a target must be an entry name or a "
            f"source, got {target!r}",
            entry=owner_name,
        )
    url, name = split_target(target)
    cat = catalog if url is None else open_other(url)
    if cat is None:
        raise TargetError(
            f"derived source {owner_name or ''!r}: target {target!r} is an entry name, but "
            "the source is not part of a catalog (make it from a catalog entry, or pass "
            "the target as a source)",
            entry=owner_name,
        )
    try:
        cat, entry = find_entry(cat, name)
    except KeyError:
        urls = getattr(cat, "urls", None) or []
        where = f"catalog {urls[0]}" if len(urls) == 1 else "its catalog"
        known = ", ".join(list(cat)[:20])
        raise TargetError(
            f"entry {owner_name!r}: target {name!r} is not an entry of {where}; "
            f"entries: {known or '(none)'}",
            url=urls[0] if len(urls) == 1 else None,
            entry=owner_name,
        ) from None
    original = entry.build(**kwargs)
    mode = getattr(cat, "persist_mode", "never")
    return Upstream(target, original, entry, kwargs, mode, catalog_url=url)
