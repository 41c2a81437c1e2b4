"""Store benchmark: lookups and index updates at 100 / 1,000 / 10,000 / 100,000 entries.

Run: ``python benchmarks/bench_store.py [--sizes 100,1000,10000,100000] [--repeats 11]
[--modes site,-S] [--skip-persist] [--s3-sizes 1000,10000]``.

For each size a local store is built, then measured, each figure beside its raw
counterpart:

(a) a fresh process that imports intake_persist and looks one entry up: through a
    catalog (``open_catalog`` + ``cat[name]`` resolved to the copy) and through the
    store (``PersistStore(path)[token]``), the source built. Timed inside the child
    from its first line (``perf_counter`` and ``process_time`` before the code
    imports anything) to the result ("in-process", wall / CPU), and from outside
    (the whole process, and that minus an empty interpreter's, interleaved). Raw: a
    fresh process that reads a JSON index by hand (``json.load`` of ``{token:
    entry}`` for every entry, ``import json`` inside the timing), and one that reads
    ``cat.yaml`` and ``json.loads`` the one line (found with ``bytes.find``); PyYAML's
    C loader parsing the whole ``cat.yaml`` up to 10,000 entries. Each in two
    interpreters: ``python`` as it starts on this machine (its ``.pth`` files import
    re, typing, pathlib... before the first line) and ``python -S`` (no site
    processing; site-packages on ``PYTHONPATH``), where every module the lookup
    needs is paid inside the timing;
(b) a warm lookup in an open catalog, per call; raw: ``os.stat`` + ``json.loads``;
(c) persisting one more small source (1,000-row CSV): the whole ``persist``, its
    index step (``Index.update``, timed around the store's own call) and the bytes
    it wrote to the index (journal record, and ``cat.yaml`` when rewritten). Raw:
    pyarrow CSV -> Parquet of the same file; appending one JSON line to a file with
    fsync (a journal by hand); an atomic rewrite of a file of ``cat.yaml``'s size.
    Then one fold of the journal into ``cat.yaml`` (what every 100th update costs:
    time and bytes) and the amortized bytes per update.

How a store is built fast: ``REAL`` (3) small CSV sources are persisted for real
through a catalog; the other entries are written straight into ``cat.yaml`` with
the store's own encoder and layout (``index_file.render``): each a copy of a real
entry with the token (of a CSV source with another path), the version id, the
paths, names and timestamp replaced, so lines have the size and shape real
persists give. These synthetic entries have no data or meta files (nothing here
reads them; gc would drop them). Past 256 KiB the index is written journaled, as
the store itself switches. One real persist then goes to the journal and
``Index.fold(close=True)`` folds it, as a writer does every 100 updates, which
writes the offsets cache too. (c) then persists more sources for real, and
(a)/(b) look up the last one, whose line is at the end of ``cat.yaml`` (with
``--skip-persist``, no (c): the one persisted before the fold).

No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

from _common import child_env, footer, header, load, median_ms

REAL = 3  # sources persisted for real before the synthetic ones
EXTRA = 5  # more real persists measured in (c)
ROWS = 1000
WARM_CALLS = 2000
FOLD = 100  # Index.fold_records


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
    from intake_persist.sources.csv import CSVSource
    from intake_persist.store import PersistStore, layout
    from intake_persist.store.index import Index
    from intake_persist.store.index_file import INDEX_METADATA, encode_entry, render

    data = os.path.join(root, "data")
    store_path = os.path.join(root, "store")
    os.makedirs(data)
    os.environ["INTAKE_PERSIST_PATH"] = store_path
    names = [f"real_{i}" for i in range(REAL)] + [f"extra_{i}" for i in range(EXTRA + 1)]
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
    real = store.index.entries()
    template = next(iter(real.values()))
    t0 = time.perf_counter()
    items = []
    for i in range(n - REAL):
        src_path = os.path.join(data, f"synthetic_{i:06d}.csv")  # never read
        tok = CSVSource(urlpath=src_path).token
        vid = layout.new_vid()
        entry = copy.deepcopy(template)
        entry["description"] = f"persisted copy of synthetic_{i:06d}"
        entry["args"]["urlpath"] = f"{{{{ CATALOG_DIR }}}}/{tok}/{vid}"
        md = entry["metadata"]
        md.update(original_tok=tok, original_name=f"synthetic_{i:06d}", version=vid,
                  versions=[vid], timestamp=round(time.time(), 6))
        md["original_source"]["args"]["urlpath"] = src_path
        items.append((tok, encode_entry(entry)))
    items += [(k, encode_entry(v)) for k, v in real.items()]
    body = render(dict(INDEX_METADATA), items)
    md = dict(INDEX_METADATA)
    if len(body) >= Index.journal_from:
        md["journal"] = 0  # as the store switches past that size
        body = render(md, items)
    index_path = os.path.join(store_path, layout.INDEX)
    with open(index_path, "wb") as f:
        f.write(body)
    write_s = time.perf_counter() - t0
    # one real persist into the journal, then a fold: the store as writers leave it
    cat = open_catalog(cat_path)
    cat[names[REAL]].persist()
    t0 = time.perf_counter()
    folded = PersistStore(store_path).index.fold(close=True)
    fold_s = time.perf_counter() - t0
    assert len(PersistStore(store_path)) == n + 1
    return {"real_s": real_s, "write_s": write_s, "fold_s": fold_s if folded else None,
            "cat": cat_path, "store": store_path, "names": names[:REAL] + names[REAL + 1:],
            "json_index": os.path.join(root, "index.json"), "journaled": "journal" in md,
            "lookup": names[-1]}


def index_files(store_path: str) -> dict:
    """``{relative path: (inode, mtime_ns, size)}`` of cat.yaml and the journal."""
    out = {}
    for dirpath, _dirs, files in os.walk(store_path):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), store_path)
            if rel == "cat.yaml" or rel.startswith("journal"):
                st = os.stat(os.path.join(dirpath, f))
                out[rel] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def written(before: dict, after: dict) -> int:
    """Bytes of the index files created or replaced between two ``index_files``."""
    return sum(v[2] for k, v in after.items() if before.get(k) != v)


def append_line_ms(line: bytes, scratch: str, repeats: int) -> float:
    """Raw cost of a journal by hand: append one JSON line to a file, fsync."""
    target = os.path.join(scratch, "journal.jsonl")

    def once() -> None:
        with open(target, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    return median_ms(once, repeats)


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


@contextlib.contextmanager
def timed_index_updates(store) -> Iterator[list[float]]:
    """Inside the block, time each ``Index.update`` of ``store`` (ms, appended to the
    list yielded): the index step of a persist, measured around the store's own call."""
    times: list[float] = []
    update = store.index.update

    def timed(fn, *a, **k):
        t0 = time.perf_counter()
        try:
            return update(fn, *a, **k)
        finally:
            times.append((time.perf_counter() - t0) * 1000)

    store.index.update = timed
    try:
        yield times
    finally:
        del store.index.update


