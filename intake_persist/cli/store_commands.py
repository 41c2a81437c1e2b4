"""What the store commands (list, show, refresh, remove, clear, gc) do, each returning
the data its ``--json`` prints; :mod:`.views` draws the same data for a terminal."""

from __future__ import annotations

import argparse
import fnmatch
import logging
import sys
from collections.abc import Callable
from typing import Any

from ..errors import CLIError, UsageError
from ..store.results import CopyInfo, GcReport
from . import error_message
from . import render as R
from .outcome import Outcome
from .progress import ProgressBars, progress_enabled
from .stores import (
    ENTRY_FIELDS,
    copy_summary,
    infos_of,
    keys_of,
    open_store,
    record,
    resolve_key,
    store_url,
)

log = logging.getLogger("intake_persist.cli")


def _sort_key(field: str) -> Callable[[CopyInfo], Any]:
    inf = float("inf")
    if field == "name":
        return lambda e: (e.name is None, str(e.name or ""), e.key)
    if field == "age":
        return lambda e: (e.age is None, e.age or 0.0, e.key)
    if field == "size":
        return lambda e: (e.size is None, e.size or 0, e.key)
    return lambda e: (inf if e.ttl is None else e.ttl, e.key)


def list_entries(args: argparse.Namespace) -> Outcome:
    """The store's entries, filtered by ``--name`` and ``--state``, sorted."""
    infos = infos_of(open_store(args))
    in_store = len(infos)
    if args.name:
        infos = [e for e in infos if fnmatch.fnmatchcase(str(e.name or ""), args.name)]
    if args.state:
        infos = [e for e in infos if e.state == args.state]
    infos.sort(key=_sort_key(args.sort), reverse=args.reverse)
    entries = [{k: v for k, v in record(e).items() if k in ENTRY_FIELDS} for e in infos]
    return Outcome({"store": store_url(args), "entries": entries}, facts={"in_store": in_store})


def show(args: argparse.Namespace) -> Outcome:
    """Everything the store records for one entry."""
    store = open_store(args)
    if store is None:
        raise CLIError(f"no entry {args.key!r}: the store {store_url(args)} is empty")
    key = resolve_key(store, args.key)
    info = record(store.info(key))
    if getattr(args, "as_of", None):
        info = _as_of(store, key, info, args.as_of)
    return Outcome(info)


def _when(text: str) -> float:
    """``--as-of`` as epoch seconds; unreadable text is a usage error."""
    from ..store.versions import to_micros

    try:
        return to_micros(text) / 1_000_000
    except ValueError as exc:
        raise UsageError(f"argument --as-of: {exc}") from None


def _as_of(store: Any, key: str, info: dict, text: str) -> dict:
    """``info`` with the fields of the copy that was current at ``text``."""
    from ..errors import NoVersionError
    from ..store.versions import iso

    when = _when(text)
    try:
        copy = store.as_of(key, when)
    except NoVersionError as exc:
        raise CLIError(str(exc)) from None
    vid = copy.metadata.get("version")
    picked = next(v for v in store.versions(key) if v.vid == vid)
    out = dict(info)
    out.update({"version": picked.vid, "timestamp": picked.timestamp,
                "created": iso(picked.timestamp), "size": picked.size,
                "location": picked.location, "ttl": picked.ttl,
                "persist_kwargs": picked.persist_kwargs, "current": picked.current,
                "as_of": iso(when)})
    for k in ("age", "expired", "state"):
        out.pop(k, None)
    return out


def versions(args: argparse.Namespace) -> Outcome:
    """The kept copies of one entry, newest first."""
    store = open_store(args)
    if store is None:
        raise CLIError(f"no entry {args.key!r}: the store {store_url(args)} is empty")
    key = resolve_key(store, args.key)
    from ..store.versions import iso

    # created: to the microsecond, so that it can be given back to show --as-of
    rows = [{"version": v.vid, "created": iso(v.timestamp), "timestamp": v.timestamp,
             "size": v.size, "location": v.location, "current": v.current, "ttl": v.ttl,
             "keep": v.keep, "persist_kwargs": v.persist_kwargs}
            for v in store.versions(key)]
    name = store.info(key).name
    return Outcome({"store": store_url(args), "key": key, "name": name,
                    "versions": R.jsonable(rows)})


