"""Catalog benchmark: import time, opening a 1,000-entry catalog, getting one entry.

Run: ``python benchmarks/bench_catalog.py``. Each figure is printed beside the
raw-library baseline measured in the same run (empty interpreter; PyYAML's C
loader on the same file). No figure here is asserted by any test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import child_env, footer, fresh_processes_ms, header, median_ms

REPEATS = 11


def import_self_ms(module: str) -> float:
    """Median cumulative import time (ms) of ``module`` from ``-X importtime``."""
    times = []
    for _ in range(REPEATS):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
        ).stderr
        last = [ln for ln in err.splitlines() if ln.rstrip().endswith(f"| {module}")][-1]
        times.append(int(last.split("|")[1]) / 1000)
    return statistics.median(times)


def write_catalog(path: str, n: int) -> None:
    lines = ["metadata:", "  version: 1", "sources:"]
    for i in range(n):
        lines += [
            f"  entry_{i:05d}:",
            f"    description: generated entry {i}",
            "    driver: csv",
            "    args:",
            f"      urlpath: '{{{{ CATALOG_DIR }}}}/data/part_{i}_{{{{ year }}}}.csv'",
            "      csv_kwargs: {sep: ','}",
            "    parameters:",
            "      year: {description: which year, type: int, default: 2020, min: 2000, max: 2030}",
            "    metadata: {owner: bench}",
        ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    import yaml

    header(REPEATS)
    fresh = fresh_processes_ms({"empty": "pass", "import": "import intake_persist"}, REPEATS)
    empty, whole = fresh["empty"], fresh["import"]
    print(f"fresh interpreter, nothing imported     : {empty:8.1f} ms")
    print(f"fresh interpreter + import intake_persist: {whole:8.1f} ms  (+{whole - empty:.1f} ms)")
    print(f"import intake_persist (-X importtime)   : {import_self_ms('intake_persist'):8.1f} ms"
          "   target < 50 ms")

    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as store:
        os.environ["INTAKE_PERSIST_PATH"] = store
        path = os.path.join(tmp, "big.yaml")
        write_catalog(path, 1000)
        with open(path) as f:
            text = f.read()
        raw = median_ms(lambda: yaml.load(text, Loader=yaml.CSafeLoader), REPEATS)
        print(f"PyYAML C loader, 1,000-entry catalog    : {raw:8.1f} ms   (baseline)")

        from intake_persist import open_catalog

        ours = median_ms(lambda: list(open_catalog(path)), REPEATS)
        print(f"open_catalog + list, 1,000 entries      : {ours:8.1f} ms   target < 60 ms")

        cat = open_catalog(path)
        n = 2000
        t0 = time.perf_counter()
        for i in range(n):
            cat[f"entry_{i % 1000:05d}"]
        per = (time.perf_counter() - t0) * 1000 / n
        print(f"cat[name] -> source (store empty)       : {per:8.3f} ms   target < 1 ms")
    footer()


if __name__ == "__main__":
    main()