def measure_persist(info: dict) -> dict:
    """(c): persist EXTRA more sources for real; time the whole call and its index step,
    count the bytes written to the index; then one fold."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from intake_persist import open_catalog
    from intake_persist.store import PersistStore, get_store

    store = get_store()
    assert store.path == info["store"]
    cat = open_catalog(info["cat"])
    totals, nbytes = [], []
    with timed_index_updates(store) as index_times:
        for name in info["names"][REAL:]:
            before = index_files(info["store"])
            t0 = time.perf_counter()
            cat[name].persist()
            totals.append((time.perf_counter() - t0) * 1000)
            nbytes.append(written(before, index_files(info["store"])))
    csv0 = os.path.join(os.path.dirname(info["cat"]), "data", f"{info['names'][-1]}.csv")
    index_path = os.path.join(info["store"], "cat.yaml")
    with tempfile.TemporaryDirectory() as scratch:
        raw_write = median_ms(
            lambda: pq.write_table(pacsv.read_csv(csv0), os.path.join(scratch, "x.parquet")),
            EXTRA)
        entry = PersistStore(info["store"]).index.lookup(
            next(iter(PersistStore(info["store"]).index.entries())))
        line = (json.dumps(entry) + "\n").encode()
        raw_append = append_line_ms(line, scratch, EXTRA)
        raw_rewrite = atomic_rewrite_ms(index_path, line, scratch, 3)
    # one fold (every fold_records-th update does it)
    before = index_files(info["store"])
    t0 = time.perf_counter()
    folded = PersistStore(info["store"]).index.fold(close=True)
    fold_ms = (time.perf_counter() - t0) * 1000
    fold_bytes = written(before, index_files(info["store"]))
    return {"total": statistics.median(totals), "index": statistics.median(index_times),
            "bytes": statistics.median(nbytes), "raw_write": raw_write,
            "raw_append": raw_append, "raw_rewrite": raw_rewrite, "totals": totals,
            "index_times": index_times, "all_bytes": nbytes,
            "fold_ms": fold_ms if folded else None, "fold_bytes": fold_bytes,
            "line_bytes": len(line)}


def fresh_processes(codes: dict[str, str], repeats: int, env: dict,
                    flags: tuple[str, ...] = ()) -> dict[str, dict]:
    """``{name: {"wall", "cpu", "in_wall", "in_cpu"}}`` (ms): medians over fresh
    interpreters (``sys.executable *flags -c code``) running each code, interleaved
    after a warm-up round. ``wall``/``cpu``: the whole child, from outside (CPU is its
    user + system time, which a loaded machine inflates far less than wall time).
    ``in_wall``/``in_cpu``: measured inside the child, from its first line (before any
    import of the code) to the end of the code (see :func:`timed`)."""
    import resource

    keys = ("wall", "cpu", "in_wall", "in_cpu")
    runs: dict[str, dict[str, list[float]]] = {k: {x: [] for x in keys} for k in codes}
    for rnd in range(repeats + 1):
        for name, code in codes.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, *flags, "-c", timed(code)], check=True,
                                 env=env, capture_output=True, text=True).stdout
            wall = (time.perf_counter() - t0) * 1000
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if rnd:
                in_wall, in_cpu = (float(x) for x in out.split()[-2:])
                got = runs[name]
                got["wall"].append(wall)
                got["cpu"].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
                got["in_wall"].append(in_wall)
                got["in_cpu"].append(in_cpu)
    return {k: {x: statistics.median(v[x]) for x in keys} for k, v in runs.items()}


def timed(code: str) -> str:
    """``code`` between two clock readings taken in the child: the first line of the
    program, before the code imports anything (``time`` is built in), and after its
    last line; printed as ``<wall ms> <cpu ms>`` (process time)."""
    return ("import time as _t\n_w, _c = _t.perf_counter(), _t.process_time()\n" + code
            + "\nprint((_t.perf_counter() - _w) * 1e3, (_t.process_time() - _c) * 1e3)\n")


def nosite_env(env: dict) -> dict:
    """``env`` for ``python -S``: no site processing, so no ``.pth`` file runs (on this
    machine they import certifi, coverage's hook and the editable-install finder, and
    with them re, typing, pathlib, enum...); site-packages goes on ``PYTHONPATH`` after
    the checkout so the libraries still import."""
    import site

    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    parts += [p for p in site.getsitepackages() if p not in parts]
    return {**env, "PYTHONPATH": os.pathsep.join(parts)}


FRESH_OURS = """
import intake_persist
cat = intake_persist.open_catalog({cat!r})
src = cat[{name!r}]
assert src.is_persisted
"""
FRESH_STORE = """
from intake_persist import PersistStore
src = PersistStore({store!r})[{tok!r}]
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
FRESH_LINE = """
import json
with open({index!r}, "rb") as f:
    data = f.read()
i = data.find(b'\\n  "{tok}": ') + {skip}
entry = json.loads(data[i:data.find(b"\\n", i)])
"""
FRESH_JSON = """
import json
with open({json_index!r}) as f:
    entry = json.load(f)[{tok!r}]
"""
PROBE = """
import sys
before = set(sys.modules)
{code}
new = set(sys.modules) - before
heavy = [m for m in ("yaml", "fsspec", "jinja2", "pandas", "dask", "pyarrow", "zarr", "s3fs",
                     "xarray", "dataclasses", "inspect", "subprocess") if m in new]
print(len(new), ",".join(heavy) or "-")
"""
MODES = {"site": (), "-S": ("-S",)}  # python's own flags for the children


