"""A fault-injecting TCP proxy for HTTP servers (the moto S3 server in the tests).

Clients connect to the proxy instead of the server. For each accepted connection
the proxy draws, from one seeded ``random.Random``, whether it is faulty (with
probability ``rate``) and which fault mode applies (weighted by ``modes``). A
healthy connection is relayed byte for byte; a faulty one is handed to the mode's
function, which acts on the first request of the connection:

``cut_request``   forward part of the request to the server, then close both sides
``cut_response``  forward the request, then only part of the response, then close
``slowdown``      answer ``503 SlowDown`` with ``Retry-After`` without asking the server
``latency``       relay normally, with a delay before the first response byte
``stall``         read the request's headers, then hold the connection open without
                  answering (not even ``100 Continue``) for ``stall`` seconds (or
                  until the client gives up or the proxy closes); the heads of the
                  stalled requests are kept in ``proxy.stalled``

Adding a mode: write ``fn(proxy, conn)`` where ``conn`` is a :class:`Connection`
(``conn.client`` / ``conn.upstream`` sockets, ``conn.rng`` a per-connection
``random.Random``), register it with ``FaultProxy.register_mode("name", fn)``, and give it a weight
in ``modes`` (``FaultProxy(..., modes={"name": 1.0})`` or ``proxy.set(modes=...)``). The
function owns the connection until it returns; both sockets are closed after it.
Helpers for modes: :func:`read_request_head`, :func:`read_http_message`,
:meth:`FaultProxy.relay`.

Counters (``proxy.counts``): ``connections``, ``faults`` and one per mode name;
``proxy.log`` lists ``(connection number, mode)`` for each fault injected.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

ModeFn = Callable[["FaultProxy", "Connection"], None]

DEFAULT_MODES = {"cut_request": 1.0, "cut_response": 1.0, "slowdown": 1.0, "latency": 1.0}


@dataclass
class Connection:
    """One accepted client connection and its (already opened) server connection."""

    number: int
    client: socket.socket
    upstream: socket.socket
    rng: random.Random
    mode: str | None = None
    extra: dict = field(default_factory=dict)


def _recv(sock: socket.socket, n: int = 65536) -> bytes:
    try:
        return sock.recv(n)
    except OSError:
        return b""


def read_request_head(sock: socket.socket, limit: int = 65536) -> tuple[bytes, bytes]:
    """``(head, rest)``: the bytes up to and including the blank line that ends the
    HTTP headers, and whatever body bytes came with them (``b""`` heads: closed)."""
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < limit:
        chunk = _recv(sock)
        if not chunk:
            return b"", buf
        buf += chunk
    end = buf.find(b"\r\n\r\n") + 4
    return buf[:end], buf[end:]


def header(head: bytes, name: str) -> str | None:
    """The value of header ``name`` (case-insensitive) in an HTTP head, or None."""
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            return v.strip().decode("latin-1")
    return None


def read_http_message(sock: socket.socket, head: bytes, rest: bytes) -> bytes:
    """Read the rest of a request's body (Content-Length or chunked); returns it."""
    length = header(head, "content-length")
    if (header(head, "expect") or "").lower() == "100-continue" and (
            length is None or len(rest) < int(length)):
        # the client (botocore) waits for this before it sends the body
        try:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError:
            return rest
    if length is not None:
        want = int(length)
        while len(rest) < want:
            chunk = _recv(sock)
            if not chunk:
                break
            rest += chunk
        return rest
    if (header(head, "transfer-encoding") or "").lower() == "chunked":
        # walk the chunks: the last one (size 0) may carry trailers (botocore sends
        # its checksum there), and the message ends at the blank line after them
        pos = 0
        while True:
            while b"\r\n" not in rest[pos:]:
                chunk = _recv(sock)
                if not chunk:
                    return rest
                rest += chunk
            eol = rest.index(b"\r\n", pos)
            size = int(rest[pos:eol].split(b";")[0].strip() or b"0", 16)
            if size == 0:
                pos = eol + 2
                while True:  # trailers, then an empty line
                    while b"\r\n" not in rest[pos:]:
                        chunk = _recv(sock)
                        if not chunk:
                            return rest
                        rest += chunk
                    eol = rest.index(b"\r\n", pos)
                    if eol == pos:
                        return rest
                    pos = eol + 2
            end = eol + 2 + size + 2
            while len(rest) < end:
                chunk = _recv(sock)
                if not chunk:
                    return rest
                rest += chunk
            pos = end
    return rest


class FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 in front of ``upstream`` (``host, port``)."""

    _modes: dict[str, ModeFn] = {}

    def __init__(self, upstream: tuple[str, int], rate: float = 0.15, seed: int = 14,
                 modes: dict[str, float] | None = None, retry_after: float = 0.2,
                 latency: tuple[float, float] = (0.05, 0.3), stall: float = 120.0):
        self.upstream = upstream
        self.rate = rate
        self.rng = random.Random(seed)
        self.modes = dict(DEFAULT_MODES if modes is None else modes)
        self.retry_after = retry_after
        self.latency = latency
        self.stall = stall
        self.stalled: list[bytes] = []
        self.counts: Counter = Counter()
        self.log: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        for name in self.modes:
            self._mode_fn(name)  # unknown names fail here, not in a thread
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True,
                                          name="faultproxy-accept")
        self._accepter.start()

    # ---- modes -----------------------------------------------------------------------
    @classmethod
    def register_mode(cls, name: str, fn: ModeFn) -> None:
        """Make ``name`` usable in ``modes`` (on the class: for every proxy)."""
        cls._modes[name] = fn

    def _mode_fn(self, name: str) -> ModeFn:
        fn = self._modes.get(name)
        if fn is None:
            raise ValueError(f"unknown fault mode {name!r}; known: {sorted(self._modes)}")
        return fn

    def set(self, rate: float | None = None, modes: dict[str, float] | None = None) -> None:
        """Change the fault rate and/or mode weights from now on (e.g. 0 to check)."""
        with self._lock:
            if rate is not None:
                self.rate = rate
            if modes is not None:
                for name in modes:
                    self._mode_fn(name)
                self.modes = dict(modes)

    # ---- plumbing --------------------------------------------------------------------
    def _decide(self) -> tuple[int, str | None, random.Random]:
        with self._lock:
            self.counts["connections"] += 1
            number = self.counts["connections"]
            conn_rng = random.Random(self.rng.random())
            mode = None
            if self.modes and self.rng.random() < self.rate:
                names = sorted(self.modes)
                mode = self.rng.choices(names, weights=[self.modes[n] for n in names])[0]
                self.counts["faults"] += 1
                self.counts[mode] += 1
                self.log.append((number, mode))
        return number, mode, conn_rng

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True,
                                 name="faultproxy-conn")
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _serve(self, client: socket.socket) -> None:
        number, mode, rng = self._decide()
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        conn = Connection(number, client, upstream, rng, mode)
        try:
            if mode is None:
                self.relay(conn)
            else:
                self._mode_fn(mode)(self, conn)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, first_delay: float = 0.0) -> None:
        delay = first_delay
        while True:
            data = _recv(src)
            if not data:
                break
            if delay:
                time.sleep(delay)
                delay = 0.0
            try:
                dst.sendall(data)
            except OSError:
                break
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def relay(self, conn: Connection, response_delay: float = 0.0) -> None:
        """Relay both directions until either side closes (optionally delaying the
        first bytes of the server's answer)."""
        back = threading.Thread(target=self._pump,
                                args=(conn.upstream, conn.client, response_delay), daemon=True)
        back.start()
        self._pump(conn.client, conn.upstream)
        back.join()

    def close(self) -> None:
        self._closing = True
        try:
            self._sock.close()
        except OSError:
            pass
        for t in list(self._threads):
            t.join(timeout=2)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def summary(self) -> str:
        parts = [f"{self.counts['connections']} connections",
                 f"{self.counts['faults']} faults"]
        parts += [f"{n}={self.counts[n]}" for n in sorted(self.modes) if self.counts[n]]
        return ", ".join(parts)


# --------------------------------------------------------------------------- modes


def _cut_request(proxy: FaultProxy, conn: Connection) -> None:
    head, rest = read_request_head(conn.client)
    data = head + rest
    # cut inside the request line: moto's server (Python's http.server) takes a
    # header block ended by EOF as complete and stores the PUT with an empty body,
    # which S3 never does; a request cut in its first line is never acted upon
    line_end = data.find(b"\r\n")
    limit = line_end if line_end > 1 else len(data)
    if limit > 1:
        conn.upstream.sendall(data[: conn.rng.randint(1, limit - 1)])
    # closing the client with its request unanswered: the client sees a dropped
    # connection; the server sees a request that never ends


def _cut_response(proxy: FaultProxy, conn: Connection) -> None:
    head, rest = read_request_head(conn.client)
    if not head:
        return
    body = read_http_message(conn.client, head, rest)
    conn.upstream.sendall(head + body)
    got = b""
    while True:
        while b"\r\n\r\n" not in got:
            chunk = _recv(conn.upstream)
            if not chunk:
                break
            got += chunk
        # the server's own "100 Continue" (the client already had ours): skip it
        if got.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in got:
            got = got[got.find(b"\r\n\r\n") + 4:]
            continue
        break
    end = got.find(b"\r\n\r\n") + 4
    length = header(got[:end], "content-length") if end > 3 else None
    method = head.split(b" ", 1)[0].upper()
    total = end + (int(length) if length is not None and method != b"HEAD" else 0)
    if length is not None and total > end:
        cut = conn.rng.randint(end, total - 1)  # inside the body
    else:
        cut = conn.rng.randint(1, max(1, end - 1))  # inside the headers
    while len(got) < cut:
        chunk = _recv(conn.upstream)
        if not chunk:
            break
        got += chunk
    conn.client.sendall(got[:cut])


_SLOWDOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message>"
    b"<RequestId>FAULTPROXY</RequestId></Error>"
)


