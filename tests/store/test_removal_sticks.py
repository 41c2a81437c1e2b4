"""A removal sticks: gc, a rebuild of a damaged index and concurrent
writers never put a removed entry back; files kept by ``remove(delfiles=False)``
stay, listed by gc as detached, until ``gc(delete_detached=True)``.

Every test runs on local disk and on S3 (``store`` fixture)."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from store_helpers import FrameSource, index_bytes, ls, put_index

from intake_persist.store.persist_store import PersistStore


def _files(store, src, copy):
    vid = copy.metadata["version"]
    return [vid, f"{vid}.meta.yaml", f"{vid}.removed"]


def test_gc_does_not_put_a_removed_entry_back(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    copy_a = store.persist(a)
    store.persist(b)
    store.remove(a, delfiles=False)
    report = store.gc(grace=0)
    data_url = store.backend.url(f"{a.token}/{copy_a.metadata['version']}")
    assert report == {"removed": [], "retired": [], "reindexed": [], "dropped": [],
                      "detached": [data_url], "dry_run": False}
    assert list(store) == [b.token]
    assert list(PersistStore(store.path)) == [b.token]  # a fresh process sees the same
    assert a.token.encode() not in index_bytes(store)
    assert ls(store, a.token) == _files(store, a, copy_a)  # the files stay where they were
    assert store.gc(grace=0)["detached"] == [data_url]  # and stay on later runs


def test_persisting_again_is_the_way_back(store):
    a = FrameSource(seed=3)
    old = store.persist(a)
    store.remove(a, delfiles=False)
    new = store.persist(a)
    assert list(store) == [a.token]
    assert store[a.token].metadata["version"] == new.metadata["version"]
    old_vid, new_vid = old.metadata["version"], new.metadata["version"]
    # the kept files of the removed copy are not pruned by the new persist
    assert ls(store, a.token) == sorted([old_vid, f"{old_vid}.meta.yaml", f"{old_vid}.removed",
                                         new_vid, f"{new_vid}.meta.yaml"])
    report = store.gc(grace=0)
    assert report["reindexed"] == [] and report["removed"] == []
    assert report["detached"] == [store.backend.url(f"{a.token}/{old_vid}")]
    assert store[a.token].metadata["versions"] == [new_vid]
    pd.testing.assert_frame_equal(store[a.token].read(), a.read())


def test_detached_files_deleted_only_when_asked(store):
    a, b = FrameSource(seed=4), FrameSource(seed=5)
    copy_a = store.persist(a)
    store.persist(b)
    store.remove(a, delfiles=False)
    vid = copy_a.metadata["version"]
    urls = [store.backend.url(f"{a.token}/{n}") for n in (f"{vid}.meta.yaml", vid,
                                                           f"{vid}.removed")]
    dry = store.gc(grace=0, delete_detached=True, dry_run=True)
    assert dry["removed"] == urls and dry["detached"] == []
    assert ls(store, a.token) == _files(store, a, copy_a)
    report = store.gc(grace=0, delete_detached=True)
    assert report["removed"] == urls and report["detached"] == [] and report["reindexed"] == []
    assert ls(store, a.token) == []
    assert a.token not in ls(store)  # the token's folder goes too
    assert list(store) == [b.token]
    pd.testing.assert_frame_equal(store[b.token].read(), b.read())


def test_remove_with_files_deletes_them_after_the_grace_period(store):
    a = FrameSource(seed=6)
    copy = store.persist(a)
    vid = copy.metadata["version"]
    store.remove(a)
    # readers that resolved the copy may still be reading: its files stay, tombstoned
    assert ls(store, a.token) == [vid, f"{vid}.meta.yaml", f"{vid}.removed"]
    pd.testing.assert_frame_equal(copy.read(), a.read())
    report = store.gc()  # within the grace period: nothing deleted, nothing detached
    assert report["removed"] == [] and report["detached"] == [] and report["reindexed"] == []
    assert a.token not in store
    report = store.gc(grace=0)  # forced
    assert report["removed"] == [store.backend.url(f"{a.token}/{n}")
                                 for n in (f"{vid}.meta.yaml", vid, f"{vid}.removed")]
    assert ls(store, a.token) == [] and a.token not in store
    assert store.gc(grace=0) == {"removed": [], "retired": [], "reindexed": [], "dropped": [],
                                 "detached": [], "dry_run": False}


def test_remove_with_files_and_no_grace_deletes_at_once(store_url):
    store = PersistStore(store_url, grace=0)
    a = FrameSource(seed=7)
    store.persist(a)
    store.remove(a)
    assert ls(store, a.token) == []


def test_rebuild_of_a_damaged_index_keeps_removed_entries_out(store):
    srcs = [FrameSource(seed=10 + i) for i in range(4)]
    copies = [store.persist(s, ttl=60) for s in srcs]
    store.remove(srcs[1], delfiles=False)
    text = index_bytes(store)
    put_index(store, text[: len(text) // 2])  # truncated
    fresh = PersistStore(store.path)
    with pytest.warns(RuntimeWarning, match="damaged.*rebuilt.*3 entries"):
        keys = sorted(fresh)
    assert keys == sorted(s.token for i, s in enumerate(srcs) if i != 1)
    for i in (0, 2, 3):  # every entry that was indexed is recovered, as it was
        assert fresh.info(srcs[i])["version"] == copies[i].metadata["version"]
        assert fresh.info(srcs[i])["ttl"] == 60
        pd.testing.assert_frame_equal(fresh[srcs[i].token].read(), srcs[i].read())
    assert fresh.gc(grace=0)["reindexed"] == []
    assert srcs[1].token not in PersistStore(store.path)


def test_concurrent_gc_and_writers_do_not_fold_removals_back(store):
    keep = [FrameSource(seed=100 + i, nparts=1, rows=3) for i in range(4)]
    gone = [FrameSource(seed=200 + i, nparts=1, rows=3) for i in range(6)]
    for s in gone:
        store.persist(s)
    errors: list[BaseException] = []
    stop = threading.Event()

    def collector():
        other = PersistStore(store.path)
        try:
            while not stop.is_set():
                # default grace: on S3, grace=0 presumes the live writer dead
                other.gc()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def writer():
        other = PersistStore(store.path)
        try:
            for s in keep:
                other.persist(s)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=collector), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        for s in gone:
            store.remove(s, delfiles=False)
        threads[1].join()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    store.gc(grace=0)
    assert sorted(PersistStore(store.path)) == sorted(s.token for s in keep)
    detached = store.gc(grace=0)["detached"]
    assert sorted(u.rsplit("/", 2)[-2] for u in detached) == sorted(s.token for s in gone)