def measure_fresh(info: dict, repeats: int, modes: list[str]) -> dict:
    """(a): ``{mode: {variant: figures}}`` (see :func:`fresh_processes`), plus the
    modules each lookup imports and the index's size."""
    from intake_persist.store import PersistStore

    name = info["lookup"]
    store = PersistStore(info["store"])
    index = os.path.join(info["store"], "cat.yaml")
    entries = store.index.entries()
    tok = [k for k, e in entries.items() if e["metadata"]["original_name"] == name][0]
    with open(info["json_index"], "w") as f:  # the raw counterpart, up to date
        json.dump(entries, f)
    env = child_env(INTAKE_PERSIST_PATH=info["store"])
    codes = {
        "empty": "pass",
        "ours": FRESH_OURS.format(cat=info["cat"], name=name),
        "store": FRESH_STORE.format(store=info["store"], tok=tok),
        "never": FRESH_NEVER.format(cat=info["cat"], name=name),
        "line": FRESH_LINE.format(index=index, tok=tok, skip=len(tok) + 7),
        "json": FRESH_JSON.format(json_index=info["json_index"], tok=tok),
    }
    out: dict = {"imported": {}, "index_mb": os.path.getsize(index) / 2**20}
    for mode in modes:
        flags = MODES[mode]
        menv = nosite_env(env) if "-S" in flags else env
        out[mode] = fresh_processes(codes, repeats, env=menv, flags=flags)
        # the full YAML parse takes seconds at 10,000 entries: 3 runs, and none past that
        if len(entries) <= 10_000:
            out[mode].update(fresh_processes({"yaml": FRESH_YAML.format(index=index, tok=tok)},
                                             min(repeats, 3), env=menv, flags=flags))
        for what in ("ours", "store"):
            probe = subprocess.run([sys.executable, *flags, "-c", PROBE.format(code=codes[what])],
                                   env=menv, capture_output=True, text=True, check=True)
            out["imported"][mode, what] = probe.stdout.strip()
    return out


