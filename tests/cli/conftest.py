"""Fixtures for the command-line tests: a real store in tmp_path, small data files, a
catalog (with a nested catalog and a parameter), and ``cli(...)`` which runs
``python -m intake_persist`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    args: list[str]
    code: int
    out: str
    err: str

    def json(self):
        try:
            return json.loads(self.out)
        except json.JSONDecodeError as exc:  # pragma: no cover - shown on failure
            raise AssertionError(f"not JSON: {self.out!r}\nstderr: {self.err}") from exc

    def __repr__(self) -> str:  # pytest shows this when an assertion fails
        return f"<Result {self.args} code={self.code}\n--- out\n{self.out}\n--- err\n{self.err}>"


@pytest.fixture
def cli_env(tmp_path):
    """Environment for the subprocess: its own conf dir and store, no colours."""
    conf = tmp_path / "conf"
    conf.mkdir()
    store = tmp_path / "store"
    env = dict(os.environ)
    for var in ("INTAKE_PERSIST_PATH", "FORCE_COLOR", "CLICOLOR_FORCE"):
        env.pop(var, None)
    env.update(
        INTAKE_CONF_DIR=str(conf),
        INTAKE_PERSIST_PATH=str(store),
        COLUMNS="250",
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    return env


@pytest.fixture
def store_path(cli_env) -> Path:
    return Path(cli_env["INTAKE_PERSIST_PATH"])


@pytest.fixture
def cli(cli_env, tmp_path):
    """``cli("list", "--json", input="y\\n", env={...})`` -> Result."""

    def run(*args: str, input: str | None = None, env: dict | None = None, timeout=120):
        full_env = dict(cli_env)
        if env:
            for k, v in env.items():
                if v is None:
                    full_env.pop(k, None)
                else:
                    full_env[k] = v
        cmd = [sys.executable, "-m", "intake_persist", *map(str, args)]
        proc = subprocess.run(
            cmd,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            cwd=str(tmp_path),
            timeout=timeout,
        )
        return Result([str(a) for a in args], proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def catalog(tmp_path) -> Path:
    """``data/cat.yaml``: trips (csv, parameter ``year``), logs (jsonl), and a nested
    catalog ``sub`` with ``points`` (csv)."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "trips_2020.csv").write_text("id,fare\n1,10.5\n2,7.25\n3,3.0\n")
    (d / "trips_2021.csv").write_text("id,fare\n1,11.0\n2,8.0\n")
    (d / "logs.jsonl").write_text(
        "".join(json.dumps({"i": i, "msg": f"line {i}"}) + "\n" for i in range(5))
    )
    (d / "points.csv").write_text("x,y\n0,0\n1,1\n2,4\n")
    (d / "sub.yaml").write_text(
        textwrap.dedent(
            """\
            sources:
              points:
                description: points of a parabola
                driver: csv
                args:
                  urlpath: '{{ CATALOG_DIR }}/points.csv'
            """
        )
    )
    cat = d / "cat.yaml"
    cat.write_text(
        textwrap.dedent(
            """\
            metadata:
              version: 1
            sources:
              trips:
                description: taxi trips for one year
                driver: csv
                args:
                  urlpath: '{{ CATALOG_DIR }}/trips_{{ year }}.csv'
                parameters:
                  year: {description: which year, type: int, default: 2020, min: 2020, max: 2021}
                metadata: {owner: data-team}
              logs:
                description: log lines
                driver: jsonl
                args:
                  urlpath: '{{ CATALOG_DIR }}/logs.jsonl'
              sub:
                description: a nested catalog
                driver: yaml_file_cat
                args:
                  path: '{{ CATALOG_DIR }}/sub.yaml'
            """
        )
    )
    return cat


@pytest.fixture
def persisted(cli, catalog):
    """The store after ``persist catalog`` (trips, logs, sub.points); returns the
    ``list --json`` entries by name."""
    r = cli("persist", catalog, "--json")
    assert r.code == 0, r
    listing = cli("list", "--json")
    assert listing.code == 0, listing
    return {e["name"]: e for e in listing.json()["entries"]}
