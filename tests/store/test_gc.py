"""gc: unfinished writes, orphans, published copies missing from the index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from store_helpers import FrameSource, subprocess_env

from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore


@pytest.fixture
def store(tmp_path):
    return PersistStore(str(tmp_path / "store"))


def _fake_unfinished(store, token, host=None, pid=None, started=None, marker=True):
    vid = layout.new_vid()
    d = os.path.join(store.path, token, vid)
    os.makedirs(d)
    open(os.path.join(d, "part.00000.parquet"), "wb").write(b"half a file")
    if marker:
        info = {"host": host or layout.hostname(), "pid": pid or 999_999_999,
                "time": started if started is not None else 0}
        open(d + ".writing", "w").write(json.dumps(info))
    return vid


def test_gc_on_empty_store(store):
    assert store.gc() == {"removed": [], "reindexed": [], "dropped": [], "dry_run": False}


def test_dead_local_writer_removed(store):
    src = FrameSource()
    copy = store.persist(src)
    vid = _fake_unfinished(store, src.token)  # marker not locked by anyone: writer dead
    d = os.path.join(store.path, src.token, vid)
    report = store.gc(dry_run=True)
    assert d in report["removed"] and os.path.exists(d)
    report = store.gc()
    assert set(report["removed"]) == {d, d + ".writing"}
    assert not os.path.exists(d) and not os.path.exists(d + ".writing")
    pd.testing.assert_frame_equal(store[src.token].read(), copy.read())


def test_live_writer_kept(store):
    token = FrameSource().token
    vid = layout.new_vid()
    claim = store.backend.claim(layout.writing_rel(token, vid))  # held by this process
    os.makedirs(os.path.join(store.path, token, vid))
    try:
        assert store.gc(grace=0)["removed"] == []
    finally:
        store.backend.release(claim)
    assert store.gc()["removed"] == [os.path.join(store.path, token, vid)]


def test_live_writer_in_other_process_kept(store):
    token = FrameSource().token
    code = textwrap.dedent(f"""
        import os, sys
        from intake_persist.store.persist_store import PersistStore
        from intake_persist.store import layout
        st = PersistStore({store.path!r})
        c = st.backend.claim(layout.writing_rel({token!r}, "20200101T000000.000000-00000000"))
        os.makedirs(os.path.join(st.path, {token!r}, "20200101T000000.000000-00000000"))
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    p = subprocess.Popen([sys.executable, "-c", code], env=subprocess_env(), text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == "ready"
        assert store.gc(grace=0)["removed"] == []
    finally:
        p.stdin.close()
        p.wait()
    assert len(store.gc()["removed"]) == 2  # its dir and marker, now that it is gone


def test_other_host_uses_grace(store):
    token = FrameSource().token
    import time

    _fake_unfinished(store, token, host="elsewhere", started=time.time())
    assert store.gc()["removed"] == []  # started just now on another machine
    assert len(store.gc(grace=0)["removed"]) == 2


def test_unpublished_dir_without_marker_removed(store):
    token = FrameSource().token
    vid = _fake_unfinished(store, token, marker=False)
    assert store.gc()["removed"] == [os.path.join(store.path, token, vid)]
    assert not os.path.exists(os.path.join(store.path, token))


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
    snapshot = open(os.path.join(store.path, "cat.yaml")).read()
    new = store.persist(src).metadata["version"]
    # restore an index that still points at the old copy, which is gone
    open(os.path.join(store.path, "cat.yaml"), "w").write(snapshot)
    report = store.gc()
    assert report["reindexed"] == [src.token]
    assert store.info(src)["version"] == new and old != new


def test_entry_whose_copy_is_gone_is_dropped(store):
    src = FrameSource()
    store.persist(src)
    import shutil

    shutil.rmtree(os.path.join(store.path, src.token))
    report = store.gc()
    assert report["dropped"] == [src.token]
    assert src.token not in store


def test_orphan_index_temp_file_removed(store):
    store.persist(FrameSource())
    tmp = os.path.join(store.path, layout.INDEX + f".tmp-{layout.hostname()}-999999999-abcd")
    open(tmp, "w").write("partial")
    assert store.gc()["removed"] == [tmp]
