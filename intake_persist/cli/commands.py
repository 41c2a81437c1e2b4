"""The subcommands of ``intake-persist``. Imported only when a command runs."""

from __future__ import annotations

import argparse
import fnmatch
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import PROG, CLIError, UsageError, error_message
from . import render as R

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("intake_persist.cli")

# Fields of one store entry in ``list --json`` (and the start of ``show --json``).
ENTRY_FIELDS = (
    "key",
    "name",
    "container",
    "driver",
    "size",
    "timestamp",
    "created",
    "age",
    "ttl",
    "expired",
    "state",
    "location",
)


def run(args: argparse.Namespace) -> int:
    handler = COMMANDS[args.command]
    return handler(args)


# ---- the store ----------------------------------------------------------------------


def _store_url(args: argparse.Namespace) -> str:
    if args.store:
        return args.store
    from ..config import persist_path

    return persist_path()


def _store_exists(url: str) -> bool:
    from .._io import get_fs, is_local, strip_file_scheme

    if is_local(url):
        path = strip_file_scheme(url)
        if os.path.exists(path) and not os.path.isdir(path):
            raise CLIError(f"the persist store {url} is not a directory")
        return os.path.isdir(path)
    try:
        fs, path = get_fs(url, **_storage_options())
        return fs.exists(path)
    except Exception:  # noqa: BLE001 - let the store itself report
        log.debug("could not check whether %s exists", url, exc_info=True)
        return True


def _storage_options() -> dict:
    try:
        from ..config import persist_storage_options

        return persist_storage_options()
    except Exception:  # noqa: BLE001
        return {}


def open_store(args: argparse.Namespace, create: bool = False):
    """The store the command works on, or None when it does not exist yet.

    An explicit ``--store`` that does not exist is an error (a typo should not look like an
    empty store), unless the command creates it (``persist``). The configured default store
    that does not exist yet is simply empty.
    """
    url = _store_url(args)
    if not create and not _store_exists(url):
        if args.store:
            raise CLIError(f"no persist store at {url} (the location does not exist)")
        log.debug("configured store %s does not exist yet: empty", url)
        return None
    log.debug("using store %s", url)
    if args.store:
        from .. import PersistStore

        return PersistStore(url, **_storage_options())
    from .. import get_store

    return get_store()


def _keys(store) -> list[str]:
    return [] if store is None else list(store)


def _entry_info(store, key: str) -> dict:
    """What the store records for ``key`` (``store.info``), normalised: the fields of
    ``ENTRY_FIELDS`` first, then everything else the store reports."""
    return _normalise(dict(store.info(key)), key)


def _all_infos(store) -> list[dict]:
    if store is None:
        return []
    return [_normalise(dict(item), item.get("key")) for item in store.entries()]


def _normalise(raw: dict, key: str | None) -> dict:
    out: dict[str, Any] = {}
    out["key"] = raw.get("key") or key
    out["name"] = raw.get("name", raw.get("original_name"))
    out["container"] = raw.get("container")
    out["driver"] = raw.get("driver")
    out["size"] = raw.get("size")
    ts = raw.get("timestamp")
    out["timestamp"] = ts
    out["created"] = R.iso_time(ts)
    age = raw.get("age")
    if age is None and isinstance(ts, (int, float)):
        age = max(0.0, time.time() - ts)
    out["age"] = age
    out["ttl"] = raw.get("ttl")
    expired = raw.get("expired")
    if expired is None:
        ttl = out["ttl"]
        expired = bool(ttl is not None and age is not None and age > ttl)
    out["expired"] = bool(expired)
    out["state"] = "expired" if out["expired"] else "fresh"
    out["location"] = raw.get("location")
    for k, v in raw.items():
        if k not in out and k != "original_name":
            out[k] = v
    return out


def resolve_key(store, text: str, keys: list[str] | None = None) -> str:
    """A store key from a token, a unique token prefix, or a unique original name."""
    keys = _keys(store) if keys is None else keys
    if text in keys:
        return text
    matches = [k for k in keys if k.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5]) + (", ..." if len(matches) > 5 else "")
        raise CLIError(
            f"key prefix {text!r} is ambiguous: it matches {len(matches)} entries ({shown})"
        )
    # not a token: an original name?
    named = [info["key"] for info in _all_infos(store) if info.get("name") == text] if keys else []
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise CLIError(
            f"name {text!r} is ambiguous: {len(named)} entries have it "
            f"({', '.join(sorted(named))}); give a token"
        )
    where = _store_label(store)
    raise CLIError(f"no entry {text!r} in the store {where}")


