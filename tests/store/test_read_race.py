"""Readers racing store maintenance, in real processes.

A store of 20 entries (half with ``ttl=1``) made from a catalog of CSV files;
three reader processes read every entry through the catalog (``persist_mode``
default, half with ``read()``, a third through ``to_dask()``) while a writer
process re-persists (``keep`` 1 or 2), refreshes and removes entries, and a gc
process runs ``gc()`` and ``gc(grace=0)`` (forced: copies are deleted under their
readers) in turn. Every read is compared with the original's data. Each process
runs a fixed number of iterations; the outcome does not depend on speed.
Local store and moto S3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from store_helpers import HERE, subprocess_env

NAMES = [f"t{i:02d}" for i in range(20)]


def make_catalog(tmp_path) -> str:
    data = tmp_path / "data"
    data.mkdir()
    lines = ["sources:"]
    for i, name in enumerate(NAMES):
        rng = np.random.default_rng(i)
        rows = 60 + 7 * i
        pd.DataFrame({"a": np.arange(rows) + i, "b": rng.random(rows).round(6),
                      "c": [f"w{(j + i) % 5}" for j in range(rows)]}).to_csv(
            data / f"{name}.csv", index=False)
        lines.append(textwrap.indent(textwrap.dedent(f"""\
            {name}:
              driver: csv
              args:
                urlpath: "{{{{ CATALOG_DIR }}}}/data/{name}.csv"
                blocksize: 600
            """), "  "))
    path = tmp_path / "cat.yaml"
    path.write_text("\n".join(lines))
    return str(path)


def run_race(tmp_path, store_path: str, rounds: dict) -> dict:
    catalog = make_catalog(tmp_path)
    env = {**subprocess_env(), "INTAKE_PERSIST_PATH": store_path}
    env.pop("INTAKE_PERSIST_GRACE", None)  # the default grace, 300 s
    setup = textwrap.dedent("""
        import sys
        from intake_persist import open_catalog
        cat = open_catalog(sys.argv[1])
        for i, name in enumerate(sorted(cat)):
            cat[name].persist(ttl=1 if i % 2 else None)
    """)
    subprocess.run([sys.executable, "-c", setup, catalog], env=env, check=True, timeout=600)
    (tmp_path / "sync").mkdir()
    go = str(tmp_path / "sync" / "go")
    worker = os.path.join(HERE, "race_worker.py")
    roles = [("reader", rounds["reader"], 1), ("reader", rounds["reader"], 2),
             ("reader", rounds["reader"], 3), ("writer", rounds["writer"], 4),
             ("gc", rounds["gc"], 5)]
    procs = [subprocess.Popen([sys.executable, worker, role, catalog, go, str(n), str(seed)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for role, n, seed in roles]
    try:
        for p in procs:
            line = p.stdout.readline().strip()
            assert line == "ready", p.stderr.read()
        open(go, "w").close()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=1200)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    readers, (writer,), (gc,) = results[:3], results[3:4], results[4:]
    total = {k: sum(r[k] for r in readers) for k in ("reads", "raised", "wrong", "recovered")}
    total["errors"] = [e for r in readers for e in r["errors"]]
    total["writer"], total["gc"] = writer, gc
    print(f"\nread race on {store_path}: reads {total['reads']}, raised {total['raised']}, "
          f"wrong {total['wrong']}, recovered {total['recovered']}; writer "
          f"{ {k: v for k, v in writer.items() if k != 'errors'} }; gc "
          f"{ {k: v for k, v in gc.items() if k != 'errors'} }")
    return total


def check(total: dict, expected_reads: int) -> None:
    assert total["errors"] == [], "\n".join(total["errors"][:5])
    assert total["raised"] == 0 and total["wrong"] == 0
    assert total["reads"] == expected_reads
    assert total["writer"]["errors"] == [] and total["gc"]["errors"] == []
    # the maintenance really happened: copies were deleted while readers read
    assert total["writer"]["persist"] + total["writer"]["refresh"] > 0
    assert total["gc"]["removed"] > 0


@pytest.mark.slow
def test_readers_racing_maintenance_local(tmp_path):
    rounds = {"reader": 12, "writer": 150, "gc": 5000}
    total = run_race(tmp_path, str(tmp_path / "store"), rounds)
    check(total, 3 * rounds["reader"] * len(NAMES))


@pytest.mark.slow
def test_readers_racing_maintenance_s3(tmp_path, s3_bucket):
    rounds = {"reader": 2, "writer": 30, "gc": 2000}
    total = run_race(tmp_path, f"{s3_bucket}/store", rounds)
    check(total, 3 * rounds["reader"] * len(NAMES))
