"""The kept copies of a store entry (``keep=N``) and picking one by time (``as_of``).

A store keeps up to ``keep`` copies of each entry, newest first in the index entry's
``versions``; each copy has its own record, ``<token>/<vid>.meta.yaml``, the index
entry it had when it was published. :func:`list_versions` reads those records into
:class:`Version` rows; :func:`pick` chooses the newest made at or before a time.
Times are compared in whole microseconds (what the store records), so a copy's own
timestamp, given back as ``as_of``, selects that copy, in any of its spellings.
"""

from __future__ import annotations

import datetime as _dt
import numbers
from dataclasses import dataclass, field
from typing import Any

from ..errors import NoVersionError
from . import layout

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MICRO = _dt.timedelta(microseconds=1)

#: What ``as_of=`` accepts.
AsOf = _dt.datetime | _dt.date | str | float | int


@dataclass(frozen=True)
class Version:
    """One kept copy of a store entry."""

    key: str
    """The entry's key (the original's token)."""
    vid: str
    """The copy's version id (``<UTC yyyymmddThhmmss.ffffff>-<8 hex>``)."""
    timestamp: float
    """When the copy was made: seconds since the epoch, UTC."""
    size: int | None
    """Bytes of data, as recorded when it was written."""
    location: str | None
    """Where its data is (URL or path)."""
    ttl: float | None = None
    keep: int = 1
    persist_kwargs: dict[str, Any] = field(default_factory=dict)
    """The writer's keyword arguments given to ``persist``."""
    current: bool = False
    """True for the copy the index hands out now."""

    @property
    def time(self) -> _dt.datetime:
        """:attr:`timestamp` as an aware UTC datetime."""
        return _EPOCH + _dt.timedelta(microseconds=_micros_of_seconds(self.timestamp))

    @property
    def persist_args(self) -> dict[str, Any]:
        """Everything the copy was persisted with: ``ttl``, ``keep`` and the writer's
        keyword arguments."""
        return {"ttl": self.ttl, "keep": self.keep, **self.persist_kwargs}


def _micros_of_seconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def to_micros(when: Any) -> int:
    """Microseconds since the epoch (UTC) for an ``as_of`` value: an aware datetime, a
    naive one (taken as UTC, as the store's times are), a date (its midnight, UTC),
    an ISO-8601 string (``2026-12-03T11:13:25Z``, ``2026-12-03``...) or a number of
    seconds since the epoch."""
    value = when
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):  # Python 3.10 reads no Z
            text = text[:-1] + "+00:00"
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"as_of must be a datetime, an ISO-8601 time (like 2026-12-03T11:13:25Z) "
                f"or seconds since the epoch; cannot read {when!r}"
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return (value - _EPOCH) // _MICRO
    if isinstance(value, _dt.date):
        return (_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
                - _EPOCH) // _MICRO
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
        if seconds == seconds and abs(seconds) != float("inf"):
            return _micros_of_seconds(seconds)
    raise ValueError(
        f"as_of must be a datetime, an ISO-8601 time (like 2026-12-03T11:13:25Z) or "
        f"seconds since the epoch, got {when!r}"
    )


def iso(seconds: float) -> str:
    """An epoch time as ISO-8601 UTC text, to the microsecond when it has any."""
    t = _EPOCH + _dt.timedelta(microseconds=_micros_of_seconds(seconds))
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds").replace(
        "+00:00", "Z")


def version_of(key: str, record: dict[str, Any], root: str, current: bool = False) -> Version:
    """The :class:`Version` a copy's record (index entry or meta file) describes;
    ``root`` replaces the ``{{ CATALOG_DIR }}`` of its location."""
    from .records import render_catalog_dir

    md = record.get("metadata") or {}
    urlpath = render_catalog_dir((record.get("args") or {}).get("urlpath"), root)
    ts = md.get("timestamp")
    size = md.get("size")
    return Version(
        key=key,
        vid=str(md.get("version") or ""),
        timestamp=float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool)
        else float("nan"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        location=urlpath if isinstance(urlpath, str) else None,
        ttl=md.get("ttl"),
        keep=md.get("keep") or 1,
        persist_kwargs=dict(md.get("persist_kwargs") or {}),
        current=current,
    )