def _store_label(store) -> str:
    for attr in ("url", "path", "urlpath", "root"):
        value = getattr(store, attr, None)
        if isinstance(value, str):
            return value
    return ""


def _location(loc: str | None, store_url: str, relative: bool) -> str:
    """A copy's location, relative to the store when asked (narrow terminals)."""
    if not loc:
        return "-"
    root = store_url.rstrip("/") + "/"
    return loc[len(root) :] if relative and loc.startswith(root) else loc


def _absolute_or_relative(con, build: Callable[[bool, bool], Any], full: bool):
    """The table ``build(relative, full)`` with whole locations when it fits (or with
    ``--full``), else with locations relative to the store, elided to fit."""
    whole = build(False, True)
    if full:
        R.widen_for(con, whole)
        return whole
    if R.fits(con, whole):
        return whole
    return build(True, False)


# ---- list ---------------------------------------------------------------------------


def _sort_key(field: str) -> Callable[[dict], Any]:
    inf = float("inf")
    if field == "name":
        return lambda e: (e.get("name") is None, str(e.get("name") or ""), e["key"])
    if field == "age":
        return lambda e: (e.get("age") is None, e.get("age") or 0.0, e["key"])
    if field == "size":
        return lambda e: (e.get("size") is None, e.get("size") or 0, e["key"])
    return lambda e: (inf if e.get("ttl") is None else e["ttl"], e["key"])


def cmd_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    infos = _all_infos(store)
    total_in_store = len(infos)
    if args.name:
        infos = [e for e in infos if fnmatch.fnmatchcase(str(e.get("name") or ""), args.name)]
    if args.state:
        infos = [e for e in infos if e["state"] == args.state]
    infos.sort(key=_sort_key(args.sort), reverse=args.reverse)
    url = _store_url(args)
    if args.json:
        R.print_json(
            {"store": url, "entries": [{k: e.get(k) for k in ENTRY_FIELDS} for e in infos]}
        )
        return 0
    con = R.console()
    if not infos:
        if total_in_store:
            con.print(f"No entry matches ({total_in_store} in {R.escape(url)}).")
        else:
            con.print(f"No persisted sources in {R.escape(url)}.")
        return 0

    def build(relative: bool, full: bool):
        rows = [
            [
                R.short_key(e["key"], args.full),
                e.get("name") or "-",
                e.get("container") or "-",
                R.fmt_size(e.get("size")),
                R.fmt_duration(e.get("age")),
                R.fmt_ttl(e.get("ttl")),
                ("expired", "red") if e["expired"] else ("fresh", "green"),
                _location(e.get("location"), url, relative),
            ]
            for e in infos
        ]
        columns = [
            R.Col("TOKEN", style="cyan"),
            R.Col("NAME", shrink="middle", min=24, rank=0),
            R.Col("CONTAINER"),
            R.Col("SIZE", justify="right"),
            R.Col("AGE", justify="right"),
            R.Col("TTL", justify="right"),
            R.Col("STATE"),
            R.Col("IN STORE" if relative else "LOCATION", shrink="middle", min=12,
                  rank=1),
        ]
        return R.fit_table(con, columns, rows, full=full)

    table = _absolute_or_relative(con, build, args.full)
    con.print(table)
    total = sum(e.get("size") or 0 for e in infos)
    expired = sum(1 for e in infos if e["expired"])
    con.print(
        f"{len(infos)} entr{'y' if len(infos) == 1 else 'ies'}, {R.fmt_size(total)}"
        + (f", {expired} expired" if expired else "")
        + f" — store: {R.escape(url)}"
    )
    return 0


