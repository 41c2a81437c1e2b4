"""Persist benchmark: a ~400 MB CSV to Parquet, intake_persist versus raw pyarrow.

Run: ``python benchmarks/bench_persist.py [--rows 4000000] [--repeats 3]``. Each
step runs in its own subprocess so that its peak memory (max RSS) is its own; the
raw and our steps alternate, ``--repeats`` times, and medians are printed. The raw
pipeline is pyarrow's CSV reader feeding pyarrow's Parquet writer on the whole
table; intake_persist streams block by block. No test asserts any figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from _common import DATA, footer, header, timed_step


def make_csv(path: str, rows: int) -> None:
    """About 100 bytes a row: ints, floats, strings, dates."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(42)
    words = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"])
    chunk = 500_000
    with open(path, "wb") as f:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            table = pa.table(
                {
                    "id": np.arange(start, start + n, dtype="int64"),
                    "count": rng.integers(0, 1000, n),
                    "small": rng.integers(-50, 50, n).astype("int32"),
                    "price": rng.random(n) * 1000,
                    "ratio": rng.standard_normal(n),
                    "score": rng.random(n),
                    "name": words[rng.integers(0, len(words), n)],
                    "code": np.char.add("C", rng.integers(0, 99999, n).astype(str)),
                    "day": np.datetime64("2020-01-01")
                    + rng.integers(0, 1500, n).astype("timedelta64[D]"),
                    "stamp": np.datetime64("2020-01-01T00:00:00")
                    + rng.integers(0, 10**8, n).astype("timedelta64[s]"),
                }
            )
            opts = pacsv.WriteOptions(include_header=start == 0)
            pacsv.write_csv(table, f, write_options=opts)


STEP = {
    "raw_persist": """
        import pyarrow.csv as pacsv, pyarrow.parquet as pq, os
        t = pacsv.read_csv(CSV)
        os.makedirs(OUT, exist_ok=True)
        pq.write_table(t, os.path.join(OUT, "data.parquet"))
    """,
    "ours_persist": """
        import os
        os.environ["INTAKE_PERSIST_PATH"] = OUT
        from intake_persist.sources.csv import CSVSource
        CSVSource(urlpath=CSV).persist()
    """,
    "raw_read": """
        import pyarrow.parquet as pq
        df = pq.read_table(OUT).to_pandas()
        assert len(df) == ROWS
    """,
    "ours_read": """
        import os
        os.environ["INTAKE_PERSIST_PATH"] = OUT
        from intake_persist import get_store
        store = get_store()
        df = store[list(store)[0]].read()
        assert len(df) == ROWS
    """,
}


def run_step(name: str, **values: object) -> dict:
    return timed_step(name, STEP[name], **values)


def median_step(results: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(DATA, exist_ok=True)
    csv = os.path.join(DATA, f"bench_{args.rows}.csv")
    if not os.path.exists(csv):
        make_csv(csv + ".part", args.rows)
        os.replace(csv + ".part", csv)
    size_mb = os.path.getsize(csv) / 2**20
    header(args.repeats)
    print(f"# CSV: {args.rows:,} rows x 10 columns, {size_mb:.0f} MiB")
    runs: dict[str, list[dict]] = {k: [] for k in STEP}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as raw_out, tempfile.TemporaryDirectory() as ours_out:
            runs["raw_persist"].append(run_step("raw_persist", CSV=csv, OUT=raw_out))
            runs["ours_persist"].append(run_step("ours_persist", CSV=csv, OUT=ours_out))
            runs["raw_read"].append(run_step("raw_read", OUT=raw_out, ROWS=args.rows))
            runs["ours_read"].append(run_step("ours_read", OUT=ours_out, ROWS=args.rows))
            if _ == 0:
                nfiles = sum(len([f for f in fs if f.endswith(".parquet")])
                             for _d, _s, fs in os.walk(ours_out))
                print(f"# our copy: {nfiles} Parquet files")
    raw, ours = median_step(runs["raw_persist"]), median_step(runs["ours_persist"])
    raw_r, ours_r = median_step(runs["raw_read"]), median_step(runs["ours_read"])
    print(f"persist  raw pyarrow csv->parquet : {raw['s']:7.2f} s  peak {raw['rss_mb']:7.0f} MiB")
    print(f"persist  intake_persist           : {ours['s']:7.2f} s  "
          f"peak {ours['rss_mb']:7.0f} MiB"
          f"   ratio {ours['s'] / raw['s']:.2f}x (target <= 1.2x)")
    print(f"read     raw pyarrow -> pandas     : {raw_r['s']:7.2f} s  "
          f"peak {raw_r['rss_mb']:7.0f} MiB")
    print(f"read     persisted copy .read()    : {ours_r['s']:7.2f} s  "
          f"peak {ours_r['rss_mb']:7.0f} MiB"
          f"   ratio {ours_r['s'] / raw_r['s']:.2f}x (target <= 1.2x)")
    print("# all runs (s): " + "; ".join(
        f"{k} " + " ".join(f"{r['s']:.2f}" for r in v) for k, v in runs.items()))
    footer()


if __name__ == "__main__":
    main()
