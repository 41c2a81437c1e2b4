"""The S3 store against a real SeaweedFS server (marker ``seaweedfs``; runs in CI).

* the index backend contract (conditional writes as SeaweedFS answers them);
* the store's operations end to end;
* several processes persisting into one ``s3://`` store at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pandas as pd
import pytest
from store_helpers import FrameSource, ls, subprocess_env

from intake_persist.store.persist_store import PersistStore
from intake_persist.testing import BackendContract

pytestmark = pytest.mark.seaweedfs


@pytest.fixture
def weed_bucket(seaweedfs_storage_options):
    """A fresh bucket on SeaweedFS; yields ``s3://<bucket>``."""
    import s3fs

    fs = s3fs.S3FileSystem(**seaweedfs_storage_options)
    name = f"it-{uuid.uuid4().hex[:16]}"
    fs.mkdir(name)
    try:
        yield f"s3://{name}"
    finally:
        try:
            fs.rm(name, recursive=True)
        except Exception:
            pass


class TestSeaweedFSBackend(BackendContract):
    cls_name = "S3Backend"

    @pytest.fixture
    def storage_options(self, seaweedfs_server):
        return {"endpoint_url": seaweedfs_server}

    @pytest.fixture
    def backend_url(self, weed_bucket):
        return f"{weed_bucket}/store"


def test_store_operations(weed_bucket, seaweedfs_server):
    import time

    from store_helpers import set_timestamp

    st = PersistStore(f"{weed_bucket}/store", endpoint_url=seaweedfs_server)
    assert type(st.backend).__name__ == "S3Backend"
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    assert st.resolve(a, "default") is a
    copy = st.persist(a, ttl=100)
    pd.testing.assert_frame_equal(copy.read(), a.read())
    st.persist(b)
    fresh = PersistStore(st.path, endpoint_url=seaweedfs_server)
    assert sorted(fresh) == sorted([a.token, b.token])
    set_timestamp(fresh, a.token, time.time() - 1000)
    v = fresh.info(a)["version"]
    assert fresh.resolve(a, "always").metadata["version"] == v
    new = fresh.resolve(a, "default")
    assert new.metadata["version"] > v
    nv = new.metadata["version"]
    assert ls(fresh, a.token) == [v, f"{v}.meta.yaml", f"{v}.retired", nv, f"{nv}.meta.yaml"]
    assert fresh.backtrack(a.token).token == a.token
    report = fresh.gc(grace=0)  # the copy of a the refresh replaced: its grace is over
    assert report["removed"] == [fresh.backend.url(f"{a.token}/{v}{s}")
                                 for s in (".meta.yaml", "", ".retired")]
    assert report["retired"] == report["reindexed"] == report["dropped"] == []
    assert ls(fresh, a.token) == [nv, f"{nv}.meta.yaml"]
    fresh.remove(b)
    assert list(fresh) == [a.token]
    assert [n for n in ls(fresh, b.token) if n.endswith(".removed")]  # files: after the grace
    fresh.gc(grace=0)
    assert ls(fresh, b.token) == []
    fresh.clear()
    assert len(fresh) == 0 and [n for n in ls(fresh) if n != "cat.yaml"] == []


WORKER = textwrap.dedent("""
    import os, sys, time
    from store_helpers import FrameSource
    from intake_persist.store.persist_store import PersistStore
    path, wid, rounds, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    st = PersistStore(path)  # the endpoint comes from AWS_ENDPOINT_URL
    FrameSource(nparts=2, rows=5, seed=-1).read()  # imports done before the start
    print("ready", flush=True)
    while not os.path.exists(go):  # all start together
        time.sleep(0.01)
    for r in range(rounds):
        st.persist(FrameSource(nparts=2, rows=20, seed=wid * 100 + r), ttl=3600)
        st.persist(FrameSource(nparts=2, rows=5, seed=-1), ttl=None)  # one shared token
        if r % 2:
            st.remove(FrameSource(nparts=2, rows=20, seed=wid * 100 + r))
    print("ok")
""")


def test_many_processes_into_one_store(weed_bucket, seaweedfs_server, tmp_path):
    path = f"{weed_bucket}/shared"
    nproc, rounds = 4, 3
    go = tmp_path / "go"
    env = {**subprocess_env(), "AWS_ENDPOINT_URL": seaweedfs_server}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, path, str(w), str(rounds), str(go)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for w in range(nproc)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    st = PersistStore(path, endpoint_url=seaweedfs_server)
    expected = {FrameSource(nparts=2, rows=20, seed=w * 100 + r).token
                for w in range(nproc) for r in range(rounds) if not r % 2}
    shared = FrameSource(nparts=2, rows=5, seed=-1)
    expected.add(shared.token)
    assert set(st) == expected
    for key in st:  # every entry present and readable, and equal to its original
        original = st.backtrack(key)
        assert original.token == key
        pd.testing.assert_frame_equal(st[key].read(), original.read())
    # no leftovers: gc(grace=0) deletes only copies out of the index (retired or
    # removed, waiting for the grace period), then has nothing to do
    current = {f"{k}/{(e.get('metadata') or {}).get('version')}"
               for k, e in st.index.entries().items()}
    report = st.gc(grace=0)
    assert report["reindexed"] == [] and report["dropped"] == [] and report["detached"] == []
    for url in report["removed"]:
        rel = url[len(st.path) + 1:]
        for suffix in (".meta.yaml", ".retired", ".removed"):
            rel = rel.removesuffix(suffix)
        assert rel not in current, url
    assert st.gc(grace=0) == {"removed": [], "retired": [], "reindexed": [], "dropped": [],
                              "detached": [], "dry_run": False}
    assert len([n for n in ls(st, shared.token) if n.endswith(".meta.yaml")]) == 1
    assert not os.path.exists(os.environ["INTAKE_PERSIST_PATH"])
