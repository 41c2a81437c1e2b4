"""Transient faults between the store and S3 are retried; a spent budget is named.

Real faults: the :class:`faultproxy.FaultProxy` sits between s3fs/botocore and the
moto server. ``force_close`` makes every request a new connection, so the proxy's
per-connection faults land on requests of every kind (index reads, conditional
writes, meta files, listings, data parts).
"""

from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlsplit

import pandas as pd
import pytest
import yaml
from faultproxy import FaultProxy, _cut_response
from store_helpers import ArraySource, FrameSource, ItemsSource, open_exported

from intake_persist.errors import IntakePersistError, StoreUnavailableError
from intake_persist.store import retry
from intake_persist.store.persist_store import PersistStore

pytestmark = pytest.mark.s3

NO_POOL = {"connector_args": {"force_close": True, "keepalive_timeout": None}}


def proxied_store(bucket: str, proxy: FaultProxy, **kw) -> PersistStore:
    config = {**NO_POOL, **kw.pop("config_kwargs", {})}
    return PersistStore(f"{bucket}/store", endpoint_url=proxy.endpoint,
                        skip_instance_cache=True, config_kwargs=config, **kw)


def direct_store(bucket: str) -> PersistStore:
    """The same store straight on moto (AWS_ENDPOINT_URL), no proxy."""
    return PersistStore(f"{bucket}/store", skip_instance_cache=True)


def upstream_of(s3_server: str) -> tuple[str, int]:
    url = urlsplit(s3_server)
    return url.hostname, url.port


def _scripted(proxy: FaultProxy, conn) -> None:
    """Mode for scripted tests: the next action from ``proxy.script`` (then relay)."""
    action = proxy.script.pop(0) if proxy.script else "relay"
    proxy.done.append(action)
    if action == "cut_response":
        _cut_response(proxy, conn)
    else:
        proxy.relay(conn)


FaultProxy.register_mode("scripted", _scripted)


def scripted_proxy(s3_server: str) -> FaultProxy:
    proxy = FaultProxy(upstream_of(s3_server), rate=1.0, modes={"scripted": 1.0})
    proxy.script, proxy.done = [], []
    return proxy


# --------------------------------------------------------------------------- end to end


def test_store_calls_survive_faults(fault_proxy, s3_bucket, tmp_path):
    """persist, lookup, refresh, export and gc through 15% faulty connections: no call
    fails, and moto holds every copy, whole."""
    before = retry.STATS.copy()
    store = proxied_store(s3_bucket, fault_proxy)
    sources = [FrameSource(seed=i, nparts=2) for i in range(3)] + [ItemsSource(), ArraySource()]
    copies = {}
    for src in sources:
        copies[src.token] = store.persist(src, ttl=600)
        assert src.token in store
        assert store[src.token].metadata["original_tok"] == src.token
    refreshed = store.refresh(sources[0].token)
    assert refreshed.metadata["version"] != copies[sources[0].token].metadata["version"]
    text = copies[sources[1].token].export(
        f"{s3_bucket}/exports/f1",
        storage_options={"endpoint_url": fault_proxy.endpoint, "skip_instance_cache": True,
                         "config_kwargs": NO_POOL})
    report = store.gc(grace=0)
    assert report["dropped"] == []
    stats = retry.STATS - before
    print(f"\nfault proxy: {fault_proxy.summary()}; store calls {stats['calls']}, "
          f"retried {stats['retries']}, gave up {stats['gave_up']}")
    assert fault_proxy.counts["faults"] >= 10, fault_proxy.summary()
    assert stats["gave_up"] == 0

    # straight against moto
    direct = direct_store(s3_bucket)
    assert sorted(direct) == sorted(s.token for s in sources)
    for src in sources:
        data, want = direct[src.token].read(), src.read()
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(data, want)
        elif src.container == "ndarray":
            assert (data == want).all()
        else:
            assert data == want
    assert direct.gc(grace=0, dry_run=True)["removed"] == []
    cat = yaml.safe_load(text)
    (entry,) = cat["sources"].values()
    assert entry["args"]["urlpath"] == f"{s3_bucket}/exports/f1"
    pd.testing.assert_frame_equal(open_exported(tmp_path, text).read(), sources[1].read())


