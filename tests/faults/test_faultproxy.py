"""The fault proxy itself: each mode does what it says to a plain HTTP client."""

from __future__ import annotations

import http.client
import uuid
from urllib.parse import urlsplit

import pytest
from faultproxy import FaultProxy

BODY = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def moto_object(s3_server):
    """``(host, port), "/bucket/key"``: a 10 KiB object on moto, written directly."""
    url = urlsplit(s3_server)
    bucket = f"fp-{uuid.uuid4().hex[:12]}"
    conn = http.client.HTTPConnection(url.hostname, url.port)
    conn.request("PUT", f"/{bucket}")
    assert conn.getresponse().read() == b""
    conn.request("PUT", f"/{bucket}/obj", body=BODY, headers={"x-amz-acl": "public-read"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200
    conn.close()
    return (url.hostname, url.port), f"/{bucket}/obj"


def get(proxy: FaultProxy, path: str) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_healthy_connections_are_relayed(moto_object):
    upstream, path = moto_object
    with FaultProxy(upstream, rate=0.0) as proxy:
        for _ in range(3):
            assert get(proxy, path)[::2] == (200, BODY)
        assert proxy.counts["connections"] == 3
        assert proxy.counts["faults"] == 0


def test_slowdown_answers_503_with_retry_after(moto_object):
    upstream, path = moto_object
    with FaultProxy(upstream, rate=1.0, modes={"slowdown": 1}, retry_after=2) as proxy:
        status, headers, body = get(proxy, path)
        assert status == 503
        assert headers["Retry-After"] == "2"
        assert b"<Code>SlowDown</Code>" in body
        assert proxy.counts["slowdown"] == 1 and proxy.log == [(1, "slowdown")]


def test_cut_response_stops_part_way(moto_object):
    upstream, path = moto_object
    with FaultProxy(upstream, rate=1.0, modes={"cut_response": 1}, seed=3) as proxy:
        seen = []
        for _ in range(5):
            try:
                status, _, body = get(proxy, path)
            except http.client.IncompleteRead as exc:
                seen.append(len(exc.partial))
            except (http.client.RemoteDisconnected, ConnectionError):
                seen.append(-1)  # cut inside the headers
            else:
                pytest.fail(f"a whole response came through: {status}, {len(body)} bytes")
        assert all(n < len(BODY) for n in seen)
        assert any(n >= 0 for n in seen), "the cut never fell inside the body"
        assert proxy.counts["cut_response"] == 5


def test_cut_request_never_answers(moto_object):
    upstream, path = moto_object
    with FaultProxy(upstream, rate=1.0, modes={"cut_request": 1}) as proxy:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            get(proxy, path)
        assert proxy.counts["cut_request"] == 1


def test_latency_delays_but_delivers(moto_object):
    upstream, path = moto_object
    with FaultProxy(upstream, rate=1.0, modes={"latency": 1}, latency=(0.01, 0.02)) as proxy:
        assert get(proxy, path)[::2] == (200, BODY)
        assert proxy.counts["latency"] == 1


def test_fixed_seed_gives_the_same_decisions(moto_object):
    upstream, path = moto_object
    logs = []
    for _ in range(2):
        with FaultProxy(upstream, rate=0.5, seed=7, modes={"latency": 1, "slowdown": 1},
                        latency=(0.0, 0.0)) as proxy:
            for _ in range(12):
                get(proxy, path)
            logs.append(list(proxy.log))
    assert logs[0] == logs[1]
    assert 0 < len(logs[0]) < 12


def test_new_modes_can_be_registered(moto_object):
    upstream, path = moto_object

    def teapot(proxy, conn):
        conn.client.recv(65536)
        conn.client.sendall(b"HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n")

    FaultProxy.register_mode("teapot", teapot)
    with FaultProxy(upstream, rate=1.0, modes={"teapot": 1}) as proxy:
        assert get(proxy, path)[0] == 418
        proxy.set(rate=0.0)
        assert get(proxy, path)[0] == 200
        assert dict(proxy.counts) == {"connections": 2, "faults": 1, "teapot": 1}
    with pytest.raises(ValueError, match="unknown fault mode 'nope'"):
        FaultProxy(upstream, modes={"nope": 1})


def test_fault_proxy_fixture_reaches_moto(fault_proxy, s3_bucket):
    import s3fs

    fault_proxy.set(rate=0.0)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **fault_proxy.storage_options)
    fs.pipe(f"{s3_bucket}/x", b"through the proxy")
    assert fs.cat(f"{s3_bucket}/x") == b"through the proxy"
    assert fault_proxy.counts["connections"] >= 1
