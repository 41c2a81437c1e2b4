"""Bounded waits on a stalled object store: every request has connect and
read timeouts, PUTs go without ``Expect: 100-continue``, and a stalled request is
retried. A proxy in front of moto holds one request in ten open without answering
(seeded); every persist, lookup and read finishes, or fails with a clean error
naming the store, within the documented bound, and nothing acknowledged is lost."""

from __future__ import annotations

import statistics
import time
from urllib.parse import urlsplit

import pandas as pd
import pytest
from faultproxy import FaultProxy, read_http_message, read_request_head
from store_helpers import FrameSource

from intake_persist.errors import IntakePersistError
from intake_persist.store.backends.s3 import DEFAULT_TIMEOUTS, with_timeouts
from intake_persist.store.persist_store import PersistStore

NO_POOL = {"connector_args": {"force_close": True, "keepalive_timeout": None}}
BOUND = 60.0  # docs/persisting.rst: a call with at most one stalled request


def upstream(s3_server: str) -> tuple[str, int]:
    url = urlsplit(s3_server)
    return url.hostname, url.port


def test_timeouts_are_set_and_settable(s3_bucket):
    store = PersistStore(f"{s3_bucket}/store")
    config = store.storage_options["config_kwargs"]
    assert config["connect_timeout"] == DEFAULT_TIMEOUTS["connect_timeout"]
    assert config["read_timeout"] == DEFAULT_TIMEOUTS["read_timeout"]
    store = PersistStore(f"{s3_bucket}/store", read_timeout=3, connect_timeout=2)
    assert store.storage_options["config_kwargs"]["read_timeout"] == 3.0
    assert store.storage_options["config_kwargs"]["connect_timeout"] == 2.0
    assert "read_timeout" not in store.storage_options  # not an s3fs argument
    kept = with_timeouts({"config_kwargs": {"read_timeout": 7, "max_pool_connections": 3}})
    assert kept["config_kwargs"] == {"read_timeout": 7.0, "max_pool_connections": 3,
                                     "connect_timeout": DEFAULT_TIMEOUTS["connect_timeout"]}
    for bad in (0, -1, "soon", True, float("inf")):
        with pytest.raises(ValueError, match=f"read_timeout .*{bad!r}"):
            PersistStore(f"{s3_bucket}/store", read_timeout=bad)
    # the copies read with the same options: their reads are bounded too
    copy = store.persist(FrameSource(nparts=1, rows=3))
    assert copy.storage_options["config_kwargs"]["read_timeout"] == 3.0


def test_timeouts_from_the_configuration(s3_bucket, monkeypatch, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "conf.yaml").write_text(
        f"persist_path: {s3_bucket}/store\n"
        "persist_storage_options: {read_timeout: 4, config_kwargs: {connect_timeout: 1}}\n")
    monkeypatch.setenv("INTAKE_CONF_DIR", str(conf))
    monkeypatch.delenv("INTAKE_PERSIST_PATH")
    config = PersistStore().storage_options["config_kwargs"]
    assert (config["read_timeout"], config["connect_timeout"]) == (4.0, 1.0)


def _peek(proxy: FaultProxy, conn) -> None:
    """Relay, keeping each request's head."""
    head, rest = read_request_head(conn.client)
    if not head:
        return
    proxy.heads.append(head)
    body = read_http_message(conn.client, head, rest)
    conn.upstream.sendall(head + body)
    proxy.relay(conn)


FaultProxy.register_mode("peek", _peek)


def test_puts_do_not_wait_for_100_continue(s3_server, s3_bucket):
    with FaultProxy(upstream(s3_server), rate=1.0, seed=1, modes={"peek": 1.0}) as proxy:
        proxy.heads = []
        store = PersistStore(f"{s3_bucket}/store", endpoint_url=proxy.endpoint,
                             skip_instance_cache=True, config_kwargs=NO_POOL)
        src = FrameSource(nparts=2, rows=5)
        store.persist(src)
        puts = [h for h in proxy.heads if h.startswith(b"PUT ")]
        assert len(puts) >= 4  # marker, two parts, meta, index
        assert not [h for h in puts if b"expect:" in h.lower()], puts[0]


@pytest.mark.slow  # about 50 s; bounds call times, so not beside the process races
def test_stalled_requests_are_bounded_and_lose_nothing(s3_server, s3_bucket):
    with FaultProxy(upstream(s3_server), rate=0.1, seed=17, modes={"stall": 1.0},
                    stall=300.0) as proxy:
        # shorter timeouts than the defaults keep the suite quick; what is tested, that a
        # stalled request is cut by its timeout and retried, is the same at any setting
        store = PersistStore(f"{s3_bucket}/store", endpoint_url=proxy.endpoint,
                             skip_instance_cache=True, config_kwargs=NO_POOL,
                             read_timeout=4, connect_timeout=2)
        sources = [FrameSource(seed=100 + i, nparts=2, rows=8) for i in range(5)]
        calls: list[tuple[str, float, BaseException | None]] = []

        def timed(what, fn):
            t0 = time.monotonic()
            try:
                result, error = fn(), None
            except IntakePersistError as exc:  # a clean failure: named, counted
                result, error = None, exc
            calls.append((what, time.monotonic() - t0, error))
            return result

        acked = []
        for src in sources:
            if timed("persist", lambda s=src: store.persist(s)) is not None:
                acked.append(src)
        for src in sources:
            copy = timed("lookup", lambda s=src: store[s.token])
            if copy is not None:
                data = timed("read", copy.read)
                if data is not None:
                    pd.testing.assert_frame_equal(data, src.read())
        times = [t for _, t, _ in calls]
        failed = [(w, e) for w, _, e in calls if e is not None]
        print(f"\nstall test: {len(calls)} calls, median {statistics.median(times):.1f} s, "
              f"longest {max(times):.1f} s, failed {len(failed)}; stalled "
              f"{len(proxy.stalled)} of {proxy.counts['connections']} requests: "
              f"{[h.decode()[:60] for h in proxy.stalled]}")
        assert proxy.stalled, "the seed stalls no request: the test tests nothing"
        for what, error in failed:
            assert store.path in str(error), (what, error)
        # generous: twice the documented bound, so a slow machine does not fail it
        assert max(times) < 2 * BOUND, calls

    # nothing acknowledged is lost: straight against moto
    direct = PersistStore(f"{s3_bucket}/store")
    for src in acked:
        assert src.token in direct
        pd.testing.assert_frame_equal(direct[src.token].read(), src.read())