def kept_records(backend: Any, key: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of the copies ``entry`` lists, newest first: the entry itself for
    its current copy (it may carry hand edits), the meta files for the others. A
    listed copy whose meta file is gone (deleted meanwhile) is left out."""
    from .._yaml import YAMLError, load

    md = entry.get("metadata") or {}
    current = md.get("version")
    vids = list(md.get("versions") or ([current] if current else []))
    if not vids:
        return [entry]  # an entry added by hand or by ``add``: one unversioned copy
    out = []
    for vid in sorted(set(vids), reverse=True):
        if vid == current:
            out.append(entry)
            continue
        if not (layout.is_token(key) and layout.is_vid(vid)):
            continue
        try:
            meta = load(backend.read_bytes(layout.meta_rel(key, vid)))
        except (FileNotFoundError, YAMLError):
            continue
        if isinstance(meta, dict):
            out.append(meta)
    return out


def list_versions(store: Any, key: str, entry: dict[str, Any]) -> list[Version]:
    """The kept copies of ``key`` (index ``entry``) in ``store``, newest first."""
    current = (entry.get("metadata") or {}).get("version")
    return [version_of(key, rec, store.path,
                       current=(rec.get("metadata") or {}).get("version") == current)
            for rec in kept_records(store.backend, key, entry)]


def pick(records: list[dict[str, Any]], when: Any, key: str,
         store: str | None = None) -> dict[str, Any]:
    """The newest of ``records`` (newest first) made at or before ``when`` (see
    :func:`to_micros`); none is a :class:`~intake_persist.errors.NoVersionError`
    naming the oldest time there is."""
    limit = to_micros(when)
    times = []
    for rec in records:
        ts = (rec.get("metadata") or {}).get("timestamp")
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            continue
        times.append(float(ts))
        if _micros_of_seconds(float(ts)) <= limit:
            return rec
    asked = limit / 1_000_000
    where = f" in the persist store {store}" if store else ""
    if not times:
        raise NoVersionError(
            f"no copy of {key!r}{where} records when it was made, so none can be picked "
            f"as of {iso(asked)}", key=key, as_of=asked, oldest=None)
    oldest = min(times)
    raise NoVersionError(
        f"no copy of {key!r}{where} was made at or before {iso(asked)}: the oldest kept "
        f"copy was made at {iso(oldest)}", key=key, as_of=asked, oldest=oldest)


def prune(store: Any, keep: int, dry_run: bool = False) -> dict[str, list[str]]:
    """Cut every entry of ``store`` down to its ``keep`` newest copies (``gc --keep``):
    the others leave the index and are retired, so they are deleted after the
    grace period like any pruned copy. Returns ``{"retired": [urls], "removed":
    [urls]}`` (removed: deleted now, the grace being over); with ``dry_run``
    nothing changes and ``retired`` lists what would be."""
    from . import copies
    from .freshness import check_keep
    from .index_file import Entries

    keep = check_keep(keep)
    b = store.backend

    def listed(entry: dict[str, Any]) -> list[str]:
        md = entry.get("metadata") or {}
        return list(md.get("versions") or ([md["version"]] if md.get("version") else []))

    over = {k: e for k, e in store.index.entries().items() if len(listed(e)) > keep}
    if dry_run:
        out = [b.url(layout.data_rel(k, v)) for k, e in sorted(over.items())
               for v in sorted(listed(e), reverse=True)[keep:]]
        return {"retired": out, "removed": []}
    if not over:
        return {"retired": [], "removed": []}

    def fn(entries: Entries) -> dict[str, list[str]]:
        dropped: dict[str, list[str]] = {}
        for key in over:  # only these are read (and written back)
            if key not in entries:
                continue
            vids = sorted(listed(entries[key]), reverse=True)
            if len(vids) > keep:
                entry = entries[key]
                entry["metadata"]["versions"] = vids[:keep]
                entries[key] = entry
                dropped[key] = vids[keep:]
        return dropped

    dropped = store.index.update(fn)
    report: dict[str, list[str]] = {"retired": [], "removed": []}
    for key, vids in sorted(dropped.items()):
        for vid in vids:
            if layout.is_token(key) and layout.is_vid(vid):
                copies.retire(b, key, vid, "pruned")
                report["retired"].append(b.url(layout.data_rel(key, vid)))
        if layout.is_token(key):
            copies.reap(b, key, store.grace, report=report["removed"])
    return report
