"""gc: unfinished writes, orphans, published copies missing from the index.

Every test runs on local disk and on S3 (``store`` fixture of ``conftest.py``). A
local writer's marker is flock-ed while it writes; on an object store the marker's
host/pid (same machine) or its timestamp and the grace period decide."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pandas as pd
from store_helpers import FrameSource, index_bytes, ls, put_index, subprocess_env

from intake_persist.store import layout


def _fake_unfinished(store, token, host=None, pid=None, started=None, marker=True):
    vid = layout.new_vid()
    store.backend.put(f"{token}/{vid}/part.00000.parquet", b"half a file")
    if marker:
        info = {"host": host or layout.hostname(), "pid": pid or 999_999_999,
                "time": started if started is not None else 0}
        store.backend.put(layout.writing_rel(token, vid), json.dumps(info).encode())
    return vid


def test_gc_on_empty_store(store):
    assert store.gc() == {"removed": [], "retired": [], "reindexed": [], "dropped": [],
                          "detached": [], "dry_run": False}


def test_dead_writer_of_this_machine_removed(store):
    src = FrameSource()
    copy = store.persist(src)
    vid = _fake_unfinished(store, src.token)  # its pid is gone: the writer is dead
    d = store.backend.url(f"{src.token}/{vid}")
    report = store.gc(dry_run=True)
    assert d in report["removed"] and vid in ls(store, src.token)
    report = store.gc()
    assert set(report["removed"]) == {d, d + ".writing"}
    assert ls(store, src.token) == [copy.metadata["version"],
                                    copy.metadata["version"] + ".meta.yaml"]
    pd.testing.assert_frame_equal(store[src.token].read(), copy.read())


def test_live_writer_kept(store):
    token = FrameSource().token
    vid = layout.new_vid()
    claim = store.backend.claim(layout.writing_rel(token, vid))  # held by this process
    store.backend.put(f"{token}/{vid}/part.00000.parquet", b"being written")
    try:
        # local: the flock says it is alive whatever the grace; S3: the pid is alive
        assert store.gc(grace=0 if store.backend.supports_claim_locks else 3600)["removed"] == []
    finally:
        store.backend.release(claim)
    assert store.gc()["removed"] == [store.backend.url(f"{token}/{vid}")]


def test_live_writer_in_other_process_kept(store):
    token = FrameSource().token
    vid = "20200101T000000.000000-00000000"
    code = textwrap.dedent(f"""
        import sys
        from intake_persist.store.persist_store import PersistStore
        from intake_persist.store import layout
        st = PersistStore({store.path!r})
        c = st.backend.claim(layout.writing_rel({token!r}, {vid!r}))
        st.backend.put({token!r} + "/" + {vid!r} + "/part.00000.parquet", b"x")
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    p = subprocess.Popen([sys.executable, "-c", code], env=subprocess_env(), text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == "ready"
        assert store.gc(grace=0 if store.backend.supports_claim_locks else 3600)["removed"] == []
    finally:
        p.stdin.close()
        p.wait()
    # its dir and marker, now that it is gone (marker left behind: it did not release)
    assert len(store.gc()["removed"]) == 2


def test_other_host_uses_grace(store):
    token = FrameSource().token
    _fake_unfinished(store, token, host="elsewhere", started=time.time())
    assert store.gc()["removed"] == []  # started just now on another machine
    assert len(store.gc(grace=0)["removed"]) == 2
    assert ls(store, token) == []


def test_other_host_old_marker_removed(store):
    token = FrameSource().token
    vid = _fake_unfinished(store, token, host="elsewhere", started=time.time() - 7200)
    report = store.gc()  # default grace: one hour
    assert sorted(report["removed"]) == sorted([store.backend.url(f"{token}/{vid}"),
                                                store.backend.url(f"{token}/{vid}.writing")])


def test_unpublished_dir_without_marker_removed(store):
    token = FrameSource().token
    vid = _fake_unfinished(store, token, marker=False)
    assert store.gc()["removed"] == [store.backend.url(f"{token}/{vid}")]
    assert ls(store, token) == [] and token not in ls(store)


def test_published_copy_missing_from_index_is_reindexed(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    store.persist(a)
    store.persist(b, ttl=9)

    def drop(entries):
        del entries[b.token]

    store.index.update(drop)  # as if the writer died between publishing and indexing
    assert b.token not in store
    report = store.gc()
    assert report["reindexed"] == [b.token]
    assert store.info(b)["ttl"] == 9
    pd.testing.assert_frame_equal(store[b.token].read(), b.read())


def test_newer_published_copy_becomes_current(store):
    src = FrameSource()
    old = store.persist(src).metadata["version"]
    snapshot = index_bytes(store)
    new = store.persist(src).metadata["version"]
    # restore an index that still points at the old copy, which is gone
    put_index(store, snapshot)
    report = store.gc()
    assert report["reindexed"] == [src.token]
    assert store.info(src)["version"] == new and old != new


def test_entry_whose_copy_is_gone_is_dropped(store):
    src = FrameSource()
    store.persist(src)
    store.backend.rm(src.token)
    report = store.gc()
    assert report["dropped"] == [src.token]
    assert src.token not in store


def test_orphan_index_temp_file_removed(store):
    store.persist(FrameSource())
    name = layout.INDEX + f".tmp-{layout.hostname()}-999999999-abcd"
    store.backend.put(name, b"partial")
    assert store.gc()["removed"] == [store.backend.url(name)]