# ---- show ---------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    if store is None:
        raise CLIError(f"no entry {args.key!r}: the store {_store_url(args)} is empty")
    key = resolve_key(store, args.key)
    info = _entry_info(store, key)
    if args.json:
        R.print_json(info)
        return 0
    con = R.console()
    from rich.table import Table

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    labels = {
        "key": "token",
        "size": "size",
        "timestamp": "persisted",
        "age": "age",
        "ttl": "ttl",
        "expired": "state",
    }
    for field, value in info.items():
        if field in ("original_source", "persist_kwargs", "created", "state"):
            continue
        label = labels.get(field, field.replace("_", " "))
        if field == "size":
            text = (
                f"{R.fmt_size(value)} ({value} bytes)"
                if isinstance(value, int)
                else R.fmt_size(value)
            )
        elif field == "timestamp":
            text = R.fmt_time(value)
        elif field == "age":
            text = R.fmt_duration(value)
        elif field == "ttl":
            text = R.fmt_ttl(value)
        elif field == "expired":
            text = "[red]expired[/red]" if value else "[green]fresh[/green]"
        elif isinstance(value, list) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            text = R.escape(", ".join(map(str, value)) or "-")
        elif isinstance(value, (dict, list)):
            text = R.escape(_yaml_text(value).rstrip() or "{}")
        else:
            text = R.escape("-" if value is None else value)
        t.add_row(label, text)
    t.add_row("persist kwargs", R.escape(_yaml_text(info.get("persist_kwargs") or {}).rstrip()))
    con.print(t)
    original = info.get("original_source")
    con.print()
    con.print("[bold]original source[/bold]")
    if original:
        con.print(R.escape(_yaml_text(original).rstrip()), soft_wrap=True)
    else:
        con.print("  (not recorded)")
    return 0


def _yaml_text(value: Any) -> str:
    from .._yaml import dump

    return dump(R.jsonable(value))


# ---- catalogs -----------------------------------------------------------------------


def open_catalog_for(path: str, args: argparse.Namespace):
    """Open a catalog with ``persist_mode="never"``: the CLI always wants the originals."""
    from .. import open_catalog  # the public API (resolved lazily)

    try:
        return open_catalog(path, persist_mode="never")
    except FileNotFoundError as exc:
        raise CLIError(f"cannot open catalog {path}: no such file") from exc
    except PermissionError as exc:
        raise CLIError(f"cannot open catalog {path}: permission denied") from exc
    except IsADirectoryError as exc:
        raise CLIError(f"cannot open catalog {path}: is a directory") from exc
    except Exception as exc:  # noqa: BLE001
        msg = error_message(exc)
        if path not in msg and os.path.basename(path) not in msg:
            msg = f"cannot open catalog {path}: {msg}"
        raise CLIError(msg) from exc


def _is_catalog(obj: Any) -> bool:
    """True for a catalog entry that is a nested catalog, or a catalog source."""
    flag = getattr(obj, "is_catalog", None)
    if isinstance(flag, bool):
        return flag
    return getattr(obj, "container", None) == "catalog"


def _names(cat) -> list[str]:
    return list(cat)


def _entry(cat, name: str):
    """The catalog entry object (described without building a source) for ``name``."""
    getter = getattr(cat, "get_entry", None)
    if getter is not None:
        return getter(name)
    return cat[name]  # pragma: no cover - a catalog without entry objects


def _open_nested(entry):
    """The nested catalog of a catalog entry, opened for the originals."""
    try:
        return entry(persist_mode="never")
    except TypeError:  # pragma: no cover
        return entry()


def walk_entries(
    cat, prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, Any, Exception | None]]:
    """``(dotted_name, entry_or_None, error_or_None)`` for every entry, depth first;
    a nested catalog is yielded, then its entries (``parent.child``). An entry or a
    nested catalog that cannot be opened is yielded with its error."""
    for name in _names(cat):
        full = f"{prefix}{name}"
        try:
            entry = _entry(cat, name)
        except Exception as exc:  # noqa: BLE001
            yield full, None, exc
            continue
        yield full, entry, None
        if _is_catalog(entry) and depth < 20:
            try:
                sub = _open_nested(entry)
            except Exception as exc:  # noqa: BLE001 - a broken nested catalog: report it
                yield f"{full}.*", None, exc
                continue
            yield from walk_entries(sub, f"{full}.", depth + 1)