def refresh(args: argparse.Namespace) -> Outcome:
    """Re-persist the entries named (or the expired ones, or all) from their originals,
    upstream first and each once (``--upstream``: with the entries they derive from);
    a failure skips what is downstream of it, the rest go on."""
    from ..store.refresh import REFRESHED, SKIPPED, refresh_in_order

    if not args.keys and not args.expired and not args.all:
        raise UsageError("give KEYs to refresh, or --expired, or --all")
    if args.keys and args.all:
        raise UsageError("give KEYs or --all, not both")
    store = open_store(args)
    infos = {e.key: e for e in infos_of(store)}  # one snapshot of the index
    if args.keys:
        if store is None:
            raise CLIError(f"no entry {args.keys[0]!r}: the store {store_url(args)} is empty")
        keys = list(dict.fromkeys(resolve_key(store, k, list(infos)) for k in args.keys))
    else:
        keys = list(infos)
    if args.expired:
        keys = [k for k in keys if infos[k].expired]
    refreshed: list[dict] = []
    failed: list[dict] = []
    skipped: list[dict] = []
    with ProgressBars(progress_enabled(args)) as bars:
        def progress(key: str, name: str | None) -> Any:
            log.debug("refreshing %s (%s)", name or key, key)
            return bars.callback(str(name or key))

        report = refresh_in_order(store, keys, upstream=args.upstream, progress=progress) \
            if keys else None
    for step in report.steps if report is not None else []:
        info = infos.get(step.key)
        name = step.name if step.name is not None else (info.name if info else None)
        if step.status == REFRESHED:
            summary = copy_summary(store, step.new_key, step.copy)
            refreshed.append(
                {
                    "key": step.key,
                    "name": name,
                    "new_key": step.new_key,
                    "location": summary["location"],
                    "size": summary["size"],
                    "seconds": round(step.seconds, 3),
                }
            )
        elif step.status == SKIPPED:
            skipped.append({"key": step.key, "name": name, "blocked_by": step.blocked_by})
        elif step.error is not None:
            log.debug("refreshing %s failed", step.key,
                      exc_info=step.error if args.verbose > 0 else None)
            failed.append({"key": step.key, "name": name, "error": error_message(step.error)})
    data = {"store": store_url(args), "refreshed": refreshed, "failed": failed,
            "skipped": skipped}
    return Outcome(data, code=1 if failed or skipped else 0)


def remove(args: argparse.Namespace) -> Outcome:
    """Remove the entries named; every key is resolved first, so a bad one removes nothing."""
    store = open_store(args)
    if store is None:
        raise CLIError(f"no entry {args.keys[0]!r}: the store {store_url(args)} is empty")
    keys_in_store = keys_of(store)
    keys = list(dict.fromkeys(resolve_key(store, k, keys_in_store) for k in args.keys))
    names = {}
    for key in keys:
        try:
            names[key] = store.info(key).name
        except Exception:  # noqa: BLE001
            names[key] = None
    for key in keys:
        store.remove(key, delfiles=not args.keep_files)
    return Outcome(
        {
            "store": store_url(args),
            "removed": [{"key": k, "name": names[k]} for k in keys],
            "files_deleted": not args.keep_files,
        }
    )


def _confirm(question: str) -> bool:
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        raise CLIError(
            "refusing to clear the store without confirmation: stdin is not a terminal; pass --yes"
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def clear(args: argparse.Namespace) -> Outcome:
    """Remove every entry, after asking unless ``--yes``."""
    store = open_store(args)
    keys = keys_of(store)
    url = store_url(args)
    if keys and not args.yes:
        n = len(keys)
        if not _confirm(
            f"Remove all {n} entr{'y' if n == 1 else 'ies'} and their files from {url}?"
        ):
            raise CLIError("not confirmed; nothing removed")
    if store is not None:
        store.clear()
    return Outcome({"store": url, "removed": len(keys), "keys": keys})


def gc(args: argparse.Namespace) -> Outcome:
    """The store's garbage collection report (what it removed, or would remove)."""
    store = open_store(args)
    pruned: dict[str, list[str]] = {}
    if store is not None and getattr(args, "keep", None):  # gc --keep: cut, then collect
        pruned = store.prune(args.keep, dry_run=args.dry_run)
    if store is None:
        report = GcReport(dry_run=args.dry_run)
    else:
        report = store.gc(dry_run=args.dry_run, delete_detached=args.delete_detached)
    found = {k: v for k, v in report.to_dict().items() if k != "dry_run"}
    for category, urls in pruned.items():
        if urls:
            found[category] = list(urls) + list(found.get(category) or [])
    data = {"store": store_url(args), "dry_run": args.dry_run, **R.jsonable(found)}
    return Outcome(data, facts={"categories": list(found), "exists": store is not None})
