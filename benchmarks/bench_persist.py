"""Persist benchmark: a CSV to Parquet and back, intake_persist versus raw pyarrow.

Run: ``python benchmarks/bench_persist.py [--rows 4000000] [--repeats 3] [--big-gib 0]``.

Each step runs in its own subprocess, so its wall time includes imports and its
peak memory (max RSS) is its own; the steps alternate, ``--repeats`` times, and
medians are printed side by side with the raw counterpart:

- persist: pyarrow's CSV reader then Parquet writer on the whole table, versus
  ``CSVSource(...).persist()`` (which streams block by block); time and peak memory;
- read-back: ``pq.read_table(<our copy's folder>).to_pandas()`` on the very files
  of our copy (the counterpart of the target), and on the raw one-file output, versus
  ``store[key].read()`` in a fresh process (import, store, index lookup, read).

``--big-gib G`` adds one run (no repeats) on a CSV of about G GiB generated into a
temporary folder and deleted afterwards: ``persist()`` versus pyarrow streaming by
hand (``pyarrow.csv.open_csv`` batches into a ``ParquetWriter``; reading the whole
table first would need several times G in memory). No test asserts any figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile

from _common import DATA, footer, header, load, timed_step


def make_csv(path: str, rows: int, max_bytes: int | None = None) -> None:
    """About 120 bytes a row: ints, floats, strings, dates. With ``max_bytes``, stop
    at the first chunk boundary past that size."""
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
            if max_bytes is not None and f.tell() >= max_bytes:
                break


def csv_file(rows: int) -> str:
    """The generated CSV of ``rows`` rows under ``benchmarks/_data`` (made once)."""
    os.makedirs(DATA, exist_ok=True)
    csv = os.path.join(DATA, f"bench_{rows}.csv")
    if not os.path.exists(csv):
        make_csv(csv + ".part", rows)
        os.replace(csv + ".part", csv)
    return csv


STEP = {
    "raw_persist": """
        import pyarrow.csv as pacsv, pyarrow.parquet as pq, os
        t = pacsv.read_csv(CSV)
        os.makedirs(OUT, exist_ok=True)
        pq.write_table(t, os.path.join(OUT, "data.parquet"))
    """,
    "raw_stream_persist": """
        import pyarrow.csv as pacsv, pyarrow.parquet as pq, os
        os.makedirs(OUT, exist_ok=True)
        reader = pacsv.open_csv(CSV)
        with pq.ParquetWriter(os.path.join(OUT, "data.parquet"), reader.schema) as w:
            for batch in reader:
                w.write_batch(batch)
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


def copy_dir(store: str) -> str:
    """The folder of the (only) copy in a local store."""
    for root, _dirs, files in os.walk(store):
        if any(f.endswith(".parquet") for f in files):
            return root
    raise SystemExit(f"no copy in {store}")


def row(what: str, ours: float, raw: float, unit: str, target: str = "") -> str:
    return (f"{what:<44} {ours:9.2f} {unit:<3} {raw:9.2f} {unit:<3} {ours / raw:6.2f}x"
            + (f"   target {target}" if target else ""))


def bench(args) -> None:
    csv = csv_file(args.rows)
    size_mb = os.path.getsize(csv) / 2**20
    print(f"# CSV: {args.rows:,} rows x 10 columns, {size_mb:.0f} MiB")
    names = ("raw_persist", "ours_persist", "raw_read", "raw_read_copy", "ours_read")
    runs: dict[str, list[dict]] = {k: [] for k in names}
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as raw_out, tempfile.TemporaryDirectory() as ours_out:
            runs["raw_persist"].append(run_step("raw_persist", CSV=csv, OUT=raw_out))
            runs["ours_persist"].append(run_step("ours_persist", CSV=csv, OUT=ours_out))
            folder = copy_dir(ours_out)
            runs["raw_read"].append(run_step("raw_read", OUT=raw_out, ROWS=args.rows))
            runs["raw_read_copy"].append(run_step("raw_read", OUT=folder, ROWS=args.rows))
            runs["ours_read"].append(run_step("ours_read", OUT=ours_out, ROWS=args.rows))
            if r == 0:
                nfiles = sum(f.endswith(".parquet") for f in os.listdir(folder))
                print(f"# our copy: {nfiles} Parquet files")
    med = {k: median_step(v) for k, v in runs.items()}
    print(f"{'':<44} {'intake_persist':>13} {'raw':>13} {'ratio':>7}")
    print(row("persist: time (raw: read_csv, write_table)", med["ours_persist"]["s"],
              med["raw_persist"]["s"], "s", "< 1x"))
    print(row("persist: peak memory", med["ours_persist"]["rss_mb"],
              med["raw_persist"]["rss_mb"], "MiB", "< 0.5x"))
    print(row("read-back (raw: read_table(copy).to_pandas)", med["ours_read"]["s"],
              med["raw_read_copy"]["s"], "s", "<= 1.05x"))
    print(row("read-back (raw: same, raw's one file)", med["ours_read"]["s"],
              med["raw_read"]["s"], "s"))
    print(row("read-back: peak memory (raw: copy)", med["ours_read"]["rss_mb"],
              med["raw_read_copy"]["rss_mb"], "MiB"))
    print("# all runs (s): " + "; ".join(
        f"{k} " + " ".join(f"{r['s']:.2f}" for r in v) for k, v in runs.items()))


def bench_big(args) -> None:
    os.makedirs(DATA, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:  # git-ignored, on the disk
        csv = os.path.join(tmp, "big.csv")
        make_csv(csv, 10**12, max_bytes=int(args.big_gib * 2**30))
        size = os.path.getsize(csv)
        print(f"\n## one run on a generated CSV of {size / 2**30:.2f} GiB ({load()})")
        raw_out, ours_out = os.path.join(tmp, "raw"), os.path.join(tmp, "ours")
        ours = run_step("ours_persist", CSV=csv, OUT=ours_out)
        shutil.rmtree(ours_out)
        raw = run_step("raw_stream_persist", CSV=csv, OUT=raw_out)
    print(row("persist: time (raw: open_csv -> ParquetWriter)", ours["s"], raw["s"], "s"))
    print(row("persist: peak memory", ours["rss_mb"], raw["rss_mb"], "MiB", "< 1024 MiB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-gib", type=float, default=0.0,
                        help="also persist a generated CSV of this many GiB, once")
    args = parser.parse_args()
    header(args.repeats)
    if args.repeats:
        bench(args)
    if args.big_gib:
        bench_big(args)
    footer()


if __name__ == "__main__":
    main()