def get_entry(cat, dotted: str):
    """The entry for ``name`` or ``parent.child`` (names may contain dots themselves)."""
    names = _names(cat)
    if dotted in names:
        return _entry(cat, dotted)
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head, rest = ".".join(parts[:i]), ".".join(parts[i:])
        if head in names:
            parent = _entry(cat, head)
            if _is_catalog(parent):
                try:
                    return get_entry(_open_nested(parent), rest)
                except CLIError:
                    pass
    known = ", ".join(names) or "none"
    raise CLIError(f"no entry {dotted!r} in the catalog (its entries: {known})")


def entry_error(exc: BaseException) -> str:
    """One line for an error about an entry of the catalog the command was given: the
    ``catalog <url>, `` that the catalog layer puts first is left out (the command
    names the catalog already)."""
    msg = error_message(exc)
    url = getattr(exc, "url", None)
    if isinstance(url, str) and msg.startswith(f"catalog {url}, "):
        msg = msg[len(f"catalog {url}, "):]
    return msg


def _describe(entry) -> dict:
    """``entry.describe()``, with ``error`` set when the entry cannot be built as
    written (its driver unknown, say): found without reading any data."""
    try:
        desc = dict(entry.describe())
    except Exception as exc:  # noqa: BLE001
        name = getattr(entry, "name", None)
        return {"name": name, "error": _bare(str(name), entry_error(exc))}
    check = getattr(entry, "driver_class", None)
    if check is not None and not _is_catalog(entry):
        try:
            check()
        except Exception as exc:  # noqa: BLE001
            desc.setdefault("error", _bare(str(getattr(entry, "name", "")), entry_error(exc)))
    return desc


def _declared_params(entry) -> list[str]:
    ups = getattr(entry, "user_parameters", None)
    if isinstance(ups, dict):
        return list(ups)
    names = []
    for up in _describe(entry).get("user_parameters") or []:
        if isinstance(up, dict) and up.get("name"):
            names.append(up["name"])
        elif isinstance(up, str):
            names.append(up)
    return names


def build_source(entry, name: str, params: dict[str, str]):
    """The original source of ``entry`` with the parameters it declares (strings, coerced
    by the catalog). A refused value or a broken entry is a CLIError naming the entry."""
    try:
        declared = _declared_params(entry)
        mine = {k: v for k, v in params.items() if k in declared}
        source = entry(persist_mode="never", **mine)
    except (ValueError, TypeError, KeyError) as exc:
        msg = entry_error(exc)
        if repr(name) not in msg and repr(name.rsplit(".", 1)[-1]) not in msg:
            msg = f"entry {name!r}: {msg}"
        raise CLIError(msg) from exc
    # the store records the name as the command line says it: ``parent.child`` for an
    # entry of a nested catalog, so that persist, list and catalog show one name
    source.entry_name = name
    return source


def _check_params_used(params: dict[str, str], entries: list[tuple[str, Any]]) -> None:
    if not params:
        return
    declared: dict[str, list[str]] = {}
    for name, entry in entries:
        for p in _declared_params(entry):
            declared.setdefault(p, []).append(name)
    unknown = [p for p in params if p not in declared]
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise CLIError(
            f"unknown parameter {unknown[0]!r}: no selected entry declares it "
            f"(declared parameters: {known})"
        )


# ---- persist ------------------------------------------------------------------------


