"""``@persisted`` against ``joblib.Memory``: a function returning a dataframe of
``--rows`` rows (default 1,000,000), cached by each, side by side in one run.

For two frames (``mixed``: integers, floats, a timestamp and a 50-value string
column; ``numeric``: integers and floats only) and three caches
(``@persisted`` as it comes: Parquet without compression; ``@persisted`` with
``compression="snappy"``, the store's default for ``persist``; ``joblib.Memory``)
it prints:

- ``miss``: the first call (compute, write the copy; each cache has made and read
  a small copy before, untimed, so that first-use imports are not counted);
  ``compute`` is the function alone, for reference;
- ``hit``: median of ``--repeats`` later calls in this process, the caches taken
  in turn (a, b, c, a, b, c...) so that a change of machine load touches each
  alike: what a cached call costs;
- ``hit, fresh process``: a new interpreter that imports the library and calls the
  function once (import, lookup and read), interleaved the same way;
- ``size``: bytes the cache holds on disk for that call.

Run: ``python benchmarks/bench_persisted.py [--rows N] [--repeats R]``. No figure is
asserted by any test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time

from _common import HERE, footer, fresh_processes_ms, header, median_ms

MODULE = '''
import numpy as np
import pandas as pd


def make(rows, kind, seed=0):
    """The benchmark's frame: what a costly query would return."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),
        "x": rng.random(rows),
        "y": rng.normal(size=rows),
        "n": rng.integers(0, 1000, rows),
    })
    if kind == "mixed":
        cities = np.array([f"city-{i:02d}" for i in range(50)], dtype=object)
        df["city"] = cities[rng.integers(0, 50, rows)]
        seconds = rng.integers(0, 86400 * 365, rows)
        df["t"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, "s")
    return df
'''

# label -> (how the cached function is made, in this process and in a fresh one)
CACHES = {
    "@persisted": "intake_persist.persisted(store={where!r})",
    "@persisted snappy": "intake_persist.persisted(store={where!r}, compression='snappy')",
    "joblib.Memory": "joblib.Memory({where!r}, verbose=0).cache",
}


def du(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    opts = parser.parse_args()
    header(opts.repeats)

    import joblib
    import pandas as pd

    import intake_persist

    names = {"joblib": joblib, "intake_persist": intake_persist}

    work = tempfile.mkdtemp(prefix="bench-persisted-")
    try:
        with open(os.path.join(work, "benchfuncs.py"), "w") as f:
            f.write(textwrap.dedent(MODULE))
        sys.path.insert(0, work)
        import benchfuncs

        for i, expr in enumerate(CACHES.values()):  # untimed: first-use imports
            warm = eval(expr.format(where=os.path.join(work, f"warm-{i}")), names)
            warm(benchfuncs.make)(1000, "mixed")
            warm(benchfuncs.make)(1000, "mixed")
        print(f"# rows {opts.rows:,}")
        print(f"{'frame':8} {'cache':18} {'miss ms':>8} {'compute ms':>10} {'hit ms':>7} "
              f"{'hit fresh ms':>12} {'size MiB':>8}")
        for kind in ("mixed", "numeric"):
            compute = median_ms(lambda kind=kind: benchfuncs.make(opts.rows, kind), 3)
            want = benchfuncs.make(opts.rows, kind)
            where = {label: os.path.join(work, f"{i}-{kind}") for i, label in enumerate(CACHES)}
            fns = {label: eval(expr.format(where=where[label]), names)(benchfuncs.make)
                   for label, expr in CACHES.items()}
            miss = {}
            for label, fn in fns.items():
                miss[label] = median_ms(lambda fn=fn, kind=kind: fn(opts.rows, kind), 1)
                pd.testing.assert_frame_equal(fn(opts.rows, kind), want)
            hits: dict[str, list[float]] = {label: [] for label in fns}
            for _ in range(opts.repeats):
                for label, fn in fns.items():
                    t0 = time.perf_counter()
                    fn(opts.rows, kind)
                    hits[label].append((time.perf_counter() - t0) * 1000)
            codes = {
                label: (f"import sys; sys.path.insert(0, {work!r})\n"
                        "import benchfuncs, intake_persist, joblib\n"
                        f"f = {expr.format(where=where[label])}(benchfuncs.make)\n"
                        f"assert len(f({opts.rows}, {kind!r})) == {opts.rows}\n")
                for label, expr in CACHES.items()
            }
            fresh = fresh_processes_ms(codes, max(3, opts.repeats // 2), cwd=HERE)
            for label in fns:
                print(f"{kind:8} {label:18} {miss[label]:8.0f} {compute:10.0f} "
                      f"{statistics.median(hits[label]):7.1f} {fresh[label]:12.0f} "
                      f"{du(where[label]) / 2**20:8.1f}")
        footer()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
