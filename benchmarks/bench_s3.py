"""S3 store benchmark against moto's S3 server (in this process, on 127.0.0.1).

Run: ``python benchmarks/bench_s3.py [--rows 160000] [--blocksize 64MiB]
[--entries 1000] [--repeats 5]``. Needs ``moto[server]`` and ``s3fs``.

The server is moto's S3 app behind a WSGI wrapper that logs every request, so each
step's requests are counted (and one persist's are listed).

1. Persist and read-back: a CSV (the generator of ``bench_persist.py``; 160k rows,
   19 MiB: one partition) persisted to ``s3://<bucket>/store``, versus the same work
   by hand: pyarrow reads the CSV and writes as many Parquet files (the same row
   split) through ``s3fs``; and the transfer alone (``s3fs.put`` of our Parquet
   files, already on disk). Then reading the copy back in a fresh process,
   ``PersistStore(url)[key].read()`` versus ``pq.read_table(<copy folder>,
   filesystem=s3fs.S3FileSystem()).to_pandas()``. Each step runs in its own
   subprocess (imports included; peak RSS is its own).
2. Lookups against an S3 store of ``--entries`` entries: 3 sources persisted for
   real, the rest made like ``bench_store.py`` does (the real copy's Parquet file
   and meta record under new tokens and version ids, uploaded in one concurrent
   ``fs.pipe``), then indexed by the store's own ``PersistStore.gc()`` (timed).
   (a) a fresh process: import, open a (local) catalog, ``cat[name]`` resolved to
   the copy on S3 -- versus an empty interpreter and a fresh process doing the raw
   work with s3fs (import s3fs, GET cat.yaml, ``json.loads`` of the line);
   (b) warm: ``cat[name]`` resolved again in the open catalog, versus one raw
   ``HeadObject`` of cat.yaml through s3fs (what a freshness check costs).

Environment: dummy credentials and ``AWS_ENDPOINT_URL`` as in the root
``conftest.py``. No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

from _common import child_env, footer, fresh_processes_ms, header, median_ms

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3")
REAL = 3
WARM_CALLS = 50


class Requests:
    """What the server was asked, in order: ``(method, path, query, conditions)``."""

    def __init__(self) -> None:
        import threading

        self.log: list[tuple[str, str, str, str]] = []
        self.lock = threading.Lock()

    def wrap(self, app):
        def counting(environ, start_response):
            cond = " ".join(f"{h[5:].replace('_', '-')}: {environ[h]}"
                            for h in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH") if h in environ)
            with self.lock:
                self.log.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                 environ.get("QUERY_STRING", ""), cond))
            return app(environ, start_response)

        return counting

    def take(self) -> list[tuple[str, str, str, str]]:
        with self.lock:
            out, self.log = self.log, []
        return out


REQUESTS = Requests()


def start_moto() -> tuple[object, str]:
    """moto's S3 app behind a WSGI wrapper that logs every request (``REQUESTS``), on
    127.0.0.1 in a thread of this process (what ``ThreadedMotoServer`` does)."""
    import threading

    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for k, v in DUMMY_AWS_ENV.items():
        os.environ[k] = v
    for k in _AWS_UNSET:
        os.environ.pop(k, None)
    app = REQUESTS.wrap(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return server, endpoint


def new_bucket() -> str:
    import s3fs

    name = f"bench-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)
    return name


# --------------------------------------------------------------------------- 1. persist

STEP = {
    "ours": """
        from intake_persist.sources.csv import CSVSource
        from intake_persist.store import PersistStore
        store = PersistStore(STORE)
        copy = store.persist(CSVSource(urlpath=CSV, blocksize=BLOCKSIZE))
        T = time.perf_counter() - t0
        OUT = copy.urlpath
        NPART = copy.metadata["npartitions"]
    """,
    "raw": """
        import pyarrow.csv as pacsv, pyarrow.parquet as pq, s3fs
        fs = s3fs.S3FileSystem()
        table = pacsv.read_csv(CSV)
        n = len(table)
        step = -(-n // NPART)
        for i in range(NPART):
            with fs.open(f"{DEST}/part.{i:05d}.parquet", "wb") as f:
                pq.write_table(table.slice(i * step, step), f)
    """,
    "put": """
        import s3fs
        s3fs.S3FileSystem().put(LOCAL, DEST, recursive=True)
    """,
    "ours_read": """
        from intake_persist.store import PersistStore
        store = PersistStore(STORE)
        df = store[KEY].read()
        assert len(df) == ROWS
    """,
    "raw_read": """
        import pyarrow.parquet as pq, s3fs
        df = pq.read_table(DEST, filesystem=s3fs.S3FileSystem()).to_pandas()
        assert len(df) == ROWS
    """,
}


def run_step(name: str, env: dict, **values: object) -> dict:
    """One step in a fresh interpreter: wall time, peak RSS, and the requests the
    server saw meanwhile (``n``)."""
    header_ = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    code = (
        "import time, resource, json\nOUT = NPART = T = None\n" + header_ +
        "t0 = time.perf_counter()\n" + textwrap.dedent(STEP[name])
        + "\nprint(json.dumps({'s': T or time.perf_counter() - t0, 'out': OUT, 'npart': NPART,"
        " 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    REQUESTS.take()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"step {name} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["requests"] = REQUESTS.take()
    result["n"] = len(result["requests"])
    return result


def show_requests(log: list, bucket: str) -> None:
    for method, path, query, cond in log:
        key = path.split(f"/{bucket}", 1)[-1].lstrip("/") or "(bucket)"
        q = " ?" + "&".join(p for p in query.split("&")
                            if p.split("=")[0] in ("list-type", "prefix", "delete", "uploads",
                                                   "partNumber", "uploadId")) if query else ""
        print(f"    {method:<6} {key}{q}  {cond}".rstrip())


def bench_persist(args, env: dict) -> None:
    import s3fs
    from bench_persist import csv_file

    csv = csv_file(args.rows)
    mib = os.path.getsize(csv) / 2**20
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    names = ("ours", "raw", "put", "ours_read", "raw_read")
    runs: dict[str, list[dict]] = {k: [] for k in names}
    first_log: list = []
    with tempfile.TemporaryDirectory() as local:
        for r in range(args.repeats):
            bucket = new_bucket()
            store = f"s3://{bucket}/store"
            ours = run_step("ours", env, STORE=store, CSV=csv, BLOCKSIZE=args.blocksize)
            npart = ours["npart"]
            raw = run_step("raw", env, CSV=csv, NPART=npart, DEST=f"{bucket}/raw")
            if r == 0:  # our Parquet files, for the transfer-only baseline
                fs.get(ours["out"], os.path.join(local, "parts"), recursive=True)
                size = fs.du(ours["out"]) / 2**20
                first_log, first_bucket = ours["requests"], bucket
            put = run_step("put", env, LOCAL=os.path.join(local, "parts") + "/",
                           DEST=f"{bucket}/put")
            key = ours["out"].rstrip("/").split("/")[-2]
            ours_read = run_step("ours_read", env, STORE=store, KEY=key, ROWS=args.rows)
            raw_read = run_step("raw_read", env, DEST=ours["out"].split("://", 1)[1],
                                ROWS=args.rows)
            for k, v in zip(names, (ours, raw, put, ours_read, raw_read), strict=True):
                runs[k].append(v)
            fs.rm(bucket, recursive=True)
    med = {k: statistics.median(x["s"] for x in v) for k, v in runs.items()}
    rss = {k: statistics.median(x["rss_mb"] for x in v) for k, v in runs.items()}
    nreq = {k: statistics.median(x["n"] for x in v) for k, v in runs.items()}
    print(f"\n## persist to S3 and read back: CSV {args.rows:,} rows, {mib:.0f} MiB -> "
          f"{npart} Parquet file(s), {size:.1f} MiB (blocksize {args.blocksize})")
    print(f"{'fresh process, wall time':<52} {'ours':>8} {'raw':>8} {'ratio':>7}  requests "
          "ours/raw")
    for what, o, rw, target in (
        ("persist (raw: read_csv + write_table via s3fs)", "ours", "raw", "<= 1.2x"),
        ("read-back (raw: read_table(folder, s3fs).to_pandas)", "ours_read", "raw_read",
         "<= 1.1x"),
    ):
        print(f"{what:<52} {med[o]:7.3f}s {med[rw]:7.3f}s {med[o] / med[rw]:6.2f}x  "
              f"{nreq[o]:4.0f} / {nreq[rw]:.0f}   target {target}")
    print(f"{'raw: s3fs.put of our Parquet file(s) (transfer)':<52} {'':>8} {med['put']:7.3f}s"
          f"   peak RSS ours/raw persist {rss['ours']:.0f}/{rss['raw']:.0f} MiB")
    print(f"requests of one persist ({len(first_log)}), in order:")
    show_requests(first_log, first_bucket)
    print("runs (s): " + "; ".join(f"{k} " + " ".join(f"{x['s']:.3f}" for x in v)
                                   for k, v in runs.items()))


# --------------------------------------------------------------------------- 2. lookups


def populate(bucket: str, entries: int, root: str) -> dict:
    import s3fs
    from bench_store import write_catalog, write_csv

    from intake_persist import open_catalog
    from intake_persist._yaml import dump, load
    from intake_persist.sources.csv import CSVSource
    from intake_persist.store import PersistStore, layout

    store_url = f"s3://{bucket}/store"
    os.environ["INTAKE_PERSIST_PATH"] = store_url
    data = os.path.join(root, "data")
    os.makedirs(data)
    names = [f"real_{i}" for i in range(REAL)]
    for i, n in enumerate(names):
        write_csv(os.path.join(data, f"{n}.csv"), i)
    cat_path = os.path.join(root, "bench.yaml")
    write_catalog(cat_path, names)
    cat = open_catalog(cat_path)
    t0 = time.perf_counter()
    for n in names:
        cat[n].persist()
    real_s = time.perf_counter() - t0

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    store = PersistStore(store_url)
    tok0 = next(iter(store))
    metas = [p for p in fs.ls(f"{bucket}/store/{tok0}") if p.endswith(layout.META_SUFFIX)]
    template = load(fs.cat_file(metas[0]))
    vid0 = metas[0].rsplit("/", 1)[1][: -len(layout.META_SUFFIX)]
    parts = {p.rsplit("/", 1)[1]: fs.cat_file(p) for p in fs.find(f"{bucket}/store/{tok0}/{vid0}")}
    t0 = time.perf_counter()
    files: dict[str, bytes] = {}
    for i in range(entries - REAL):
        src_path = os.path.join(data, f"synthetic_{i:05d}.csv")  # never read
        tok = CSVSource(urlpath=src_path).token
        vid = layout.new_vid()
        for fname, blob in parts.items():
            files[f"{bucket}/store/{tok}/{vid}/{fname}"] = blob
        meta = copy.deepcopy(template)
        meta["description"] = f"persisted copy of synthetic_{i:05d}"
        meta["args"]["urlpath"] = f"{{{{ CATALOG_DIR }}}}/{tok}/{vid}"
        md = meta["metadata"]
        md.update(original_tok=tok, original_name=f"synthetic_{i:05d}", version=vid,
                  versions=[vid], timestamp=round(time.time(), 6))
        md["original_source"]["args"]["urlpath"] = src_path
        files[f"{bucket}/store/{tok}/{vid}{layout.META_SUFFIX}"] = dump(meta).encode()
    fs.pipe(files)
    upload_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = PersistStore(store_url).gc()
    gc_s = time.perf_counter() - t0
    assert len(report["reindexed"]) == entries - REAL, len(report["reindexed"])
    return {"real_s": real_s, "upload_s": upload_s, "gc_s": gc_s, "cat": cat_path,
            "store": store_url, "names": names, "nfiles": len(files)}


FRESH_OURS = """
import intake_persist
cat = intake_persist.open_catalog({cat!r})
assert cat[{name!r}].is_persisted
"""
FRESH_RAW = """
import json, s3fs
data = s3fs.S3FileSystem().cat_file({index!r})
i = data.find(b'\\n  "{tok}": ') + {skip}
entry = json.loads(data[i:data.find(b"\\n", i)])
"""


def bench_lookups(args, env: dict) -> None:
    import s3fs

    from intake_persist import open_catalog
    from intake_persist.store import PersistStore

    bucket = new_bucket()
    with tempfile.TemporaryDirectory() as root:
        info = populate(bucket, args.entries, root)
        name = info["names"][-1]
        store = PersistStore(info["store"])
        tok = [k for k in store if store.index.lookup(k)["metadata"]["original_name"] == name][0]
        index = f"{bucket}/store/cat.yaml"
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        index_kib = fs.size(index) / 1024
        fenv = dict(env, INTAKE_PERSIST_PATH=info["store"])
        fresh = fresh_processes_ms(
            {"empty": "pass",
             "ours": FRESH_OURS.format(cat=info["cat"], name=name),
             "raw": FRESH_RAW.format(index=index, tok=tok, skip=len(tok) + 7)},
            args.repeats, env=fenv)
        cat = open_catalog(info["cat"])
        assert cat[name].is_persisted

        def ours() -> None:
            for _ in range(WARM_CALLS):
                assert cat[name].is_persisted

        def raw_head() -> None:
            for _ in range(WARM_CALLS):
                fs.invalidate_cache(index)
                fs.info(index)

        warm = median_ms(ours, args.repeats) / WARM_CALLS
        head = median_ms(raw_head, args.repeats) / WARM_CALLS
    s3fs.S3FileSystem(skip_instance_cache=True).rm(bucket, recursive=True)
    print(f"\n## lookups, S3 store with {args.entries:,} entries (cat.yaml {index_kib:.0f} KiB)")
    print(f"populate: {REAL} real persists {info['real_s']:.2f} s; {info['nfiles']} synthetic "
          f"objects uploaded {info['upload_s']:.2f} s; "
          f"PersistStore.gc() re-index {info['gc_s']:.2f} s")
    print(f"(a) fresh process: import + open_catalog + cat[name] (copy) : {fresh['ours']:7.1f} ms"
          f"   minus empty interpreter {fresh['ours'] - fresh['empty']:6.1f} ms")
    print(f"    raw, fresh process: empty interpreter                 : {fresh['empty']:7.1f} ms")
    print(f"    raw, fresh process: import s3fs, GET cat.yaml, json   : {fresh['raw']:7.1f} ms"
          f"   minus empty {fresh['raw'] - fresh['empty']:6.1f} ms")
    print(f"(b) warm cat[name] -> copy, per call                      : {warm:7.2f} ms")
    print(f"    raw: one HeadObject of cat.yaml via s3fs, per call    : {head:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=160_000)
    parser.add_argument("--blocksize", default="64MiB")
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-persist", action="store_true")
    parser.add_argument("--skip-lookups", action="store_true")
    args = parser.parse_args()
    header(args.repeats)
    server, endpoint = start_moto()
    moto_version = __import__("moto").__version__
    print(f"# moto {moto_version} S3 app at {endpoint} (werkzeug, a thread of this process)")
    env = child_env()
    try:
        if not args.skip_persist:
            bench_persist(args, env)
            sys.stdout.flush()
        if not args.skip_lookups:
            bench_lookups(args, env)
    finally:
        server.shutdown()
    footer()


if __name__ == "__main__":
    main()