def measure_warm(info: dict, repeats: int) -> dict:
    """(b)"""
    import yaml

    from intake_persist import open_catalog

    name = info["lookup"]
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
    yaml_ms = None
    if len(data) < 20 * 2**20:
        yaml_ms = median_ms(lambda: yaml.load(data, Loader=yaml.CSafeLoader), min(repeats, 3))
    return {"ours": per_ours, "raw": per_raw, "yaml_ms": yaml_ms}


def s3_index_objects(fs, root: str) -> dict:
    """``{key: (etag, size)}`` of cat.yaml and the journal of an S3 store."""
    out = {}
    for path, info in fs.find(root, detail=True).items():
        rel = path[len(root.split("://", 1)[-1]) + 1:]
        if rel == "cat.yaml" or rel.startswith("journal/"):
            out[rel] = (info.get("ETag"), info["size"])
    return out


def measure_s3(info: dict) -> dict:
    """(d): the same index (cat.yaml as the local store left it) on moto's S3 server;
    persist more sources: bytes written to the index and requests per persist; then
    one fold. Raw: one PUT of a JSON line as its own object, one PUT of a file of
    cat.yaml's size."""
    import s3fs
    from bench_s3 import REQUESTS, new_bucket, start_moto

    from intake_persist.sources.csv import CSVSource
    from intake_persist.store import PersistStore

    if "server" not in _MOTO:
        _MOTO["server"] = start_moto()
    bucket = new_bucket()
    root = f"s3://{bucket}/store"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    with open(os.path.join(info["store"], "cat.yaml"), "rb") as f:
        index_bytes = f.read()
    fs.pipe(f"{root}/cat.yaml", index_bytes)
    data = os.path.join(os.path.dirname(info["cat"]), "data")
    store = PersistStore(root)
    nbytes, requests, totals = [], [], []
    with timed_index_updates(store) as index_times:
        for i in range(EXTRA):
            path = os.path.join(data, f"s3_{i}.csv")
            write_csv(path, 1000 + i)
            before = s3_index_objects(fs, root)
            REQUESTS.take()
            t0 = time.perf_counter()
            store.persist(CSVSource(urlpath=path))
            totals.append((time.perf_counter() - t0) * 1000)
            log = REQUESTS.take()
            after = s3_index_objects(fs, root)
            nbytes.append(sum(v[1] for k, v in after.items() if before.get(k) != v))
            requests.append(log)
    line = b"x" * 900
    raw_put = median_ms(lambda: fs.pipe(f"{root}-raw/journal/{uuid.uuid4().hex}", line), EXTRA)
    raw_rewrite = median_ms(lambda: fs.pipe(f"{root}-raw/cat.yaml", index_bytes), 3)
    before = s3_index_objects(fs, root)
    REQUESTS.take()
    t0 = time.perf_counter()
    folded = PersistStore(root).index.fold(close=True)
    fold_ms = (time.perf_counter() - t0) * 1000
    fold_requests = len(REQUESTS.take())
    after = s3_index_objects(fs, root)
    fold_bytes = sum(v[1] for k, v in after.items() if before.get(k) != v)
    kinds: dict[str, int] = {}
    for method, _path, query, cond in requests[len(requests) // 2]:
        what = "LIST" if method == "GET" and ("list-type" in query or "prefix" in query) else method
        what += " (conditional)" if cond else ""
        kinds[what] = kinds.get(what, 0) + 1
    return {"total": statistics.median(totals), "index": statistics.median(index_times),
            "bytes": statistics.median(nbytes), "all_bytes": nbytes,
            "requests": statistics.median(len(r) for r in requests), "kinds": kinds,
            "raw_put": raw_put, "raw_rewrite": raw_rewrite,
            "fold_ms": fold_ms if folded else None, "fold_bytes": fold_bytes,
            "fold_requests": fold_requests, "index_mb": len(index_bytes) / 2**20}


_MOTO: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--modes", default="site,-S",
                        help="interpreters for (a): 'site' (python as it starts here), "
                             "'-S' (python -S: no .pth files)")
    parser.add_argument("--skip-persist", action="store_true",
                        help="(a) and (b) only: no (c), no (d)")
    parser.add_argument("--s3-sizes", default="1000,10000",
                        help="sizes also measured on moto's S3 server (needs moto[server])")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    s3_sizes = {int(s) for s in args.s3_sizes.split(",") if s} if not args.skip_persist else set()
    header(args.repeats)
    print(f"# each store: {REAL} real persists + synthetic entries written into cat.yaml, "
          f"1 real persist + a fold; {EXTRA} more real persists in (c)")
    print("# (a) in-process: ms from the child's first line (before it imports anything) to "
          "the lookup's result; process: the whole child from outside")
    rows = []
    s3rows: list = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as root:
            info = populate(root, n)
            print(f"\n## {n:,} entries  ({load()})")
            fold = f"{info['fold_s']:.2f} s" if info["fold_s"] is not None else "none"
            print(f"populate: {REAL} real persists {info['real_s']:.2f} s, "
                  f"{n - REAL} synthetic entries written {info['write_s']:.2f} s, "
                  f"journaled: {info['journaled']}, first fold {fold}")
            c = None
            if args.skip_persist:
                info["lookup"] = f"extra_{0}"  # persisted by populate, then folded
            else:
                c = measure_persist(info)
            a = measure_fresh(info, args.repeats, modes)
            b = measure_warm(info, args.repeats)
            rows.append((n, a, b, c))
            print(f"cat.yaml: {a['index_mb']:.2f} MiB; modules imported by the fresh lookup "
                  "(how many; of note): " + "; ".join(
                      f"{what} {mode}: {v}" for (mode, what), v in a["imported"].items()))
            for mode in modes:
                m = a[mode]
                e = m["empty"]
                print(f"(a) fresh process, python {mode}:")
                fresh("    ours: import, open_catalog, cat[name] -> copy", m["ours"], e)
                fresh("    ours: import, PersistStore(path)[token]", m["store"], e)
                fresh("    same catalog, persist_mode='never' (no store lookup)", m["never"], e)
                fresh("    raw: empty interpreter", e, None)
                fresh("    raw: json.load of a JSON index, [token]", m["json"], e)
                fresh("    raw: read cat.yaml + json.loads(line)", m["line"], e)
                if "yaml" in m:
                    fresh("    raw: PyYAML C loader parses cat.yaml", m["yaml"], e)
            row("(b) warm cat[name] -> copy, per call", b["ours"], "", 3)
            row("    raw: os.stat(cat.yaml) + json.loads(line), per call", b["raw"], "", 3)
            if c is not None:
                print_persist(c)
            if n in s3_sizes:
                d = measure_s3(info)
                s3rows.append((n, d))
                print_s3(d)
            sys.stdout.flush()
    print("\n# summary (a): fresh-process first lookup, ms in-process (wall / cpu), "
          "import included")
    print("# entries | python | ours: catalog, store           | raw: json index, cat.yaml line")
    for n, a, _b, _c in rows:
        for mode in modes:
            m = a[mode]
            print(f"# {n:>7,} | {mode:<6} | {pair(m['ours'])} {pair(m['store'])} | "
                  f"{pair(m['json'])} {pair(m['line'])}")
    if not args.skip_persist:
        print("# summary (c): ms")
        print("# entries | index update, bytes | raw: append, rewrite | fold ms, bytes/update")
        for n, _a, _b, c in rows:
            fold = (f"{c['fold_ms']:6.0f} {c['fold_bytes'] / FOLD:9,.0f}"
                    if c["fold_ms"] is not None else "     -         -")
            print(f"# {n:>7,} | {c['index']:6.1f} {c['bytes']:9,.0f} | {c['raw_append']:6.1f} "
                  f"{c['raw_rewrite']:7.1f} | {fold}")
    for n, d in s3rows:
        print(f"# S3 {n:>7,} | index update {d['index']:6.1f} ms, {d['bytes']:7,.0f} bytes, "
              f"{d['requests']:.0f} requests per persist | fold {d['fold_bytes']:,} bytes")
    footer()


