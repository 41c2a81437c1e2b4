"""Store benchmark: lookups and index updates with 100, 1,000 and 10,000 entries.

Run: ``python benchmarks/bench_store.py [--sizes 100,1000,10000] [--repeats 11]``.

For each size a local store is populated, then measured:

(a) a fresh process that imports intake_persist, opens a catalog and gets one
    persisted entry (``cat[name]`` resolved to the copy), wall time, and the same
    minus an empty interpreter's startup measured in the same run (interleaved);
    beside it the raw cost of the same work in a fresh process: PyYAML's C loader
    parsing the whole ``cat.yaml``, and reading the file + ``json.loads`` of the
    one line;
(b) a warm lookup in an open catalog: ``cat[name]`` resolved to the copy
    (default mode), per call; beside it ``os.stat`` + ``json.loads`` of the line;
(c) persisting one more small source (1,000-row CSV): the whole ``persist`` and
    its index step (``Index.update``, timed around the store's own call); beside
    them the raw cost: pyarrow CSV -> Parquet of the same file, and an atomic
    rewrite of a file of the index's size (read, append a line, write a temp
    file, fsync, rename, fsync the directory).

How the store is populated: ``REAL`` (3) small CSV sources are persisted for real
through a catalog. The other entries are made by a faster route that gives a
store of the same shape: for each one, a CSV source with another path (so a real
token), a copy of a real copy's version directory under ``<token>/<new vid>/``,
and its ``<vid>.meta.yaml`` (the real meta record with token, vid, paths, names
and timestamp replaced), written with the store's YAML dumper. Then the store's
own re-index routine, ``PersistStore.gc()``, puts every published copy missing
from the index into ``cat.yaml`` (its timing is printed too). The result is what
real persists write: one JSON line per entry, ``{{ CATALOG_DIR }}`` paths,
one directory per token. (c) then persists more sources for real, and (a)/(b)
look up the last one persisted, whose line is at the end of ``cat.yaml``.

No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _common import child_env, footer, fresh_processes_ms, header, median_ms

REAL = 3  # sources persisted for real before the synthetic ones
EXTRA = 5  # more real persists measured in (c)
ROWS = 1000
WARM_CALLS = 2000


def write_csv(path: str, seed: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {"id": np.arange(ROWS), "x": rng.random(ROWS), "name": rng.choice(["a", "b", "c"], ROWS)}
    ).to_csv(path, index=False)


def write_catalog(path: str, names: list[str]) -> None:
    lines = ["metadata:", "  version: 1", "sources:"]
    for n in names:
        lines += [
            f"  {n}:",
            f"    description: small CSV {n}",
            "    driver: csv",
            "    args:",
            f"      urlpath: '{{{{ CATALOG_DIR }}}}/data/{n}.csv'",
        ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def populate(root: str, n: int) -> dict:
    """A store of ``n`` entries under ``root/store`` (see the module docstring);
    returns timings and paths."""
    from intake_persist import open_catalog
    from intake_persist._yaml import dump, load
    from intake_persist.sources.csv import CSVSource
    from intake_persist.store import PersistStore, layout

    data = os.path.join(root, "data")
    store_path = os.path.join(root, "store")
    os.makedirs(data)
    os.environ["INTAKE_PERSIST_PATH"] = store_path
    names = [f"real_{i}" for i in range(REAL)] + [f"extra_{i}" for i in range(EXTRA)]
    for i, name in enumerate(names):
        write_csv(os.path.join(data, f"{name}.csv"), i)
    cat_path = os.path.join(root, "bench.yaml")
    write_catalog(cat_path, names)

    cat = open_catalog(cat_path)
    t0 = time.perf_counter()
    for name in names[:REAL]:
        cat[name].persist()
    real_s = time.perf_counter() - t0

    store = PersistStore(store_path)
    template_tok = next(iter(store))
    tmeta_name = next(f for f in os.listdir(os.path.join(store_path, template_tok))
                      if f.endswith(layout.META_SUFFIX))
    tvid = tmeta_name[: -len(layout.META_SUFFIX)]
    with open(os.path.join(store_path, template_tok, tmeta_name), "rb") as f:
        template = load(f.read())
    tdata = os.path.join(store_path, template_tok, tvid)

    t0 = time.perf_counter()
    for i in range(n - REAL):
        src_path = os.path.join(data, f"synthetic_{i:05d}.csv")  # never read
        tok = CSVSource(urlpath=src_path).token
        vid = layout.new_vid()
        shutil.copytree(tdata, os.path.join(store_path, tok, vid))
        meta = copy.deepcopy(template)
        meta["description"] = f"persisted copy of synthetic_{i:05d}"
        meta["args"]["urlpath"] = f"{{{{ CATALOG_DIR }}}}/{tok}/{vid}"
        md = meta["metadata"]
        md.update(original_tok=tok, original_name=f"synthetic_{i:05d}", version=vid,
                  versions=[vid], timestamp=round(time.time(), 6))
        md["original_source"]["args"]["urlpath"] = src_path
        with open(os.path.join(store_path, tok, vid + layout.META_SUFFIX), "wb") as f:
            f.write(dump(meta).encode("utf-8"))
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = PersistStore(store_path).gc()
    gc_s = time.perf_counter() - t0
    assert len(report["reindexed"]) == n - REAL, report
    assert len(PersistStore(store_path)) == n
    return {"real_s": real_s, "copy_s": copy_s, "gc_s": gc_s, "cat": cat_path,
            "store": store_path, "names": names}


def atomic_rewrite_ms(index_path: str, line: bytes, scratch: str, repeats: int) -> float:
    """Raw cost of an atomic rewrite of a file like the index, plus one line."""
    target = os.path.join(scratch, "copy.yaml")
    shutil.copy(index_path, target)

    def once() -> None:
        with open(target, "rb") as f:
            data = f.read()
        tmp = target + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data + line)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fd = os.open(scratch, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    return median_ms(once, repeats)


def measure_persist(info: dict) -> dict:
    """(c): persist EXTRA more sources for real; time the whole call and its index step."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from intake_persist import open_catalog
    from intake_persist.store import get_store

    store = get_store()
    assert store.path == info["store"]
    index_times: list[float] = []
    orig_update = store.index.update

    def timed_update(fn, *a, **k):
        t0 = time.perf_counter()
        try:
            return orig_update(fn, *a, **k)
        finally:
            index_times.append((time.perf_counter() - t0) * 1000)

    store.index.update = timed_update
    cat = open_catalog(info["cat"])
    totals = []
    try:
        for name in info["names"][REAL:]:
            t0 = time.perf_counter()
            cat[name].persist()
            totals.append((time.perf_counter() - t0) * 1000)
    finally:
        del store.index.update
    csv0 = os.path.join(os.path.dirname(info["cat"]), "data", f"{info['names'][-1]}.csv")
    with tempfile.TemporaryDirectory() as scratch:
        raw_write = median_ms(
            lambda: pq.write_table(pacsv.read_csv(csv0), os.path.join(scratch, "x.parquet")),
            EXTRA)
        index_path = os.path.join(info["store"], "cat.yaml")
        with open(index_path, "rb") as f:
            line = f.read().splitlines()[-2] + b"\n"  # last entry line
        raw_rewrite = atomic_rewrite_ms(index_path, line, scratch, EXTRA)
    return {"total": statistics.median(totals), "index": statistics.median(index_times),
            "raw_write": raw_write, "raw_rewrite": raw_rewrite, "totals": totals,
            "index_times": index_times}


