"""``intake-persist``: inspect and change the persist store from the command line.

This module builds the argument parser and runs :func:`main`. A command runs
through :mod:`intake_persist.cli.commands`, imported only then, so that
``intake-persist --help`` and ``--version`` import neither rich nor the store.

Exit codes: 0 success, 1 failure (one ``intake-persist: error: ...`` line on
stderr; the traceback too with ``-v``), 2 usage error (argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import CLIError

PROG = "intake-persist"

log = logging.getLogger("intake_persist.cli")


def _version() -> str:
    from .. import __version__

    return __version__


class _VersionAction(argparse.Action):
    def __init__(
        self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None
    ):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"{PROG} {_version()}\n")
        parser.exit(0)


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """Global options, accepted before and after the subcommand name.

    On the subcommand parsers the defaults are suppressed so that a value given
    before the subcommand is not overwritten.
    """
    d = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    g.add_argument(
        "--store",
        metavar="URL",
        default=d(None),
        help="persist store to use (path or fsspec URL); default: the configured store "
        "(INTAKE_PERSIST_PATH, conf.yaml, or <confdir>/persisted)",
    )
    g.add_argument(
        "--json",
        action="store_true",
        default=d(False),
        help="machine-readable JSON on stdout (see docs/cli.rst for the schema)",
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=d(0),
        help="debug logging on stderr, and tracebacks on errors",
    )
    return p


def _add(sub, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        parents=[_common_options(defaults=False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), value


def _ttl(text: str) -> float | None:
    if text.lower() in ("none", "never"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"TTL must be a number of seconds or 'never', got {text!r}"
        ) from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"TTL must be a number of seconds >= 0, got {text!r}")
    return int(value) if value == int(value) else value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _keep(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of copies >= 1, got {text!r}")
    return value


def _add_params(p: argparse.ArgumentParser, help: str) -> None:
    """The repeatable ``-p NAME=VALUE`` option of persist and export."""
    p.add_argument("-p", "--param", dest="params", type=_param, action="append",
                   default=[], metavar="NAME=VALUE", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect and change the intake_persist store: persisted copies of the "
        "sources of intake YAML catalogs.",
        epilog="Run '%(prog)s COMMAND --help' for the options of one command. "
        "Exit status: 0 ok, 1 failure, 2 usage error.",
        parents=[_common_options(defaults=True)],
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True

    p = _add(sub, "list", "list the persisted sources in the store")
    p.add_argument(
        "--sort",
        choices=("name", "age", "size", "ttl"),
        default="name",
        help="sort key (default: name); ttl 'never' sorts last",
    )
    p.add_argument("--reverse", "-r", action="store_true", help="reverse the sort order")
    p.add_argument("--name", metavar="PATTERN", help="only entries whose name matches this glob")
    p.add_argument(
        "--state", choices=("fresh", "expired"), help="only fresh or only expired entries"
    )
    p.add_argument("--full", action="store_true",
                   help="show whole tokens and locations (default: fit the terminal)")

    p = _add(sub, "show", "show everything the store records for one entry")
    p.add_argument("key", metavar="KEY", help="token, unique token prefix, or unique name")
    p.add_argument("--as-of", metavar="TIME", dest="as_of",
                   help="the copy that was current then (ISO-8601, like 2026-12-03T11:00Z; "
                   "no offset: UTC)")

    p = _add(sub, "versions", "list the kept copies of one entry, newest first")
    p.add_argument("key", metavar="KEY", help="token, unique token prefix, or unique name")
    p.add_argument("--full", action="store_true",
                   help="show whole locations (default: fit the terminal)")

    p = _add(
        sub,
        "persist",
        "persist some or all entries of a catalog",
        "Persist entries of CATALOG into the store. With no ENTRY, every entry that is not\n"
        "itself a catalog is persisted, nested catalogs included (their entries are named\n"
        "parent.child).",
    )
    p.add_argument("catalog", metavar="CATALOG", help="catalog path or URL")
    p.add_argument("entries", metavar="ENTRY", nargs="*", help="entry names (nested: parent.child)")
    p.add_argument(
        "--ttl",
        type=_ttl,
        default=None,
        metavar="SECONDS",
        help="expire the copies after this many seconds (default: never)",
    )
    _add_params(p, "user parameter for the entries that declare it "
                "(repeatable; coerced to the declared type)")
    p.add_argument(
        "--skip-fresh",
        action="store_true",
        help="leave entries that already have a fresh copy alone",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--full", action="store_true",
                   help="show whole tokens and locations (default: fit the terminal)")

    p = _add(
        sub,
        "refresh",
        "re-persist entries from their originals",
        "Re-read the originals and re-persist them with the same options, upstream\n"
        "first and each once (derived entries after what they derive from).\n"
        "Give KEYs, or --expired (only expired ones), or --all.",
    )
    p.add_argument("keys", metavar="KEY", nargs="*", help="token, unique token prefix, or name")
    p.add_argument("--expired", action="store_true", help="only entries whose TTL has passed")
    p.add_argument("--all", action="store_true", help="every entry in the store")
    p.add_argument("--upstream", action="store_true",
                   help="also refresh the persisted entries they derive from, first")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = _add(sub, "remove", "remove entries and their files from the store")
    p.add_argument("keys", metavar="KEY", nargs="+", help="token, unique token prefix, or name")
    p.add_argument(
        "--keep-files",
        action="store_true",
        help="forget the entries but keep their files (gc lists them as detached; "
        "gc --delete-detached deletes them)",
    )

    p = _add(sub, "clear", "remove every entry and its files from the store")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = _add(sub, "gc", "remove orphaned files and unfinished writes")
    p.add_argument("--dry-run", "-n", action="store_true", help="report what would be removed")
    p.add_argument(
        "--delete-detached",
        action="store_true",
        help="also delete the files kept by 'remove --keep-files'",
    )
    p.add_argument(
        "--keep",
        type=_keep,
        default=None,
        metavar="N",
        help="first cut every entry down to its N newest copies (the others are retired: "
        "deleted after the grace period)",
    )
    p.add_argument(
        "--grace",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="delete copies taken out of the index (re-persisted, refreshed, pruned, "
        "removed) once they have been out this long (default: persist_grace, 300); "
        "--grace 0 deletes them now, even under readers",
    )

    p = _add(sub, "export", "write a copy of one entry anywhere and print its catalog YAML")
    p.add_argument("catalog", metavar="CATALOG", help="catalog path or URL")
    p.add_argument("entry", metavar="ENTRY", help="entry name (nested: parent.child)")
    p.add_argument("path", metavar="PATH", help="where to write the copy (path or URL)")
    _add_params(p, "user parameter (repeatable)")
    p.add_argument("--output", "-o", metavar="FILE", help="also write the YAML to FILE")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the content of PATH when it exists and is not empty")

    p = _add(sub, "catalog", "list or describe the entries of a catalog, without reading data")
    p.add_argument("catalog", metavar="CATALOG", help="catalog path or URL")
    p.add_argument("entry", metavar="ENTRY", nargs="?", help="describe this entry")
    p.add_argument("--full", action="store_true",
                   help="show whole drivers, descriptions and errors (default: fit the terminal)")
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a stale copy used, ...) as one line, like errors."""
    text = " ".join(str(message).split())
    (file or sys.stderr).write(f"{PROG}: warning: {text}\n")