def print_persist(c: dict) -> None:
    row("(c) persist one more 1,000-row CSV source", c["total"])
    row("    of which the index update (Index.update)", c["index"],
        f"wrote {c['bytes']:,.0f} bytes to the index")
    row("    raw: pyarrow read_csv + write_table of the same file", c["raw_write"])
    row("    raw: append a JSON line to a file + fsync", c["raw_append"],
        f"{c['line_bytes']:,} bytes")
    row("    raw: atomic rewrite of a file of cat.yaml's size", c["raw_rewrite"])
    if c["fold_ms"] is not None:
        row("    one fold of the journal into cat.yaml", c["fold_ms"],
            f"wrote {c['fold_bytes']:,} bytes; amortized over "
            f"{FOLD} updates: {c['fold_bytes'] / FOLD:,.0f} bytes each")
    print("    runs: persist (ms) " + " ".join(f"{t:.0f}" for t in c["totals"])
          + "; index (ms) " + " ".join(f"{t:.1f}" for t in c["index_times"])
          + "; bytes " + " ".join(f"{x:,}" for x in c["all_bytes"]))


def print_s3(d: dict) -> None:
    row(f"(d) S3 (moto): persist one more source, cat.yaml {d['index_mb']:.2f} MiB", d["total"])
    row("    of which the index update (Index.update)", d["index"],
        f"wrote {d['bytes']:,.0f} bytes to the index")
    print(f"    requests per persist: {d['requests']:.0f} in all; of one persist: "
          + ", ".join(f"{k} {v}" for k, v in sorted(d["kinds"].items())))
    row("    raw: one PUT of a 900-byte object", d["raw_put"])
    row("    raw: one PUT of a file of cat.yaml's size", d["raw_rewrite"])
    if d["fold_ms"] is not None:
        row("    one fold of the journal into cat.yaml", d["fold_ms"],
            f"wrote {d['fold_bytes']:,} bytes in {d['fold_requests']} requests")
    print("    runs: bytes " + " ".join(f"{x:,}" for x in d["all_bytes"]))


def pair(f: dict) -> str:
    return f"{f['in_wall']:7.1f} /{f['in_cpu']:6.1f}"


def fresh(label: str, f: dict, empty: dict | None) -> None:
    """A fresh-process figure: in-process wall and CPU time, then the whole child's
    wall and CPU time, and those minus an empty interpreter's."""
    extra = ""
    if empty is not None:
        extra = (f", minus empty {f['wall'] - empty['wall']:6.1f} /"
                 f"{f['cpu'] - empty['cpu']:6.1f}")
    print(f"{label:<56}: in-process {f['in_wall']:6.1f} /{f['in_cpu']:6.1f} ms; "
          f"process {f['wall']:6.1f} /{f['cpu']:6.1f}{extra}")


def row(label: str, ms: float, extra: str = "", digits: int = 1) -> None:
    print(f"{label:<59}: {ms:7.{digits}f} ms" + (f"   {extra}" if extra else ""))


if __name__ == "__main__":
    main()
