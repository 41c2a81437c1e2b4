"""Run one subcommand of ``intake-persist``: compute its result (the modules
:mod:`.store_commands` and :mod:`.catalog_commands`), then print it as JSON or draw
it for a terminal (:mod:`.views`). Imported only when a command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple

from . import catalog_commands, store_commands, views
from . import render as R
from .outcome import Outcome


class Command(NamedTuple):
    compute: Callable[[argparse.Namespace], Outcome]
    draw: Callable[[Outcome, argparse.Namespace], None]
    errors: Callable[[Outcome], None] | None = None  # stderr lines, in both formats


COMMANDS: dict[str, Command] = {
    "list": Command(store_commands.list_entries, views.list_entries),
    "show": Command(store_commands.show, views.show),
    "versions": Command(store_commands.versions, views.versions),
    "persist": Command(catalog_commands.persist, views.persist, views.persist_errors),
    "refresh": Command(store_commands.refresh, views.refresh, views.refresh_errors),
    "remove": Command(store_commands.remove, views.remove),
    "clear": Command(store_commands.clear, views.clear),
    "gc": Command(store_commands.gc, views.gc),
    "export": Command(catalog_commands.export, views.export),
    "catalog": Command(catalog_commands.catalog, views.catalog),
}


def run(args: argparse.Namespace) -> int:
    """Run ``args.command``; returns its exit status."""
    command = COMMANDS[args.command]
    outcome = command.compute(args)
    if args.json:
        R.print_json(outcome.data)
    else:
        command.draw(outcome, args)
    if command.errors is not None:
        command.errors(outcome)
    return outcome.code
