"""What the catalog commands (persist, export, catalog) do, each returning the data
its ``--json`` prints; :mod:`.views` draws the same data for a terminal."""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

from ..errors import CLIError
from . import error_message
from .catalogs import (
    bare,
    build_source,
    check_params_used,
    declared_params,
    describe,
    entry_error,
    get_entry,
    open_catalog_for,
    walk,
)
from .outcome import Outcome
from .progress import ProgressBars, progress_enabled
from .stores import copy_summary, open_store, store_url

log = logging.getLogger("intake_persist.cli")


def _select(cat: Any, names: list[str], failed: list[dict]) -> list[tuple[str, Any]]:
    """The entries to persist: those named (a name that is not there, or is a catalog,
    fails alone), or with no names every entry that is not a catalog."""
    selected: list[tuple[str, Any]] = []
    if names:
        for name in dict.fromkeys(names):
            try:
                entry = get_entry(cat, name)
            except CLIError as exc:
                failed.append({"entry": name, "error": bare(name, str(exc))})
                continue
            if entry.is_catalog:
                failed.append({"entry": name, "error": f"entry {name!r} is a catalog; "
                               f"name its entries ({name}.ENTRY)"})
                continue
            selected.append((name, entry))
    else:
        for name, entry, err in walk(cat):
            if err is not None:
                failed.append({"entry": name, "error": bare(name, entry_error(err))})
            elif not entry.is_catalog:
                selected.append((name, entry))
    return selected


def persist(args: argparse.Namespace) -> Outcome:
    """Persist entries of a catalog; one that fails is reported and the others go on."""
    params = dict(args.params)
    cat = open_catalog_for(args.catalog)
    skipped: list[dict] = []
    failed: list[dict] = []
    selected = _select(cat, args.entries, failed)
    check_params_used(params, selected)
    # every source is built (parameters checked) before anything is written; with no
    # ENTRY given, an entry that cannot be built is reported and the others go on
    sources: list[tuple[str, Any]] = []
    for name, entry in selected:
        try:
            sources.append((name, build_source(entry, name, params)))
        except CLIError as exc:
            if params and set(params) & set(declared_params(entry)):
                raise  # a refused parameter value: nothing is written
            failed.append({"entry": name, "error": bare(name, str(exc))})

    store = open_store(args, create=True)
    persisted: list[dict] = []
    started = time.perf_counter()
    with ProgressBars(progress_enabled(args)) as bars:
        for name, src in sources:
            t0 = time.perf_counter()
            try:
                key = store.get_tok(src)
                if args.skip_fresh and key in store and not store.needs_refresh(src):
                    skipped.append({"entry": name, "key": key, "reason": "fresh copy exists"})
                    continue
                log.debug("persisting %s (%s)", name, key)
                update = bars.callback(name)
                if update is not None:  # the bar starts at 0/N, not after a partition
                    update(0, src.npartitions)
                copy = store.persist(src, ttl=args.ttl, progress=update)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - go on with the other entries
                log.debug("persisting %s failed", name, exc_info=args.verbose > 0)
                failed.append({"entry": name, "error": bare(name, entry_error(exc))})
                continue
            summary = copy_summary(store, key, copy)
            persisted.append(
                {
                    "entry": name,
                    "key": summary["key"],
                    "container": src.container,
                    "location": summary["location"],
                    "size": summary["size"],
                    "ttl": args.ttl,
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
    elapsed = time.perf_counter() - started
    data = {
        "catalog": args.catalog,
        "store": store_url(args),
        "persisted": persisted,
        "skipped": skipped,
        "failed": failed,
        "seconds": round(elapsed, 3),
    }
    return Outcome(data, code=1 if failed else 0, facts={"elapsed": elapsed})


def export(args: argparse.Namespace) -> Outcome:
    """Write a copy of one entry at a path; the data holds the catalog YAML for it."""
    params = dict(args.params)
    cat = open_catalog_for(args.catalog)
    entry = get_entry(cat, args.entry)
    if entry.is_catalog:
        raise CLIError(f"entry {args.entry!r} is a catalog; name one of its entries")
    check_params_used(params, [(args.entry, entry)])
    src = build_source(entry, args.entry, params)
    path = args.path
    from .._io import is_local

    if is_local(path):
        path = os.path.abspath(os.path.expanduser(path))
    if args.output and os.path.lexists(args.output) and not args.overwrite:
        raise CLIError(f"--output file {args.output} exists; pass --overwrite to replace it")
    text = src.export(path, overwrite=args.overwrite)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return Outcome({"entry": args.entry, "path": path, "yaml": text})


def _row(name: str, entry: Any, exc: Exception | None) -> dict[str, Any]:
    if exc is not None:
        return {"name": name, "container": None, "driver": None, "description": None,
                "parameters": [], "error": error_message(exc)}
    desc = describe(entry)
    return {
        "name": name,
        "container": desc.get("container", entry.container),
        "driver": desc.get("driver"),
        "description": desc.get("description"),
        "parameters": [
            p.get("name") if isinstance(p, dict) else p
            for p in desc.get("user_parameters") or []
        ],
        "error": desc.get("error"),
    }


def catalog(args: argparse.Namespace) -> Outcome:
    """One entry's description, or a row per entry (nested catalogs included)."""
    cat = open_catalog_for(args.catalog)
    if args.entry:
        desc = describe(get_entry(cat, args.entry))
        desc["name"] = args.entry if not desc.get("name") else desc["name"]
        return Outcome(desc, facts={"entry": args.entry})
    rows = [_row(name, entry, exc) for name, entry, exc in walk(cat)]
    return Outcome({"catalog": args.catalog, "entries": rows})
