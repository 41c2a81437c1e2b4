"""S3 conditional writes through s3fs, against moto's server and a real SeaweedFS.

Groundwork for the object-store index backend (compare-and-swap on ``cat.yaml``).

Findings (s3fs 2026.9, aiobotocore 3.10 / botocore 1.43, moto 5.2, SeaweedFS 4.48):

* Create-only: ``fs.pipe_file(path, data, mode="create")`` sends PutObject with
  ``If-None-Match: *`` (``fs.open(path, "xb")`` does the same on commit). When
  the key exists the server answers 412 PreconditionFailed, which s3fs turns into
    - moto: ``FileExistsError`` (its error carries ``Condition: If-None-Match``);
    - SeaweedFS: ``OSError(errno.EINVAL)`` (no ``Condition`` field).
* Compare-and-swap: ``fs.pipe_file(path, data, IfMatch=etag)`` (extra kwargs go
  straight to put_object; the return value is the put_object response, whose
  ``ETag`` is the new one). A stale ETag gives 412 → ``OSError(errno.EINVAL)``
  on both. If the key is missing: moto → ``FileNotFoundError`` (404 NoSuchKey),
  SeaweedFS → ``OSError(EINVAL)`` (412).
* So test for a conflict on the botocore error s3fs chains as ``__cause__``:
  ``exc.__cause__.response["Error"]["Code"] == "PreconditionFailed"`` (HTTP 412),
  see :func:`precondition_failed`; do not rely on the exception class alone.
* Read body and ETag in one request (``get_object``; see :func:`read_with_etag`):
  ``fs.info`` may answer from s3fs's listing cache, and a separate HEAD then
  GET can straddle another writer's update.
* Both servers serialize these writes: N racing create-only PUTs have exactly
  one winner, and read-modify-write with If-Match loses no increment.
* Only single-request PUTs are used (objects < 2 × 50 MiB by default in
  ``pipe_file``); s3fs also passes the condition to CompleteMultipartUpload for
  bigger bodies, which this test does not cover.
"""

from __future__ import annotations

import errno
import threading

import pytest
from fsspec.asyn import sync


def precondition_failed(exc: BaseException) -> bool:
    """True when an s3fs error is an HTTP 412 from a conditional request."""
    cause = exc.__cause__
    response = getattr(cause, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code == "PreconditionFailed" or status == 412


def read_with_etag(fs, path: str) -> tuple[bytes, str]:
    """The object's bytes and ETag from one GetObject."""
    bucket, key, _ = fs.split_path(path)

    async def _get():
        resp = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        try:
            data = await resp["Body"].read()
        finally:
            resp["Body"].close()
        return data, resp["ETag"]

    return sync(fs.loop, _get)


def test_create_only_new_key(object_store):
    fs, bucket = object_store
    path = f"{bucket}/index/cat.yaml"
    fs.pipe_file(path, b"v1", mode="create")
    assert fs.cat_file(path) == b"v1"


def test_create_only_existing_key_conflicts(object_store, request):
    fs, bucket = object_store
    path = f"{bucket}/cat.yaml"
    fs.pipe_file(path, b"v1")
    with pytest.raises(OSError) as info:
        fs.pipe_file(path, b"v2", mode="create")
    assert precondition_failed(info.value)
    if "moto" in request.node.callspec.id:
        assert isinstance(info.value, FileExistsError)
    else:
        assert info.value.errno == errno.EINVAL
    assert fs.cat_file(path) == b"v1"


def test_open_xb_is_create_only(object_store):
    fs, bucket = object_store
    path = f"{bucket}/meta.yaml"
    with fs.open(path, "xb") as f:
        f.write(b"first")
    with pytest.raises(OSError) as info:
        with fs.open(path, "xb") as f:
            f.write(b"second")
    assert precondition_failed(info.value)
    assert fs.cat_file(path) == b"first"


def test_if_match_swaps_when_etag_current(object_store):
    fs, bucket = object_store
    path = f"{bucket}/cat.yaml"
    first = fs.pipe_file(path, b"v1", mode="create")
    data, etag = read_with_etag(fs, path)
    assert data == b"v1" and etag == first["ETag"]
    out = fs.pipe_file(path, b"v2", IfMatch=etag)
    assert out["ETag"] != etag
    data2, etag2 = read_with_etag(fs, path)
    assert data2 == b"v2" and etag2 == out["ETag"]


def test_if_match_stale_etag_conflicts(object_store):
    fs, bucket = object_store
    path = f"{bucket}/cat.yaml"
    fs.pipe_file(path, b"v1")
    _, stale = read_with_etag(fs, path)
    fs.pipe_file(path, b"v2")  # another writer
    with pytest.raises(OSError) as info:
        fs.pipe_file(path, b"v3", IfMatch=stale)
    assert precondition_failed(info.value)
    assert info.value.errno == errno.EINVAL
    assert fs.cat_file(path) == b"v2"


def test_if_match_missing_key(object_store, request):
    fs, bucket = object_store
    path = f"{bucket}/gone.yaml"
    with pytest.raises(OSError) as info:
        fs.pipe_file(path, b"v", IfMatch='"0123456789abcdef0123456789abcdef"')
    if "moto" in request.node.callspec.id:
        assert isinstance(info.value, FileNotFoundError)
    else:
        assert precondition_failed(info.value)
    assert not fs.exists(path)


def test_racing_creates_have_one_winner(object_store):
    fs, bucket = object_store
    import s3fs

    path = f"{bucket}/race/cat.yaml"
    winners, errors = [], []
    barrier = threading.Barrier(6)

    def create(i):
        own = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=fs.endpoint_url)
        barrier.wait(timeout=30)
        try:
            own.pipe_file(path, str(i).encode(), mode="create")
            winners.append(i)
        except OSError as exc:
            if not precondition_failed(exc):
                errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(winners) == 1
    assert fs.cat_file(path) == str(winners[0]).encode()


def test_if_match_read_modify_write_loses_no_update(object_store):
    fs, bucket = object_store
    import s3fs

    path = f"{bucket}/counter"
    fs.pipe_file(path, b"0")
    n_threads, per_thread = 4, 5
    errors, conflicts = [], []

    def bump():
        own = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=fs.endpoint_url)
        done = 0
        for _ in range(200):  # bounded retries
            if done == per_thread:
                return
            data, etag = read_with_etag(own, path)
            try:
                own.pipe_file(path, str(int(data) + 1).encode(), IfMatch=etag)
                done += 1
            except OSError as exc:
                if precondition_failed(exc):
                    conflicts.append(1)
                else:
                    errors.append(exc)
                    return
        errors.append(RuntimeError("too many retries"))

    threads = [threading.Thread(target=bump) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert int(fs.cat_file(path)) == n_threads * per_thread