def _slowdown(proxy: FaultProxy, conn: Connection) -> None:
    head, rest = read_request_head(conn.client)
    if not head:
        return
    read_http_message(conn.client, head, rest)
    retry_after = proxy.retry_after
    value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
    conn.client.sendall(
        b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
        + f"Retry-After: {value}\r\nContent-Length: {len(_SLOWDOWN_BODY)}\r\n".encode()
        + b"Connection: close\r\n\r\n" + _SLOWDOWN_BODY
    )
    try:
        conn.client.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.client.settimeout(2)
    while _recv(conn.client):
        pass


def _latency(proxy: FaultProxy, conn: Connection) -> None:
    lo, hi = proxy.latency
    proxy.relay(conn, response_delay=conn.rng.uniform(lo, hi))


def _stall(proxy: FaultProxy, conn: Connection) -> None:
    head, _rest = read_request_head(conn.client)
    if not head:
        return
    with proxy._lock:
        proxy.stalled.append(head.split(b"\r\n", 1)[0])
    deadline = time.monotonic() + proxy.stall
    conn.client.settimeout(0.1)
    while time.monotonic() < deadline and not proxy._closing:
        try:
            if not conn.client.recv(65536):  # the client gave up and closed
                return
        except TimeoutError:
            continue
        except OSError:
            return


FaultProxy.register_mode("cut_request", _cut_request)
FaultProxy.register_mode("cut_response", _cut_response)
FaultProxy.register_mode("slowdown", _slowdown)
FaultProxy.register_mode("latency", _latency)
FaultProxy.register_mode("stall", _stall)
