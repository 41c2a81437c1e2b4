"""Typed results of the store: what it says about one copy (:class:`CopyInfo`) and
what a garbage collection did (:class:`GcReport`).

Both are dataclasses that also read as the mappings the store returned before
(``info["ttl"]``, ``dict(report)``, ``report == {...}``), so callers that index
them by name keep working while new code uses the attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from .freshness import entry_age, is_expired


class _FieldMapping(Mapping[str, Any]):
    """The dataclass fields of a result as a read-only mapping, in field order."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (lists and mappings copied one level deep)."""
        out: dict[str, Any] = {}
        for name in self._names():
            value = getattr(self, name)
            out[name] = (list(value) if isinstance(value, list)
                         else dict(value) if isinstance(value, dict) else value)
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class CopyInfo(_FieldMapping):
    """What the store records about the current copy of one key (``store.info``).

    ``age`` (seconds since the copy was made) and ``expired`` are computed when the
    info is made, against one clock for a whole listing; ``location`` is the copy's
    URL (``{{ CATALOG_DIR }}`` replaced by the store's path).
    """

    key: str
    name: str | None
    container: str | None
    driver: str | None
    original_driver: str | None
    size: int | None
    timestamp: float | None
    age: float | None
    ttl: float | None
    expired: bool
    location: str | None
    version: str | None
    versions: list[str]
    persist_kwargs: dict[str, Any]
    original_source: dict[str, Any]

    @property
    def state(self) -> str:
        """``"expired"`` or ``"fresh"``."""
        return "expired" if self.expired else "fresh"

    @classmethod
    def from_entry(cls, key: str, entry: dict[str, Any], location: str | None,
                   now: float) -> CopyInfo:
        """The info of index ``entry`` under ``key``, its age taken at ``now``."""
        md = entry.get("metadata") or {}
        orig = md.get("original_source") or {}
        version = md.get("version")
        return cls(
            key=key,
            name=md.get("original_name"),
            container=md.get("container"),
            driver=entry.get("driver"),
            original_driver=orig.get("driver"),
            size=md.get("size"),
            timestamp=md.get("timestamp"),
            age=entry_age(entry, now),
            ttl=md.get("ttl"),
            expired=is_expired(entry, now),
            location=location,
            version=version,
            versions=list(md.get("versions") or ([version] if version else [])),
            persist_kwargs=md.get("persist_kwargs") or {},
            original_source=orig,
        )


@dataclasses.dataclass(frozen=True, eq=False)
class GcReport(_FieldMapping):
    """What ``store.gc()`` did, or with ``dry_run`` would do.

    ``removed``: URLs deleted; ``retired``: URLs of copies taken out of the index,
    deleted by a later gc once the grace period has passed; ``reindexed``: tokens
    whose published copy was put (back) in the index; ``dropped``: tokens whose
    index entry named a copy that is gone; ``detached``: URLs of copies kept by
    ``remove(..., delfiles=False)``.
    """

    removed: list[str] = dataclasses.field(default_factory=list)
    retired: list[str] = dataclasses.field(default_factory=list)
    reindexed: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)
    detached: list[str] = dataclasses.field(default_factory=list)
    dry_run: bool = False
