"""Conditional writes on S3 (moto): three ways to reach them, measured side by side.

Run: ``python benchmarks/bench_conditional.py [--calls 40] [--repeats 5]``. Needs
``moto[server]``, ``s3fs`` and (for its rows) ``obstore``.

What the store's index needs: create a key only if absent (``If-None-Match: *``),
read a key's bytes with the ETag they belong to, and replace a key only if its
ETag is unchanged (``If-Match``). Ways to do it:

- ``s3fs private``: ``S3FileSystem._call_s3("put_object"/"get_object", ...)``, what
  the S3 backend uses (one request per operation);
- ``s3fs public``: ``fs.pipe_file(path, data, mode="create")`` and
  ``fs.pipe_file(path, data, IfMatch=etag)`` (extra keywords reach ``PutObject``;
  the response, with the new ETag, is returned), and ``fs.open(path)`` whose
  ``details["ETag"]`` matches the bytes it reads (s3fs sends ``If-Match``): a
  ``HEAD`` and a ``GET`` per read;
- ``obstore``: ``obstore.put(store, key, data, mode="create")``,
  ``mode={"e_tag": etag}`` and ``obstore.get(store, key)`` (bytes and ``meta["e_tag"]``
  from one ``GET``).

Printed: the median time per operation, the requests each makes (counted by the
server), that a conflict is refused by each, and the import time of ``s3fs`` and
``obstore`` in fresh interpreters. No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from _common import footer, fresh_processes_ms, header
from bench_s3 import REQUESTS, new_bucket, start_moto


def _s3fs_private(fs, bucket: str):
    from fsspec.asyn import sync

    def call(method: str, **kw):
        return sync(fs.loop, fs._call_s3, method, Bucket=bucket, **kw)

    async def _get(key: str):
        resp = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        body = resp["Body"]
        try:
            return await body.read(), resp["ETag"]
        finally:
            body.close()

    return {
        "create": lambda key, data: call("put_object", Key=key, Body=data,
                                         IfNoneMatch="*")["ETag"],
        "get": lambda key: sync(fs.loop, _get, key),
        "replace": lambda key, data, etag: call("put_object", Key=key, Body=data,
                                                IfMatch=etag)["ETag"],
    }


def _s3fs_public(fs, bucket: str):
    def get(key: str):
        path = f"{bucket}/{key}"
        fs.invalidate_cache(path)
        with fs.open(path, "rb") as f:
            return f.read(), f.details["ETag"]

    return {
        "create": lambda key, data: fs.pipe_file(f"{bucket}/{key}", data,
                                                 mode="create")["ETag"],
        "get": get,
        "replace": lambda key, data, etag: fs.pipe_file(f"{bucket}/{key}", data,
                                                        IfMatch=etag)["ETag"],
    }


def _obstore(endpoint: str, bucket: str):
    import obstore
    from obstore.store import S3Store

    store = S3Store(bucket, endpoint=endpoint, region="us-east-1",
                    access_key_id="testing", secret_access_key="testing",
                    client_options={"allow_http": True})

    def get(key: str):
        r = obstore.get(store, key)
        return bytes(r.bytes()), r.meta["e_tag"]

    return {
        "create": lambda key, data: obstore.put(store, key, data, mode="create")["e_tag"],
        "get": get,
        "replace": lambda key, data, etag: obstore.put(store, key, data,
                                                       mode={"e_tag": etag})["e_tag"],
    }


def measure(ops: dict, calls: int) -> dict:
    """Median seconds and requests per operation; whether conflicts are refused."""
    prefix = uuid.uuid4().hex[:8]
    data = b"x" * 2000
    out: dict = {}
    times: dict[str, list[float]] = {"create": [], "get": [], "replace": []}
    nreq: dict[str, int] = {}
    for i in range(calls):
        key = f"{prefix}/k{i}"
        REQUESTS.take()
        t0 = time.perf_counter()
        etag = ops["create"](key, data)
        times["create"].append(time.perf_counter() - t0)
        nreq["create"] = len(REQUESTS.take())
        t0 = time.perf_counter()
        body, tag = ops["get"](key)
        times["get"].append(time.perf_counter() - t0)
        nreq["get"] = len(REQUESTS.take())
        assert body == data and tag == etag, (tag, etag)
        t0 = time.perf_counter()
        ops["replace"](key, data + b"y", etag)
        times["replace"].append(time.perf_counter() - t0)
        nreq["replace"] = len(REQUESTS.take())
    for op, v in times.items():
        out[op] = (statistics.median(v) * 1000, nreq[op])
    key = f"{prefix}/k0"
    refused = []
    for what, fn in (("create", lambda: ops["create"](key, data)),
                     ("replace", lambda: ops["replace"](key, data, etag))):
        try:
            fn()
        except Exception as exc:  # each way names the conflict its own way
            refused.append(f"{what}: {type(exc).__name__}")
        else:
            refused.append(f"{what}: NOT REFUSED")
    out["refused"] = ", ".join(refused)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header(args.repeats)
    server, endpoint = start_moto()
    try:
        import s3fs

        bucket = new_bucket()
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        ways = {"s3fs private (_call_s3)": _s3fs_private(fs, bucket),
                "s3fs public (pipe_file, open)": _s3fs_public(fs, bucket)}
        try:
            ways["obstore"] = _obstore(endpoint, bucket)
        except ImportError:
            print("# obstore is not installed: its row is left out")
        print(f"\n## per operation, median of {args.calls} (ms) [requests]")
        print(f"{'':<32} {'create-only':>16} {'read + ETag':>16} {'replace if ETag':>16}"
              "   conflicts")
        for name, ops in ways.items():
            m = measure(ops, args.calls)
            cells = " ".join(f"{m[op][0]:10.2f} [{m[op][1]}]  " for op in
                             ("create", "get", "replace"))
            print(f"{name:<32} {cells} {m['refused']}")
    finally:
        server.shutdown()
    codes = {"empty": "pass", "import s3fs": "import s3fs", "import obstore": "import obstore"}
    fresh = fresh_processes_ms(codes, args.repeats)
    print(f"\n## fresh interpreter, median of {args.repeats} (ms)")
    for name, ms in fresh.items():
        extra = f"   (+{ms - fresh['empty']:.1f})" if name != "empty" else ""
        print(f"{name:<16} {ms:8.1f}{extra}")
    footer()


if __name__ == "__main__":
    main()
