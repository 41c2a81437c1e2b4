"""Tokens: stable across interpreters, equal to dask's, blind to description/metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CATALOG = """
sources:
  trips:
    description: {description}
    driver: csv
    args:
      urlpath: '{{{{ CATALOG_DIR }}}}/trips_{{{{ year }}}}.csv'
      csv_kwargs: {{parse_dates: [pickup], dtype: {{n: int64}}}}
      blocksize: {blocksize}
    parameters:
      year: {{type: int, default: 2020}}
    metadata: {{owner: {owner}}}
"""

SCRIPT = """
import json, sys
import intake_persist
from intake_persist.tokens import token_of
cat = intake_persist.open_catalog(sys.argv[1], persist_mode="never")
out = {}
for year in (2020, 2021):
    src = cat.trips(year=year)
    out[str(year)] = [src.token, token_of(src)]
if sys.argv[2] == "dask":
    import dask.base
    out["dask"] = dask.base.tokenize(cat.trips)
print(json.dumps(out))
"""


def _write(tmp_path, name="cat.yaml", description="trips", owner="a", blocksize=1000):
    path = tmp_path / name
    path.write_text(CATALOG.format(description=description, owner=owner, blocksize=blocksize))
    return str(path)


def _tokens(path, with_dask=False, seed="0"):
    env = {
        **os.environ,
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PYTHONHASHSEED": seed,
    }
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), path, "dask" if with_dask else "-"],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(path),
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_same_token_in_fresh_interpreters_and_equal_to_dask(tmp_path):
    path = _write(tmp_path)
    first = _tokens(path, with_dask=True, seed="1")
    second = _tokens(path, seed="2")
    assert first["2020"] == second["2020"]
    assert first["2021"] == second["2021"]
    assert first["2020"][0] == first["2020"][1]
    assert first["dask"] == first["2020"][0]
    assert first["2020"][0] != first["2021"][0]


def test_token_equals_dask_in_process(tmp_path):
    pytest.importorskip("dask")
    import dask.base

    from intake_persist import open_catalog

    src = open_catalog(_write(tmp_path), persist_mode="never").trips
    assert src.token == dask.base.tokenize(src)


def test_description_and_metadata_do_not_change_token(tmp_path):
    from intake_persist import open_catalog

    a = open_catalog(_write(tmp_path, "a.yaml"), persist_mode="never").trips
    b = open_catalog(
        _write(tmp_path, "b.yaml", description="other words", owner="b"), persist_mode="never"
    ).trips
    assert a.description != b.description and a.metadata != b.metadata
    assert a.token == b.token


def test_any_arg_or_param_change_changes_token(tmp_path):
    from intake_persist import open_catalog

    cat = open_catalog(_write(tmp_path), persist_mode="never")
    base = cat.trips.token
    assert cat.trips(year=2021).token != base
    assert cat.trips(blocksize=2000).token != base
    assert cat.trips(csv_kwargs={"parse_dates": ["pickup"]}).token != base
    other = open_catalog(_write(tmp_path, "c.yaml", blocksize=999), persist_mode="never")
    assert other.trips.token != base
    # the same arguments written in another order give the same token
    assert cat.trips(csv_kwargs={"dtype": {"n": "int64"}, "parse_dates": ["pickup"]}).token == base


def test_catalog_dir_is_part_of_the_token(tmp_path):
    from intake_persist import open_catalog

    (tmp_path / "x").mkdir()
    a = open_catalog(_write(tmp_path), persist_mode="never").trips
    b = open_catalog(_write(tmp_path / "x"), persist_mode="never").trips
    assert a.token != b.token