class _Progress:
    """One rich progress bar per entry on stderr, or nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Progress | None = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("partitions"),
                TimeElapsedColumn(),
                console=R.console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def callback(self, label: str) -> Callable[[int, int], None] | None:
        """``update(done, total)`` for one entry. Its bar appears at the first update
        that knows the total, so it never reads ``0/?``."""
        if self._progress is None:
            return None
        progress = self._progress
        task = None

        def update(done: int, total: int | None = None) -> None:
            nonlocal task
            if task is None:
                if total is None:
                    return
                task = progress.add_task(label, total=total, completed=done)
                return
            progress.update(task, completed=done, total=total)

        return update


def _progress_enabled(args: argparse.Namespace) -> bool:
    if args.json or getattr(args, "no_progress", False):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _copy_summary(store, key: str | None, copy: Any) -> dict:
    """key, location, size of a fresh copy, from the index when possible."""
    out: dict[str, Any] = {"key": key, "location": None, "size": None}
    if key is not None:
        try:
            info = _entry_info(store, key)
            out.update(location=info.get("location"), size=info.get("size"))
            return out
        except Exception:  # noqa: BLE001
            log.debug("no index info for %s", key, exc_info=True)
    kwargs = getattr(copy, "_init_kwargs", None) or {}
    out["location"] = kwargs.get("urlpath")
    return out


def cmd_persist(args: argparse.Namespace) -> int:
    params = dict(args.params)
    cat = open_catalog_for(args.catalog, args)

    # select the entries
    selected: list[tuple[str, Any]] = []
    skipped: list[dict] = []
    failed: list[dict] = []
    if args.entries:
        # a name that is not there (or is a catalog) fails alone: the others go on
        for name in dict.fromkeys(args.entries):
            try:
                entry = get_entry(cat, name)
            except CLIError as exc:
                failed.append({"entry": name, "error": _bare(name, str(exc))})
                continue
            if _is_catalog(entry):
                failed.append({"entry": name, "error": f"entry {name!r} is a catalog; "
                               f"name its entries ({name}.ENTRY)"})
                continue
            selected.append((name, entry))
    else:
        for name, entry, err in walk_entries(cat):
            if err is not None:
                failed.append({"entry": name, "error": _bare(name, entry_error(err))})
            elif not _is_catalog(entry):
                selected.append((name, entry))
    _check_params_used(params, selected)
    # every source is built (parameters checked) before anything is written; with no
    # ENTRY given, an entry that cannot be built is reported and the others go on
    sources: list[tuple[str, Any]] = []
    for name, entry in selected:
        try:
            sources.append((name, build_source(entry, name, params)))
        except CLIError as exc:
            if params and set(params) & set(_declared_params(entry)):
                raise  # a refused parameter value: nothing is written
            failed.append({"entry": name, "error": _bare(name, str(exc))})

    store = open_store(args, create=True)
    persisted: list[dict] = []
    started = time.perf_counter()
    with _Progress(_progress_enabled(args)) as bars:
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
                failed.append({"entry": name, "error": _bare(name, entry_error(exc))})
                continue
            summary = _copy_summary(store, key, copy)
            persisted.append(
                {
                    "entry": name,
                    "key": summary["key"],
                    "container": getattr(src, "container", None),
                    "location": summary["location"],
                    "size": summary["size"],
                    "ttl": args.ttl,
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
    elapsed = time.perf_counter() - started
    code = 1 if failed else 0
    if args.json:
        R.print_json(
            {
                "catalog": args.catalog,
                "store": _store_url(args),
                "persisted": persisted,
                "skipped": skipped,
                "failed": failed,
                "seconds": round(elapsed, 3),
            }
        )
        _report_persist_failures(failed)
        return code
    con = R.console()
    if persisted:
        url = _store_url(args)

        def build(relative: bool, full: bool):
            rows = [
                [
                    p["entry"],
                    R.short_key(p["key"] or "-", full),
                    p["container"] or "-",
                    R.fmt_size(p["size"]),
                    R.fmt_duration(p["seconds"], precise=True),
                    _location(p["location"], url, relative),
                ]
                for p in persisted
            ]
            columns = [
                R.Col("ENTRY", shrink="middle", min=24, rank=0),
                R.Col("TOKEN", style="cyan"),
                R.Col("CONTAINER"),
                R.Col("SIZE", justify="right"),
                R.Col("TIME", justify="right"),
                R.Col("IN STORE" if relative else "LOCATION", shrink="middle",
                      min=12, rank=1),
            ]
            return R.fit_table(con, columns, rows, full=full)

        con.print(_absolute_or_relative(con, build, args.full))
    for s in skipped:
        con.print(f"skipped {R.escape(s['entry'])}: {R.escape(s['reason'])}")
    total = sum(p["size"] or 0 for p in persisted)
    ttl = R.fmt_ttl(args.ttl)
    line = (
        f"Persisted {len(persisted)} entr{'y' if len(persisted) == 1 else 'ies'}"
        f" ({R.fmt_size(total)}, TTL {ttl}) in {R.fmt_duration(elapsed, precise=True)}"
        f" into {R.escape(_store_url(args))}"
    )
    if skipped:
        line += f"; {len(skipped)} skipped"
    if failed:
        line += f"; [red]{len(failed)} failed[/red]"
    con.print(line)
    _report_persist_failures(failed)
    return code


def _report_persist_failures(failed: list[dict]) -> None:
    for f in failed:
        sys.stderr.write(f"{PROG}: error: {_say_once(f['entry'], f['error'])}\n")


def _entry_prefixes(name: str) -> tuple[str, ...]:
    leaf = name.rsplit(".", 1)[-1]
    return tuple(dict.fromkeys((f"entry {name!r}: ", f"entry {leaf!r}: ")))


def _bare(name: str, msg: str) -> str:
    """``msg`` without the ``entry 'name': `` prefixes that layers below added."""
    prefixes = _entry_prefixes(name)
    while msg.startswith(prefixes):
        msg = msg[len(next(p for p in prefixes if msg.startswith(p))):]
    return msg


def _say_once(name: str, msg: str) -> str:
    """An error line about entry ``name`` that names it once: ``entry 'x': msg``, or
    ``msg`` alone when it already names the entry."""
    msg = _bare(name, msg)
    return msg if repr(name) in msg else f"entry {name!r}: {msg}"


# ---- refresh ------------------------------------------------------------------------


def cmd_refresh(args: argparse.Namespace) -> int:
    if not args.keys and not args.expired and not args.all:
        raise UsageError("give KEYs to refresh, or --expired, or --all")
    if args.keys and args.all:
        raise UsageError("give KEYs or --all, not both")
    store = open_store(args)
    infos = {e["key"]: e for e in _all_infos(store)}  # one snapshot of the index
    if args.keys:
        if store is None:
            raise CLIError(f"no entry {args.keys[0]!r}: the store {_store_url(args)} is empty")
        keys = list(dict.fromkeys(resolve_key(store, k, list(infos)) for k in args.keys))
    else:
        keys = list(infos)
    if args.expired:
        keys = [k for k in keys if infos[k]["expired"]]
    refreshed: list[dict] = []
    failed: list[dict] = []
    with _Progress(_progress_enabled(args)) as bars:
        for key in keys:
            name = infos[key].get("name") or key
            t0 = time.perf_counter()
            try:
                log.debug("refreshing %s (%s)", name, key)
                copy = store.refresh(key, progress=bars.callback(str(name)))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001
                log.debug("refreshing %s failed", key, exc_info=args.verbose > 0)
                failed.append(
                    {"key": key, "name": infos[key].get("name"), "error": error_message(exc)}
                )
                continue
            summary = _copy_summary(store, key, copy)
            refreshed.append(
                {
                    "key": key,
                    "name": infos[key].get("name"),
                    "location": summary["location"],
                    "size": summary["size"],
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
    code = 1 if failed else 0
    if args.json:
        R.print_json({"store": _store_url(args), "refreshed": refreshed, "failed": failed})
        _report_refresh_failures(failed)
        return code
    con = R.console()
    for r in refreshed:
        con.print(
            f"refreshed {R.escape(r['name'] or '-')} [cyan]{R.short_key(r['key'])}[/cyan] "
            f"({R.fmt_size(r['size'])}, {R.fmt_duration(r['seconds'], precise=True)})"
        )
    what = "expired " if args.expired else ""
    con.print(
        f"Refreshed {len(refreshed)} {what}entr{'y' if len(refreshed) == 1 else 'ies'}"
        + (f"; [red]{len(failed)} failed[/red]" if failed else "")
        + "."
    )
    _report_refresh_failures(failed)
    return code


def _report_refresh_failures(failed: list[dict]) -> None:
    for f in failed:
        label = f["name"] or f["key"]
        sys.stderr.write(f"{PROG}: error: refreshing {label!r} ({f['key']}): {f['error']}\n")


# ---- remove, clear, gc ---------------------------------------------------------------


def cmd_remove(args: argparse.Namespace) -> int:
    store = open_store(args)
    if store is None:
        raise CLIError(f"no entry {args.keys[0]!r}: the store {_store_url(args)} is empty")
    keys_in_store = _keys(store)
    # resolve everything first: an unknown key removes nothing
    keys = list(dict.fromkeys(resolve_key(store, k, keys_in_store) for k in args.keys))
    names = {}
    for key in keys:
        try:
            names[key] = _entry_info(store, key).get("name")
        except Exception:  # noqa: BLE001
            names[key] = None
    for key in keys:
        store.remove(key, delfiles=not args.keep_files)
    if args.json:
        R.print_json(
            {
                "store": _store_url(args),
                "removed": [{"key": k, "name": names[k]} for k in keys],
                "files_deleted": not args.keep_files,
            }
        )
        return 0
    con = R.console()
    for key in keys:
        con.print(f"removed {R.escape(names[key] or '-')} [cyan]{key}[/cyan]")
    return 0


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


def cmd_clear(args: argparse.Namespace) -> int:
    store = open_store(args)
    keys = _keys(store)
    url = _store_url(args)
    if keys and not args.yes:
        n = len(keys)
        if not _confirm(
            f"Remove all {n} entr{'y' if n == 1 else 'ies'} and their files from {url}?"
        ):
            raise CLIError("not confirmed; nothing removed")
    if store is not None:
        store.clear()
    if args.json:
        R.print_json({"store": url, "removed": len(keys), "keys": keys})
        return 0
    R.console().print(
        f"Removed {len(keys)} entr{'y' if len(keys) == 1 else 'ies'} from {R.escape(url)}."
    )
    return 0


_GC_VERBS = {
    # category: (done, dry-run)
    "removed": ("removed", "would remove"),
    "reindexed": ("put back in the index", "would put back in the index"),
    "dropped": ("dropped from the index (files gone)", "would drop from the index"),
    "detached": ("kept (removed from the index; --delete-detached deletes it)",) * 2,
}


def cmd_gc(args: argparse.Namespace) -> int:
    store = open_store(args)
    # the store's report: {"removed": [urls], "reindexed": [tokens], "dropped": [tokens], ...}
    report = (dict(store.gc(dry_run=args.dry_run, delete_detached=args.delete_detached))
              if store is not None else {"removed": []})
    report.pop("dry_run", None)
    if args.json:
        R.print_json({"store": _store_url(args), "dry_run": args.dry_run, **R.jsonable(report)})
        return 0
    con = R.console()
    counts = []
    for category, items in report.items():
        done, would = _GC_VERBS.get(category, (category.replace("_", " "),) * 2)
        if isinstance(items, (list, tuple, set)):
            items = list(items)
            for item in items:
                con.print(f"{would if args.dry_run else done} {R.escape(item)}")
            if items:
                counts.append(f"{len(items)} {category.replace('_', ' ')}")
        else:
            con.print(f"{R.escape(category.replace('_', ' '))}: {R.escape(items)}")
    where = R.escape(_store_url(args)) if store is not None else "(no store yet)"
    summary = ", ".join(counts) if counts else "nothing to do"
    con.print(f"gc{' --dry-run' if args.dry_run else ''} {where}: {summary}.")
    return 0


# ---- export, catalog ----------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    params = dict(args.params)
    cat = open_catalog_for(args.catalog, args)
    entry = get_entry(cat, args.entry)
    if _is_catalog(entry):
        raise CLIError(f"entry {args.entry!r} is a catalog; name one of its entries")
    _check_params_used(params, [(args.entry, entry)])
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
    if args.json:
        R.print_json({"entry": args.entry, "path": path, "yaml": text})
        return 0
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    cat = open_catalog_for(args.catalog, args)
    if args.entry:
        desc = _describe(get_entry(cat, args.entry))
        desc["name"] = args.entry if not desc.get("name") else desc["name"]
        if args.json:
            R.print_json(desc)
            return 0
        _print_description(args.entry, desc)
        return 0
    rows: list[dict[str, Any]] = []
    for name, entry, exc in walk_entries(cat):
        if exc is not None:
            rows.append(
                {
                    "name": name,
                    "container": None,
                    "driver": None,
                    "description": None,
                    "parameters": [],
                    "error": error_message(exc),
                }
            )
            continue
        desc = _describe(entry)
        rows.append(
            {
                "name": name,
                "container": desc.get("container", getattr(entry, "container", None)),
                "driver": desc.get("driver"),
                "description": desc.get("description"),
                "parameters": [
                    p.get("name") if isinstance(p, dict) else p
                    for p in desc.get("user_parameters") or []
                ],
                "error": desc.get("error"),
            }
        )
    if args.json:
        R.print_json({"catalog": args.catalog, "entries": rows})
        return 0
    con = R.console()
    if not rows:
        con.print(f"No entries in {R.escape(args.catalog)}.")
        return 0
    table_rows = []
    for r in rows:
        if r["error"]:
            cell: Any = (f"error: {_about_entry(r['name'], r['error'])}", "red")
        else:
            text = (r["description"] or "").strip()
            cell = text.splitlines()[0] if text else ""
        table_rows.append([
            (r["name"], "bold"),
            r["container"] or "-",
            r["driver"] or "-",
            ", ".join(r["parameters"]) or "-",
            cell,
        ])
    columns = [
        R.Col("ENTRY", shrink="middle", min=24, rank=0),
        R.Col("CONTAINER"),
        R.Col("DRIVER", shrink="middle", min=10, rank=1),
        R.Col("PARAMETERS", shrink="end", min=10, rank=2),
        R.Col("DESCRIPTION", shrink="end", min=16, rank=3),
    ]
    table = R.fit_table(con, columns, table_rows, full=args.full)
    if args.full:
        R.widen_for(con, table)
    con.print(table)
    errors = [r for r in rows if r["error"]]
    if errors and not args.full:  # the table may cut errors short: each in full below it
        con.print()
        for r in errors:
            con.print(f"[red]{R.escape(_say_once(r['name'], r['error']))}[/red]")
    return 0


def _about_entry(name: str, msg: str) -> str:
    """What ``msg`` says about entry ``name``, without the ``catalog <url>, entry
    'name':`` or ``entry 'name':`` it starts with (a table row names both)."""
    leaf = name.rsplit(".", 1)[-1]
    for who in dict.fromkeys((name, leaf)):
        for prefix in (f"entry {who!r}: ", f", entry {who!r}: "):
            if msg.startswith(prefix):
                return msg[len(prefix):]
            if prefix.startswith(",") and msg.startswith("catalog ") and prefix in msg:
                return msg.split(prefix, 1)[1]
    return msg


def _print_description(name: str, desc: dict) -> None:
    con = R.console()
    from rich.table import Table

    if desc.get("error") and "driver" not in desc:  # not even described
        raise CLIError(_say_once(name, desc["error"]))
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for field in ("name", "description", "driver", "container"):
        t.add_row(field, R.escape(desc.get(field) if desc.get(field) is not None else "-"))
    if desc.get("error"):
        t.add_row("error", f"[red]{R.escape(_about_entry(name, desc['error']))}[/red]")
    t.add_row("args", R.escape(_yaml_text(desc.get("args") or {}).rstrip()))
    if desc.get("metadata"):
        t.add_row("metadata", R.escape(_yaml_text(desc["metadata"]).rstrip()))
    con.print(t)
    params = desc.get("user_parameters") or []
    if params:
        rows = []
        for p in params:
            p = p if isinstance(p, dict) else {"name": p}
            rows.append(
                [
                    R.escape(p.get("name")),
                    R.escape(p.get("type") or "-"),
                    R.escape(_short(p.get("default"))),
                    R.escape(_short(p.get("min"))),
                    R.escape(_short(p.get("max"))),
                    R.escape(_short(p.get("allowed"))),
                    R.escape(p.get("description") or ""),
                ]
            )
        con.print(
            R.table(
                [
                    ("PARAMETER", {"style": "bold"}),
                    ("TYPE", {}),
                    ("DEFAULT", {}),
                    ("MIN", {}),
                    ("MAX", {}),
                    ("ALLOWED", {"overflow": "fold"}),
                    ("DESCRIPTION", {"overflow": "fold"}),
                ],
                rows,
            )
        )


def _short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": cmd_list,
    "show": cmd_show,
    "persist": cmd_persist,
    "refresh": cmd_refresh,
    "remove": cmd_remove,
    "clear": cmd_clear,
    "gc": cmd_gc,
    "export": cmd_export,
    "catalog": cmd_catalog,
}
