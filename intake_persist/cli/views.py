"""How each command's result looks on a terminal: the same data ``--json`` prints,
drawn as rich tables and lines; and the error lines some commands write on stderr
whichever the output format."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..errors import CLIError
from . import PROG
from . import render as R
from .catalogs import about_entry, say_once
from .outcome import Outcome


def _location(loc: str | None, store_url: str, relative: bool) -> str:
    """A copy's location, relative to the store when asked (narrow terminals)."""
    if not loc:
        return "-"
    root = store_url.rstrip("/") + "/"
    return loc[len(root) :] if relative and loc.startswith(root) else loc


def _absolute_or_relative(con: Any, build: Callable[[bool, bool], Any], full: bool) -> Any:
    """The table ``build(relative, full)`` with whole locations when it fits (or with
    ``--full``), else with locations relative to the store, elided to fit."""
    whole = build(False, True)
    if full:
        R.widen_for(con, whole)
        return whole
    if R.fits(con, whole):
        return whole
    return build(True, False)


def _entries(n: int) -> str:
    return f"entr{'y' if n == 1 else 'ies'}"


def _yaml_text(value: Any) -> str:
    from .._yaml import dump

    return dump(R.jsonable(value))


# ---- store commands ------------------------------------------------------------------


def list_entries(out: Outcome, args: argparse.Namespace) -> None:
    url, infos = out.data["store"], out.data["entries"]
    con = R.console()
    if not infos:
        if out.facts["in_store"]:
            con.print(f"No entry matches ({out.facts['in_store']} in {R.escape(url)}).")
        else:
            con.print(f"No persisted sources in {R.escape(url)}.")
        return

    def build(relative: bool, full: bool) -> Any:
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

    con.print(_absolute_or_relative(con, build, args.full))
    total = sum(e.get("size") or 0 for e in infos)
    expired = sum(1 for e in infos if e["expired"])
    con.print(
        f"{len(infos)} {_entries(len(infos))}, {R.fmt_size(total)}"
        + (f", {expired} expired" if expired else "")
        + f" — store: {R.escape(url)}"
    )


_SHOW_LABELS = {
    "key": "token",
    "size": "size",
    "timestamp": "persisted",
    "age": "age",
    "ttl": "ttl",
    "expired": "state",
}


def _show_value(field: str, value: Any) -> str:
    if field == "size":
        if isinstance(value, int):
            return f"{R.fmt_size(value)} ({value} bytes)"
        return R.fmt_size(value)
    if field == "timestamp":
        return R.fmt_time(value)
    if field == "age":
        return R.fmt_duration(value)
    if field == "ttl":
        return R.fmt_ttl(value)
    if field == "expired":
        return "[red]expired[/red]" if value else "[green]fresh[/green]"
    if isinstance(value, list) and all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        return R.escape(", ".join(map(str, value)) or "-")
    if isinstance(value, (dict, list)):
        return R.escape(_yaml_text(value).rstrip() or "{}")
    return R.escape("-" if value is None else value)


def show(out: Outcome, args: argparse.Namespace) -> None:
    info = out.data
    con = R.console()
    from rich.table import Table

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for field, value in info.items():
        if field in ("original_source", "persist_kwargs", "created", "state"):
            continue
        t.add_row(_SHOW_LABELS.get(field, field.replace("_", " ")), _show_value(field, value))
    t.add_row("persist kwargs", R.escape(_yaml_text(info.get("persist_kwargs") or {}).rstrip()))
    con.print(t)
    original = info.get("original_source")
    con.print()
    con.print("[bold]original source[/bold]")
    if original:
        con.print(R.escape(_yaml_text(original).rstrip()), soft_wrap=True)
    else:
        con.print("  (not recorded)")


def versions(out: Outcome, args: argparse.Namespace) -> None:
    data = out.data
    url, rows = data["store"], data["versions"]
    con = R.console()

    def build(relative: bool, full: bool) -> Any:
        table_rows = [
            [
                r["version"],
                r["created"],
                R.fmt_size(r.get("size")),
                ("current", "green") if r["current"] else "",
                _location(r.get("location"), url, relative),
            ]
            for r in rows
        ]
        columns = [
            R.Col("VERSION", style="cyan"),
            R.Col("CREATED"),
            R.Col("SIZE", justify="right"),
            R.Col(""),
            R.Col("IN STORE" if relative else "LOCATION", shrink="middle", min=12, rank=1),
        ]
        return R.fit_table(con, columns, table_rows, full=full)

    con.print(_absolute_or_relative(con, build, args.full))
    label = f"{R.escape(data['name'])} " if data.get("name") else ""
    con.print(f"{len(rows)} kept {'copy' if len(rows) == 1 else 'copies'} of {label}"
              f"[cyan]{data['key']}[/cyan] — store: {R.escape(url)}")


def refresh(out: Outcome, args: argparse.Namespace) -> None:
    refreshed, failed = out.data["refreshed"], out.data["failed"]
    con = R.console()
    for r in refreshed:
        con.print(
            f"refreshed {R.escape(r['name'] or '-')} [cyan]{R.short_key(r['key'])}[/cyan] "
            f"({R.fmt_size(r['size'])}, {R.fmt_duration(r['seconds'], precise=True)})"
        )
    skipped = out.data.get("skipped") or []
    what = "expired " if args.expired else ""
    con.print(
        f"Refreshed {len(refreshed)} {what}{_entries(len(refreshed))}"
        + (f"; [red]{len(failed)} failed[/red]" if failed else "")
        + (f"; [red]{len(skipped)} skipped[/red]" if skipped else "")
        + "."
    )


