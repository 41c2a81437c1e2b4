"""Program-level behaviour: help, version, usage errors, speed of --help, logging."""

from __future__ import annotations

import subprocess
import sys

from intake_persist import __version__
from intake_persist.cli import build_parser, error_message
from intake_persist.cli.render import fmt_duration, fmt_size, fmt_ttl

COMMANDS = ("list", "show", "persist", "refresh", "remove", "clear", "gc", "export", "catalog")


def test_version(cli):
    r = cli("--version")
    assert r.code == 0, r
    assert r.out.strip() == f"intake-persist {__version__}"


def test_help_lists_every_command(cli):
    r = cli("--help")
    assert r.code == 0, r
    for name in COMMANDS:
        assert name in r.out
    for name in COMMANDS:
        sub = cli(name, "--help")
        assert sub.code == 0, sub
        assert "--json" in sub.out and "--store" in sub.out


def test_help_and_version_do_not_import_heavy_modules(cli_env):
    code = (
        "import sys\n"
        "from intake_persist.cli import main\n"
        "for argv in (['--version'], ['--help'], ['list', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "mods = ('rich', 'yaml', 'fsspec', 'pandas', 'dask', 'pyarrow',\n"
        "        'intake_persist.store', 'intake_persist.catalog')\n"
        "heavy = [m for m in mods if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("[]"), proc.stderr


def test_no_command_is_a_usage_error(cli):
    r = cli()
    assert r.code == 2
    assert "usage:" in r.err and "intake-persist: error:" in r.err


def test_unknown_command_and_option(cli):
    assert cli("frobnicate").code == 2
    r = cli("list", "--bogus")
    assert r.code == 2 and "--bogus" in r.err


def test_bad_choices_are_usage_errors(cli):
    assert cli("list", "--sort", "colour").code == 2
    assert cli("list", "--state", "stale").code == 2


def test_bad_ttl_is_a_usage_error(cli, catalog):
    r = cli("persist", catalog, "--ttl", "soon")
    assert r.code == 2
    assert "soon" in r.err
    r = cli("persist", catalog, "--ttl=-5")
    assert r.code == 2
    assert "-5" in r.err


def test_bad_param_syntax_is_a_usage_error(cli, catalog):
    r = cli("persist", catalog, "-p", "year")
    assert r.code == 2
    assert "name=value" in r.err


def test_global_options_before_or_after_the_command():
    parser = build_parser()
    a = parser.parse_args(["--json", "--store", "/x", "list"])
    b = parser.parse_args(["list", "--json", "--store", "/x"])
    c = parser.parse_args(["list"])
    assert (a.json, a.store) == (b.json, b.store) == (True, "/x")
    assert (c.json, c.store, c.verbose) == (False, None, 0)


def test_formatting():
    assert fmt_duration(200) == "3m 20s"
    assert fmt_duration(7200) == "2h"
    assert fmt_duration(45) == "45s"
    assert fmt_duration(90000) == "1d 1h"
    assert fmt_duration(None) == "-"
    assert fmt_ttl(None) == "never"
    assert fmt_ttl(3600) == "1h"
    assert fmt_size(0) == "0 B"
    assert fmt_size(1536) == "1.5 KiB"
    assert fmt_size(None) == "-"


def test_error_message_is_one_line():
    assert error_message(KeyError("no entry 'x'")) == "no entry 'x'"
    assert error_message(ValueError("")) == "ValueError"
    assert "\n" not in error_message(ValueError("first\nsecond"))
