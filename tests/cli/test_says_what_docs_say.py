"""The command line says what docs/cli.rst says: unknown drivers
listed with their error, per-entry failures that do not stop the others, errors said
once, tables that fit the terminal, one dotted name everywhere, and progress bars
that never read ``0/?``."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import textwrap

import pytest

LONG = "a-rather-long-folder-name-for-the-store-to-live-in"


@pytest.fixture
def wide_catalog(catalog):
    """The test catalog plus an entry whose driver is unknown, an entry with a long
    dotted driver name and a long description."""
    text = catalog.read_text() + textwrap.indent(textwrap.dedent(
        """\
          broken:
            description: an entry whose driver is not installed here
            driver: no_such_driver
            args: {urlpath: '{{ CATALOG_DIR }}/logs.jsonl'}
          classic:
            description: the 2021 trips, through the driver's full dotted class name, which
              makes for a long description that cannot fit in a narrow terminal at all
            driver: intake.source.csv.CSVSource
            args: {urlpath: '{{ CATALOG_DIR }}/trips_2021.csv'}
        """
    ), "  ")
    catalog.write_text(text)
    return catalog


@pytest.fixture
def deep_env(tmp_path):
    """A store whose path is long, so that whole locations cannot fit in 120 columns."""
    store = tmp_path / LONG / LONG / "store"
    return {"INTAKE_PERSIST_PATH": str(store)}


def test_catalog_lists_an_unknown_driver_with_its_error(cli, wide_catalog):
    r = cli("catalog", wide_catalog, "--json")
    assert r.code == 0, r
    by_name = {e["name"]: e for e in r.json()["entries"]}
    assert "no_such_driver" in by_name["broken"]["error"]
    assert "unknown driver" in by_name["broken"]["error"]
    assert by_name["trips"]["error"] is None and by_name["sub.points"]["error"] is None
    human = cli("catalog", wide_catalog, env={"COLUMNS": "120"})
    assert human.code == 0, human
    (row,) = [line for line in human.out.splitlines() if line.startswith("broken ")]
    assert "error: unknown driver" in row
    # the whole error is said once, below the table (after a blank line; it may be
    # wrapped, being a message), naming the entry once
    below = " ".join(human.out.split("\n\n", 1)[1].split())
    assert below.count("unknown driver 'no_such_driver'; known drivers:") == 1, below
    assert below.count("'broken'") == 1, below
    one = cli("catalog", wide_catalog, "broken")
    assert one.code == 0, one
    assert re.search(r"^error\s+unknown driver 'no_such_driver'", one.out, re.M), one


def test_persist_a_typo_and_a_good_entry(cli, catalog):
    r = cli("persist", catalog, "typo", "logs", "--json")
    assert r.code == 1, r
    doc = r.json()  # the summary is printed although something failed
    assert [p["entry"] for p in doc["persisted"]] == ["logs"]
    (failure,) = doc["failed"]
    assert failure["entry"] == "typo" and "no entry 'typo'" in failure["error"]
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake-persist: error:")
    assert lines[0].count("'typo'") == 1, lines
    listing = cli("list", "--json").json()["entries"]
    assert [e["name"] for e in listing] == ["logs"]
    human = cli("persist", catalog, "typo", "logs", "sub", "sub.points")
    assert human.code == 1, human
    assert "Persisted 2 entries" in human.out and "2 failed" in human.out
    assert "sub.ENTRY" in human.err and "'typo'" in human.err


def test_error_lines_say_the_entry_once(cli, wide_catalog):
    for args in (("broken", "logs"), ()):
        r = cli("persist", wide_catalog, *args, "--json")
        assert r.code == 1, r
        (line,) = [x for x in r.err.splitlines() if "broken" in x]
        assert line.startswith("intake-persist: error: ") and line.count("'broken'") == 1, line
        assert "unknown driver 'no_such_driver'" in line, line
        (failure,) = [f for f in r.json()["failed"] if f["entry"] == "broken"]
        assert "unknown driver 'no_such_driver'" in failure["error"], failure
        assert failure["error"].count("'broken'") <= 1, failure


def _table_lines(out: str) -> list[str]:
    """The rows of the first table in ``out`` (between the rule and the next blank or
    summary line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    rows = []
    for line in lines[start + 1:]:
        if not line.strip() or line.startswith(("Persisted ", "entry ")) or " entr" in line:
            break
        rows.append(line)
    return rows


@pytest.mark.parametrize("columns", [80, 120])
def test_tables_fit_the_terminal(cli, wide_catalog, deep_env, columns):
    env = {**deep_env, "COLUMNS": str(columns)}
    names = ["trips", "logs", "sub.points", "classic"]
    r = cli("persist", wide_catalog, *names, env=env)
    assert r.code == 0, r
    listing = cli("list", "--json", env=env).json()["entries"]
    locations = {e["name"]: e["location"] for e in listing}
    assert all(len(loc) > 120 for loc in locations.values())  # they cannot fit whole
    outputs = {
        "persist": (r.out, names),
        "list": (cli("list", env=env).out, sorted(names)),
        "catalog": (cli("catalog", wide_catalog, env=env).out,
                    ["trips", "logs", "sub", "sub.points", "broken", "classic"]),
    }
    for command, (out, expected) in outputs.items():
        for line in out.splitlines():
            if line.startswith("entry '"):  # a message below the table, not a row
                continue
            assert len(line) <= columns, (command, line)
        rows = _table_lines(out)
        # one line per row (nothing wrapped onto a second line), names whole
        assert [row.split()[0 if command != "list" else 1] for row in rows] == expected, (
            command, out)
    # elided locations keep their end: the version id, which tells copies apart
    list_rows = _table_lines(outputs["list"][0])
    for row in list_rows:
        name = row.split()[1]
        shown = row.split()[-1]
        assert "…" in shown and locations[name].endswith(shown.split("…")[-1]), row
    # --full shows them whole, one line per row
    full = cli("list", "--full", env=env)
    rows = _table_lines(full.out)
    assert len(rows) == len(names)
    for row in rows:
        key, name = row.split()[:2]
        assert len(key) == 32 and locations[name] in row, row


def test_the_same_dotted_names_everywhere(cli, catalog):
    persisted = cli("persist", catalog, "--json").json()["persisted"]
    listed = cli("list", "--json").json()["entries"]
    described = cli("catalog", catalog, "--json").json()["entries"]
    assert sorted(p["entry"] for p in persisted) == ["logs", "sub.points", "trips"]
    assert sorted(e["name"] for e in listed) == ["logs", "sub.points", "trips"]
    assert {"logs", "sub.points", "trips"} <= {e["name"] for e in described}
    human = cli("list")
    assert "sub.points" in human.out
    # the dotted name is a key for show, as list shows it
    assert cli("show", "sub.points").code == 0


# ---- progress bars -------------------------------------------------------------------


def test_a_bar_appears_only_once_its_total_is_known():
    from rich.console import Console

    from intake_persist.cli.progress import ProgressBars

    with ProgressBars(True) as bars:
        update = bars.callback("trips")
        progress = bars._progress

        def shown() -> str:
            out = io.StringIO()
            Console(file=out, width=100).print(progress.make_tasks_table(progress.tasks))
            return out.getvalue()

        assert "0/?" not in shown() and "trips" not in shown()
        update(0, 3)
        assert "0/3" in shown() and "?" not in shown()
        update(2, 3)
        update(3, 3)
        assert "3/3" in shown()


@pytest.mark.skipif(sys.platform == "win32", reason="deliberate: needs a pseudo-terminal")
def test_progress_on_a_terminal_never_reads_zero_of_unknown(cli_env, catalog, tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**cli_env, "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake_persist", "persist", str(catalog)],
        stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env,
        cwd=str(tmp_path),
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, (text, out)
    assert "partitions" in text  # the bars were drawn
    assert "1/1" in text
    assert "0/?" not in text and "/?" not in text, text