def refresh_errors(out: Outcome) -> None:
    for f in out.data["failed"]:
        label = f["name"] or f["key"]
        sys.stderr.write(f"{PROG}: error: refreshing {label!r} ({f['key']}): {f['error']}\n")
    for f in out.data.get("skipped") or []:
        label = f["name"] or f["key"]
        sys.stderr.write(
            f"{PROG}: error: skipped {label!r} ({f['key']}): its upstream "
            f"{f['blocked_by']} was not refreshed\n"
        )


def remove(out: Outcome, args: argparse.Namespace) -> None:
    con = R.console()
    for r in out.data["removed"]:
        con.print(f"removed {R.escape(r['name'] or '-')} [cyan]{r['key']}[/cyan]")


def clear(out: Outcome, args: argparse.Namespace) -> None:
    n = out.data["removed"]
    R.console().print(f"Removed {n} {_entries(n)} from {R.escape(out.data['store'])}.")


_GC_VERBS = {
    # category: (done, dry-run)
    "removed": ("removed", "would remove"),
    "retired": ("retired (deleted after the grace period)", "would retire"),
    "reindexed": ("put back in the index", "would put back in the index"),
    "dropped": ("dropped from the index (files gone)", "would drop from the index"),
    "detached": ("kept (removed from the index; --delete-detached deletes it)",) * 2,
}


def gc(out: Outcome, args: argparse.Namespace) -> None:
    con = R.console()
    counts = []
    for category in out.facts["categories"]:
        items = out.data[category]
        done, would = _GC_VERBS.get(category, (category,) * 2)
        for item in items:
            con.print(f"{would if args.dry_run else done} {R.escape(item)}")
        if items:
            counts.append(f"{len(items)} {category}")
    where = R.escape(out.data["store"]) if out.facts["exists"] else "(no store yet)"
    summary = ", ".join(counts) if counts else "nothing to do"
    con.print(f"gc{' --dry-run' if args.dry_run else ''} {where}: {summary}.")


# ---- catalog commands ----------------------------------------------------------------


def persist(out: Outcome, args: argparse.Namespace) -> None:
    persisted, skipped, failed = (out.data[k] for k in ("persisted", "skipped", "failed"))
    url = out.data["store"]
    con = R.console()
    if persisted:

        def build(relative: bool, full: bool) -> Any:
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
    elapsed = R.fmt_duration(out.facts["elapsed"], precise=True)
    line = (
        f"Persisted {len(persisted)} {_entries(len(persisted))}"
        f" ({R.fmt_size(total)}, TTL {R.fmt_ttl(args.ttl)}) in {elapsed}"
        f" into {R.escape(url)}"
    )
    if skipped:
        line += f"; {len(skipped)} skipped"
    if failed:
        line += f"; [red]{len(failed)} failed[/red]"
    con.print(line)


def persist_errors(out: Outcome) -> None:
    for f in out.data["failed"]:
        sys.stderr.write(f"{PROG}: error: {say_once(f['entry'], f['error'])}\n")


def export(out: Outcome, args: argparse.Namespace) -> None:
    text = out.data["yaml"]
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def catalog(out: Outcome, args: argparse.Namespace) -> None:
    if "entry" in out.facts:
        _description(out.facts["entry"], out.data)
        return
    rows = out.data["entries"]
    con = R.console()
    if not rows:
        con.print(f"No entries in {R.escape(args.catalog)}.")
        return
    table_rows = []
    for r in rows:
        if r["error"]:
            cell: Any = (f"error: {about_entry(r['name'], r['error'])}", "red")
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
            con.print(f"[red]{R.escape(say_once(r['name'], r['error']))}[/red]")


def _description(name: str, desc: dict) -> None:
    if desc.get("error") and "driver" not in desc:  # not even described
        raise CLIError(say_once(name, desc["error"]))
    con = R.console()
    from rich.table import Table

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for field in ("name", "description", "driver", "container"):
        t.add_row(field, R.escape(desc.get(field) if desc.get(field) is not None else "-"))
    if desc.get("error"):
        t.add_row("error", f"[red]{R.escape(about_entry(name, desc['error']))}[/red]")
    t.add_row("args", R.escape(_yaml_text(desc.get("args") or {}).rstrip()))
    if desc.get("metadata"):
        t.add_row("metadata", R.escape(_yaml_text(desc["metadata"]).rstrip()))
    con.print(t)
    params = desc.get("user_parameters") or []
    if not params:
        return
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
    columns = [
        ("PARAMETER", {"style": "bold"}),
        ("TYPE", {}),
        ("DEFAULT", {}),
        ("MIN", {}),
        ("MAX", {}),
        ("ALLOWED", {"overflow": "fold"}),
        ("DESCRIPTION", {"overflow": "fold"}),
    ]
    con.print(R.table(columns, rows))


def _short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