# --------------------------------------------------------------------------- conditional writes


def test_landed_conditional_write_is_not_a_conflict(s3_server, s3_bucket):
    """The index write lands but its answer is cut; the retry fails its own If-Match,
    and the read that checks the content is cut too: still recognised as ours."""
    with scripted_proxy(s3_server) as proxy:
        store = proxied_store(s3_bucket, proxy)
        first = store.persist(FrameSource(seed=1, nparts=1))
        proxy.done.clear()
        script = ["relay", "cut_response", "relay", "cut_response"]
        proxy.script[:] = script
        # GET (read), PUT If-Match cut after landing, PUT again (412: its own write),
        # GET check read cut, then GET check read whole
        calls = []

        def fn(entries):
            calls.append(1)
            entries["f" * 32] = {"driver": "parquet", "args": {"urlpath": "/nowhere"},
                                 "metadata": {"note": "added"}}

        store.index.update(fn)
        assert proxy.done[:4] == script
        assert len(calls) == 1, "a landed write was taken for a conflict and redone"
    direct = direct_store(s3_bucket)
    assert direct.index.lookup("f" * 32)["metadata"] == {"note": "added"}
    assert first.metadata["original_tok"] in direct


def test_landed_create_only_is_not_exists(s3_server, s3_bucket):
    """Publishing a meta file (create-only) whose answer is cut is not 'exists'."""
    with scripted_proxy(s3_server) as proxy:
        store = proxied_store(s3_bucket, proxy)
        proxy.script[:] = ["cut_response", "relay", "cut_response"]
        store.backend.create_only("a/b.meta.yaml", b"mine")
        assert proxy.done[:3] == ["cut_response", "relay", "cut_response"]
        with pytest.raises(FileExistsError):  # someone else's content: exists
            store.backend.create_only("a/b.meta.yaml", b"theirs")
    assert direct_store(s3_bucket).backend.read_bytes("a/b.meta.yaml") == b"mine"


def test_cut_index_read_is_retried(s3_server, s3_bucket):
    """A GetObject whose body is cut (aiohttp ClientPayloadError) is read again."""
    with scripted_proxy(s3_server) as proxy:
        store = proxied_store(s3_bucket, proxy)
        src = FrameSource(seed=2, nparts=1)
        store.persist(src)
        key = store.backend._key("cat.yaml")
        for _ in range(3):
            proxy.script[:] = ["cut_response"] * 3
            proxy.done.clear()
            data, etag = store.backend._get(key)
            assert proxy.done[:3] == ["cut_response"] * 3
            assert src.token.encode() in data and etag


# --------------------------------------------------------------------------- budget spent


def test_spent_budget_names_store_operation_and_key(s3_server, s3_bucket):
    with FaultProxy(upstream_of(s3_server), rate=1.0, modes={"slowdown": 1},
                    retry_after=0) as proxy:
        store = proxied_store(s3_bucket, proxy, retry=2,
                              config_kwargs={"retries": {"max_attempts": 1}})
        with pytest.raises(StoreUnavailableError) as err:
            len(store)
    exc = err.value
    assert isinstance(exc, ConnectionError) and isinstance(exc, IntakePersistError)
    assert (exc.store, exc.operation, exc.key, exc.attempts) == (
        f"{s3_bucket}/store", "get_object", "store/cat.yaml", 2)  # a first read: one GET
    msg = str(exc)
    for part in (f"{s3_bucket}/store", "get_object", "store/cat.yaml", "2 attempts",
                 proxy.endpoint):
        assert part in msg, msg
    assert exc.__cause__ is not None


