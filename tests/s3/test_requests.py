"""What a persist asks of S3: a small fixed list of requests, whatever the store holds.

The store talks to moto's S3 app through a second in-process server that logs every
request (moto's state is per process, so both servers see the same buckets).
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from intake_persist.sources.csv import CSVSource
from intake_persist.store.persist_store import PersistStore

pytestmark = pytest.mark.s3


class _Logged:
    """moto's app, recording ``(method, key, query, conditional header)``."""

    def __init__(self, bucket: str) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self.app = DomainDispatcherApplication(create_backend_app)
        self.bucket = bucket
        self.log: list[tuple[str, str, str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        key = path.split(f"/{self.bucket}", 1)[-1].lstrip("/")
        cond = "".join(k for k in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH") if k in environ)
        with self.lock:
            self.log.append((environ["REQUEST_METHOD"], key, environ.get("QUERY_STRING", ""),
                             cond))
        return self.app(environ, start_response)

    def take(self) -> list[tuple[str, str, str, str]]:
        with self.lock:
            out, self.log = self.log, []
        return out


@pytest.fixture
def logged_store(s3_bucket, tmp_path):
    """``(store, logged)``: a PersistStore on S3 reached through the logging server."""
    from werkzeug.serving import make_server

    logged = _Logged(s3_bucket.removeprefix("s3://"))
    server = make_server("127.0.0.1", 0, logged, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = PersistStore(f"{s3_bucket}/store",
                             endpoint_url=f"http://127.0.0.1:{server.port}")
        yield store, logged
    finally:
        server.shutdown()
        thread.join()


def _csv(tmp_path, i: int) -> CSVSource:
    path = tmp_path / f"t{i}.csv"
    pd.DataFrame({"x": range(i, i + 50), "y": ["a"] * 50}).to_csv(path, index=False)
    return CSVSource(urlpath=str(path))


def _kinds(log: list[tuple[str, str, str, str]]) -> list[str]:
    """Each request as ``METHOD what``, the store's names generalised; the index's own
    requests (``cat.yaml``, ``journal/``) are all ``index``: that protocol has tests
    of its own."""
    out = []
    for method, key, query, cond in log:
        name = key.removeprefix("store/")
        if name == "cat.yaml" or name.startswith("journal/") or "journal" in query:
            what = "index write" if method == "PUT" else "index"
        elif "list-type" in query:
            prefix = next(p for p in query.split("&") if p.startswith("prefix="))
            what = "LIST " + ("pending/" if "pending" in prefix else "folder")
        elif name.startswith("pending/"):
            what = f"{method} pending marker"
        else:
            suffix = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else "?"
            kind = {"writing": "writing marker", "yaml": "meta", "parquet": "data",
                    "retired": "retired marker"}.get(suffix, name)
            what = f"{method} {kind}" + (" create-only" if cond == "HTTP_IF_NONE_MATCH" else "")
        out.append(what)
    return out


def _split(kinds: list[str]) -> tuple[list[str], int]:
    index = [k for k in kinds if k.startswith("index")]
    return [k for k in kinds if not k.startswith("index")], len(index)


PERSIST = [
    "PUT writing marker create-only",
    "PUT data",
    "PUT pending marker",
    "PUT meta create-only",
    "DELETE writing marker",
    "LIST pending/",
    "DELETE pending marker",
    "LIST folder",
]


def _persist_requests(kinds: list[str]) -> list[str]:
    """The requests of one persist beyond :data:`PERSIST` (each of which it made once),
    checked against the order the store's crash rules need; some run concurrently."""
    others, _ = _split(kinds)
    extra = list(others)
    for k in PERSIST:
        assert k in extra, (k, kinds)
        extra.remove(k)
    at = kinds.index
    assert at("PUT writing marker create-only") == 0, kinds  # before any data
    assert max(at("PUT data"), at("PUT pending marker")) < at("PUT meta create-only"), kinds
    assert at("PUT meta create-only") < at("DELETE writing marker"), kinds
    # the index is read once the copy is published, and written once
    assert at("PUT meta create-only") < min(at("LIST pending/"), at("index")), kinds
    assert max(at("LIST pending/"), at("index")) < at("index write"), kinds
    assert kinds.count("index write") == 1, kinds
    assert at("index write") < at("DELETE pending marker"), kinds
    return extra


def test_persist_of_one_partition_makes_a_fixed_list_of_requests(logged_store, tmp_path):
    store, logged = logged_store
    logged.take()
    copy = store.persist(_csv(tmp_path, 0))
    kinds = _kinds(logged.take())
    assert _persist_requests(kinds) == []
    assert 1 <= _split(kinds)[1] <= 3, kinds
    assert len(copy.read()) == 50


def test_request_count_does_not_grow_with_the_store(logged_store, tmp_path):
    store, logged = logged_store
    store.persist(_csv(tmp_path, 0))
    counts = []
    for i in range(1, 5):
        logged.take()
        store.persist(_csv(tmp_path, i))
        kinds = _kinds(logged.take())
        assert _persist_requests(kinds) == []
        counts.append(_split(kinds)[1])
    assert len(set(counts)) == 1, counts


def test_persisting_again_retires_the_old_copy(logged_store, tmp_path):
    store, logged = logged_store
    source = _csv(tmp_path, 0)
    store.persist(source)
    logged.take()
    store.persist(source)
    kinds = _kinds(logged.take())
    extra = _persist_requests(kinds)
    assert "PUT retired marker create-only" in extra
    assert kinds.index("PUT retired marker create-only") > kinds.index("LIST folder")
    assert len(extra) <= 3, extra  # whether the old copy's writer still indexes it


def test_reading_a_copy_back_lists_its_folder_once(logged_store, tmp_path):
    store, logged = logged_store
    key = store.persist(_csv(tmp_path, 0)).metadata["original_tok"]
    fresh = PersistStore(store.path, **store.storage_options)
    logged.take()
    df = fresh[key].read()
    others, index = _split(_kinds(logged.take()))
    assert len(df) == 50
    assert others == ["LIST folder", "GET data", "HEAD meta"]
    assert index <= 2