FRESH_OURS = """
import intake_persist
cat = intake_persist.open_catalog({cat!r})
src = cat[{name!r}]
assert src.is_persisted
"""
FRESH_NEVER = """
import intake_persist
cat = intake_persist.open_catalog({cat!r}, persist_mode="never")
src = cat[{name!r}]
assert not src.is_persisted
"""
FRESH_YAML = """
import yaml
with open({index!r}, "rb") as f:
    doc = yaml.load(f.read(), Loader=yaml.CSafeLoader)
entry = doc["sources"][{tok!r}]
"""
FRESH_JSON = """
import json
with open({index!r}, "rb") as f:
    data = f.read()
i = data.find(b'\\n  "{tok}": ') + {skip}
entry = json.loads(data[i:data.find(b"\\n", i)])
"""
PROBE = """
import sys
import intake_persist
cat = intake_persist.open_catalog({cat!r})
src = cat[{name!r}]
assert src.is_persisted, src
heavy = [m for m in ("yaml", "fsspec", "jinja2", "pandas", "dask", "pyarrow", "zarr", "s3fs")
         if m in sys.modules]
print(" ".join(heavy) or "none")
"""


def measure_fresh(info: dict, repeats: int) -> dict:
    """(a)"""
    from intake_persist.store import PersistStore

    name = info["names"][-1]
    store = PersistStore(info["store"])
    index = os.path.join(info["store"], "cat.yaml")
    tok = [k for k in store if (store.index.lookup(k)["metadata"]["original_name"] == name)][0]
    env = child_env(INTAKE_PERSIST_PATH=info["store"])
    codes = {
        "empty": "pass",
        "ours": FRESH_OURS.format(cat=info["cat"], name=name),
        "never": FRESH_NEVER.format(cat=info["cat"], name=name),
        "json": FRESH_JSON.format(index=index, tok=tok, skip=len(tok) + 7),
    }
    out = fresh_processes_ms(codes, repeats, env=env)
    # the full YAML parse takes seconds at 10,000 entries: 3 runs are enough
    out["yaml"] = fresh_processes_ms({"yaml": FRESH_YAML.format(index=index, tok=tok)},
                                     min(repeats, 3), env=env)["yaml"]
    out["imported"] = subprocess.run(
        [sys.executable, "-c", PROBE.format(cat=info["cat"], name=name)],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    out["index_mb"] = os.path.getsize(index) / 2**20
    return out


def measure_warm(info: dict, repeats: int) -> dict:
    """(b)"""
    import json

    import yaml

    from intake_persist import open_catalog

    name = info["names"][-1]
    cat = open_catalog(info["cat"])
    assert cat[name].is_persisted

    def ours() -> None:
        for _ in range(WARM_CALLS):
            _ = cat[name].is_persisted

    index = os.path.join(info["store"], "cat.yaml")
    with open(index, "rb") as f:
        data = f.read()
    line = [ln for ln in data.splitlines() if f'"original_name": "{name}"'.encode() in ln][0]
    raw_line = line.split(b": ", 1)[1]

    def raw() -> None:
        for _ in range(WARM_CALLS):
            os.stat(index)
            json.loads(raw_line)

    per_ours = median_ms(ours, repeats) / WARM_CALLS
    per_raw = median_ms(raw, repeats) / WARM_CALLS
    yaml_ms = median_ms(lambda: yaml.load(data, Loader=yaml.CSafeLoader), min(repeats, 3))
    return {"ours": per_ours, "raw": per_raw, "yaml_ms": yaml_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header(args.repeats)
    print(f"# each store: {REAL} real persists + synthetic entries (copied version dirs + "
          f"meta files, re-indexed by PersistStore.gc()); {EXTRA} more real persists in (c)")
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as root:
            info = populate(root, n)
            print(f"\n## {n:,} entries  ({load_now()})")
            print(f"populate: {REAL} real persists {info['real_s']:.2f} s, "
                  f"{n - REAL} synthetic copies {info['copy_s']:.2f} s, "
                  f"gc() re-index {info['gc_s']:.2f} s")
            c = measure_persist(info)
            a = measure_fresh(info, args.repeats)
            b = measure_warm(info, args.repeats)
            rows.append((n, a, b, c))
            print(f"cat.yaml: {a['index_mb']:.2f} MiB; modules imported by the fresh lookup: "
                  f"{a['imported']}")
            e = a["empty"]
            row("(a) fresh process: import, open_catalog, cat[name] -> copy", a["ours"],
                f"minus empty interpreter {a['ours'] - e:6.1f} ms   target < 100 ms")
            row("    same with persist_mode='never' (no store lookup)", a["never"],
                f"minus empty interpreter {a['never'] - e:6.1f} ms")
            row("    raw, fresh process: empty interpreter", e)
            row("    raw, fresh process: PyYAML C loader parses cat.yaml(3)", a["yaml"],
                f"minus empty {a['yaml'] - e:6.1f} ms")
            row("    raw, fresh process: read cat.yaml + json.loads(line)", a["json"],
                f"minus empty {a['json'] - e:6.1f} ms")
            row("(b) warm cat[name] -> copy, per call", b["ours"], "target < 1 ms", 3)
            row("    raw: os.stat(cat.yaml) + json.loads(line), per call", b["raw"], "", 3)
            row("    raw: PyYAML C loader parses cat.yaml (in process)", b["yaml_ms"])
            row("(c) persist one more 1,000-row CSV source", c["total"])
            row("    of which the index update (Index.update)", c["index"], "target < 100 ms")
            row("    raw: pyarrow read_csv + write_table of the same file", c["raw_write"])
            row("    raw: atomic rewrite of a file of cat.yaml's size", c["raw_rewrite"])
            print("    runs (ms): persist " + " ".join(f"{t:.0f}" for t in c["totals"])
                  + "; index " + " ".join(f"{t:.1f}" for t in c["index_times"]))
            sys.stdout.flush()
    print("\n# summary (ms)   entries | (a) fresh, -empty | (b) warm | (c) persist, index | "
          "raw: yaml parse, index rewrite")
    for n, a, b, c in rows:
        print(f"#            {n:>10,} | {a['ours']:7.1f} {a['ours'] - a['empty']:7.1f} | "
              f"{b['ours']:7.3f} | {c['total']:7.1f} {c['index']:7.1f} | "
              f"{b['yaml_ms']:7.1f} {c['raw_rewrite']:7.1f}")
    footer()


def row(label: str, ms: float, extra: str = "", digits: int = 1) -> None:
    print(f"{label:<59}: {ms:7.{digits}f} ms" + (f"   {extra}" if extra else ""))


def load_now() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    main()