def _setup_logging(verbosity: int) -> None:
    if verbosity <= 0:
        logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
        import warnings

        warnings.showwarning = _show_warning
        return
    logging.basicConfig(
        level=logging.DEBUG,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    # third-party chatter only at -vv
    if verbosity < 2:
        for name in ("fsspec", "s3fs", "botocore", "aiobotocore", "urllib3", "asyncio", "filelock"):
            logging.getLogger(name).setLevel(logging.INFO)


def error_message(exc: BaseException) -> str:
    """One line for an exception: its message (KeyError not quoted), else its type."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    else:
        text = str(exc)
    text = " ".join(text.split()) if "\n" not in text.strip() else text.strip().splitlines()[0]
    if not text:
        text = type(exc).__name__
    elif isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)) and exc.filename:
        text = f"{exc.strerror or text}: {exc.filename}" if exc.strerror else text
    return text


def _report_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``intake-persist`` and ``python -m intake_persist``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.store:
        from .._io import is_local, strip_file_scheme

        store = args.store
        if is_local(store):
            store = os.path.abspath(os.path.expanduser(strip_file_scheme(store)))
        args.store = store
        # Every part of the library that asks for "the configured store" gets this one.
        os.environ["INTAKE_PERSIST_PATH"] = store
    if getattr(args, "grace", None) is not None:
        # gc --grace: the grace period of the run (the store reads it from here)
        os.environ["INTAKE_PERSIST_GRACE"] = repr(args.grace)
    log.debug("arguments: %s", vars(args))
    try:
        from . import commands

        return int(commands.run(args) or 0)
    except CLIError as exc:
        if args.verbose:
            log.debug("error", exc_info=True)
        if exc.code == 2:
            sys.stderr.write(
                f"usage: {PROG} {args.command} ... (see '{PROG} {args.command} --help')\n"
            )
        _report_error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _report_error("interrupted")
        return 130
    except BrokenPipeError:
        # stdout closed early (| head): no message; point stdout at devnull so that the
        # flush at exit does not complain either. Exit 1, as rich does in that case.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except Exception as exc:  # noqa: BLE001
        if args.verbose:
            import traceback

            traceback.print_exc()
        _report_error(error_message(exc))
        return 1