def test_permanent_errors_are_not_retried(s3_server, s3_bucket):
    with scripted_proxy(s3_server) as proxy:
        store = proxied_store(s3_bucket, proxy)
        before = retry.STATS.copy()
        with pytest.raises(FileNotFoundError):
            store.backend.read_bytes("no/such/object")
        stats = retry.STATS - before
        assert stats["permanent"] == 1 and stats["retries"] == 0
        assert proxy.done == ["relay"] * len(proxy.done)


# --------------------------------------------------------------------------- the policy


def boto3_error(s3_server: str, s3_bucket: str, **proxy_kw):
    """A real botocore ClientError for one GET through a proxy (no botocore retries)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    with FaultProxy(upstream_of(s3_server), **proxy_kw) as proxy:
        client = boto3.client("s3", endpoint_url=proxy.endpoint,
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        with pytest.raises(ClientError) as err:
            client.get_object(Bucket=s3_bucket.removeprefix("s3://"), Key="missing")
    return err.value


def test_slowdown_is_transient_and_retry_after_is_honoured(s3_server, s3_bucket):
    exc = boto3_error(s3_server, s3_bucket, rate=1.0, modes={"slowdown": 1}, retry_after=3)
    assert retry.is_transient(exc)
    assert retry.retry_after(exc) == 3.0
    waits, tries = [], []

    def flaky():
        tries.append(1)
        if len(tries) < 3:
            raise exc
        return "ok"

    policy = retry.RetryPolicy(attempts=5, base=0.01, cap=0.02)
    assert retry.call(flaky, store="s3://b/p", operation="get_object", policy=policy,
                      sleep=waits.append) == "ok"
    assert waits == [3.0, 3.0]  # the server's wait beats the (tiny) backoff


def test_not_found_is_permanent(s3_server, s3_bucket):
    exc = boto3_error(s3_server, s3_bucket, rate=0.0)
    assert not retry.is_transient(exc)
    calls = []

    def missing():
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        retry.call(missing, store="s3://b/p", operation="get_object", sleep=lambda s: None)
    assert calls == [1]


def test_cut_responses_are_transient(s3_server, s3_bucket):
    """The errors a cut answer really raises, in http.client and aiohttp."""
    import aiohttp

    path = f"/{s3_bucket.removeprefix('s3://')}/obj"
    host, port = upstream_of(s3_server)
    conn = http.client.HTTPConnection(host, port)
    conn.request("PUT", path, body=bytes(20000), headers={"x-amz-acl": "public-read"})
    assert conn.getresponse().status == 200
    conn.close()
    seen = []
    with FaultProxy(upstream_of(s3_server), rate=1.0, modes={"cut_response": 1},
                    seed=5) as proxy:
        for _ in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
            try:
                conn.request("GET", path)
                conn.getresponse().read()
            except Exception as exc:  # noqa: BLE001 - whatever a cut gives
                seen.append(exc)
            finally:
                conn.close()

        async def get() -> None:
            async with aiohttp.ClientSession() as session:
                for _ in range(4):
                    try:
                        async with session.get(f"{proxy.endpoint}{path}") as resp:
                            await resp.read()
                    except Exception as exc:  # noqa: BLE001
                        seen.append(exc)

        asyncio.run(get())
    assert len(seen) == 8
    assert all(retry.is_transient(e) for e in seen), [type(e) for e in seen]


def test_policy_backoff_is_bounded_and_validated():
    policy = retry.RetryPolicy(attempts=8, base=0.05, cap=4.0)
    for n in range(12):
        d = policy.delay(n)
        high = min(4.0, 0.05 * 2**n)
        assert high / 2 <= d <= high
    assert policy.delay(0, retry_after=100) == 30.0  # Retry-After capped
    assert retry.policy_from(3) == retry.RetryPolicy(attempts=3)
    assert retry.policy_from({"cap": 1}) == retry.RetryPolicy(cap=1)
    for bad in (0, -1, "many", {"attempt": 3}, {"base": -1}, 2.5):
        with pytest.raises(ValueError, match="retry"):
            retry.policy_from(bad)
    with pytest.raises(ValueError, match="retry"):
        PersistStore("memory://x", retry={"tries": 3})
