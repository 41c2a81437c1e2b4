"""A copy outlives its readers: copies taken out of the index are retired
and deleted only after the grace period; a reader whose copy is gone anyway reads
the index's current copy or the original, or fails with CopyGoneError naming the
store, the entry and the key. Every test runs on local disk and on S3 (moto)."""

from __future__ import annotations

import json
import os
import pickle
import time

import numpy as np
import pandas as pd
import pytest
from store_helpers import ArraySource, FrameSource, ItemsSource, csv_source, exists, ls, write_csv

from intake_persist import config
from intake_persist.errors import CopyGoneError, IntakePersistError
from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore

SOURCES = {
    "dataframe": lambda: FrameSource(nparts=3, rows=10, seed=41),
    "ndarray": lambda: ArraySource(nparts=3, rows=4, seed=42),
    "python": lambda: ItemsSource(nparts=2, n=5),
}


def same(container: str, got, want) -> None:
    if container == "dataframe":
        pd.testing.assert_frame_equal(got, want)
    elif container == "ndarray":
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    else:
        assert list(got) == list(want)


def vid_of(copy) -> str:
    return copy.metadata["version"]


def gone(store, copy) -> bool:
    token = copy.metadata["original_tok"]
    return not exists(store, layout.meta_rel(token, vid_of(copy)))


# ---------------------------------------------------------------- grace period


@pytest.mark.parametrize("how", ["re-persist", "refresh", "keep", "gc"])
def test_copies_out_of_the_index_stay_until_the_grace_is_over(store, how):
    src = FrameSource(nparts=2, rows=5, seed=1)
    first = store.persist(src, keep=2 if how == "keep" else 1)
    token = src.token
    if how == "re-persist":
        store.persist(src)
    elif how == "refresh":
        store.refresh(token)
    elif how == "keep":
        store.persist(src, keep=2)
        store.persist(src, keep=2)  # the first copy falls out of the newest two
    else:  # the index lists only the newer copy: gc retires the other one
        store.persist(src)
        store.backend.rm(layout.retired_rel(token, vid_of(first)))
        report = store.gc()
        assert report["retired"] == [store.backend.url(layout.data_rel(token, vid_of(first)))]
    assert vid_of(first) not in store.info(token)["versions"]
    names = ls(store, token)
    assert f"{vid_of(first)}.retired" in names and vid_of(first) in names
    same("dataframe", first.read(), src.read())  # its reader finishes
    assert store.gc()["removed"] == []  # default grace: 300 s
    # the retirement recorded 301 s ago: gc with the default grace deletes it
    store.backend.put(layout.retired_rel(token, vid_of(first)),
                      json.dumps({"retired": time.time() - 301}).encode())
    report = store.gc()
    assert report["removed"] == [store.backend.url(f"{token}/{vid_of(first)}{s}")
                                 for s in (".meta.yaml", "", ".retired")]
    assert vid_of(first) not in ls(store, token)
    same("dataframe", store[token].read(), src.read())


def test_grace_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("INTAKE_PERSIST_GRACE", raising=False)
    assert config.persist_grace() == 300
    (tmp_path / "conf").mkdir()
    monkeypatch.setenv("INTAKE_CONF_DIR", str(tmp_path / "conf"))
    (tmp_path / "conf" / "conf.yaml").write_text("persist_grace: 42\n")
    assert config.persist_grace() == 42
    assert PersistStore(str(tmp_path / "s")).grace == 42
    monkeypatch.setenv("INTAKE_PERSIST_GRACE", "7.5")
    assert PersistStore(str(tmp_path / "s")).grace == 7.5
    assert PersistStore(str(tmp_path / "s"), grace=0).grace == 0
    monkeypatch.setenv("INTAKE_PERSIST_GRACE", "soon")
    with pytest.raises(ValueError, match="INTAKE_PERSIST_GRACE.*'soon'"):
        config.persist_grace()
    monkeypatch.delenv("INTAKE_PERSIST_GRACE")
    (tmp_path / "conf" / "conf.yaml").write_text("persist_grace: -1\n")
    with pytest.raises(ValueError, match="persist_grace in .*conf.yaml.*-1"):
        config.persist_grace()
    for bad in (-1, "x", True):
        with pytest.raises(ValueError, match="grace must be"):
            PersistStore(str(tmp_path / "s"), grace=bad)
        with pytest.raises(ValueError, match="grace must be"):
            PersistStore(str(tmp_path / "s"), grace=0).gc(grace=bad)


def test_env_grace_zero_deletes_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("INTAKE_PERSIST_GRACE", "0")
    store = PersistStore(str(tmp_path / "s"))
    src = FrameSource(nparts=1, rows=3, seed=2)
    first = store.persist(src)
    second = store.persist(src)
    assert ls(store, src.token) == [vid_of(second), f"{vid_of(second)}.meta.yaml"]
    assert gone(store, first)


def test_rebuilt_index_leaves_retired_copies_out(store):
    src = FrameSource(nparts=1, rows=3, seed=3)
    store.persist(src, keep=1)
    second = store.persist(src, keep=1)
    store.backend.put("cat.yaml", b"# intake_persist store index (format 1)\nsources:\n")
    with pytest.warns(RuntimeWarning, match="rebuilt"):
        assert PersistStore(store.path).info(src)["versions"] == [vid_of(second)]


# ---------------------------------------------------------------- readers


@pytest.mark.parametrize("container", SOURCES)
def test_reader_whose_copy_is_deleted_reads_the_current_copy(store, container):
    src = SOURCES[container]()
    old = store.persist(src)
    old.discover()  # resolved and planned: the reader holds the old copy's layout
    new = store.persist(src)
    store.gc(grace=0)  # forced: deleted under its reader
    assert gone(store, old) and not gone(store, new)
    same(container, old.read(), src.read())
    assert vid_of(old._ip_guard.replacement) == vid_of(new)
    same(container, old.read_partition(1), src.read_partition(1))
    same(container, old.to_dask().compute(), new.to_dask().compute())


@pytest.mark.parametrize("container", SOURCES)
def test_reader_whose_entry_is_gone_reads_the_original(store, container):
    src = SOURCES[container]()
    copy = store.persist(src)
    store.remove(src)
    store.gc(grace=0)
    assert gone(store, copy)
    same(container, copy.read(), src.read())
    assert not copy._ip_guard.replacement.is_persisted


def test_dask_meta_of_an_emptied_copy(store):
    """The race of the issue: ParquetSource._dask_meta on a copy whose folder was
    emptied raised IndexError."""
    src = FrameSource(nparts=2, rows=4, seed=5)
    copy = store.persist(src)
    store.persist(src)
    store.gc(grace=0)
    current = store[src.token]
    pd.testing.assert_frame_equal(copy._dask_meta(), current._dask_meta())
    pd.testing.assert_frame_equal(copy.to_dask().compute(), current.to_dask().compute())


def test_only_the_data_deleted_by_hand(store):
    src = FrameSource(nparts=2, rows=4, seed=6)
    copy = store.persist(src)
    store.backend.rm(layout.data_rel(src.token, vid_of(copy)))  # meta stays
    # the index still lists that copy: the original is read
    pd.testing.assert_frame_equal(copy.read(), src.read())
    assert not copy._ip_guard.replacement.is_persisted


def test_zarr_copy_deleted_after_open_is_not_read_as_fill_values(store):
    src = ArraySource(nparts=3, rows=4, seed=7)
    copy = store.persist(src)
    copy._array()  # zarr opened: missing chunks would read as fill values
    store.persist(src)
    store.gc(grace=0)
    np.testing.assert_array_equal(copy.read(), src.read())
    np.testing.assert_array_equal(copy.to_dask().compute(), src.read())


def test_pickled_reader_recovers(store):
    """Sources travel to dask workers pickled: the guard goes with them."""
    src = FrameSource(nparts=2, rows=4, seed=8)
    copy = pickle.loads(pickle.dumps(store.persist(src)))
    store.persist(src)
    store.gc(grace=0)
    pd.testing.assert_frame_equal(copy.read(), src.read())


def test_nothing_to_read_fails_naming_store_entry_and_key(store, tmp_path):
    path = str(tmp_path / "t.csv")
    write_csv(path, rows=30)
    src = csv_source(path, name="trips")
    copy = store.persist(src)
    store.remove(src)
    store.gc(grace=0)
    os.remove(path)  # the original is gone too
    for call in (copy.read, lambda: copy.read_partition(0), copy._dask_meta, copy.discover):
        with pytest.raises(CopyGoneError) as info:
            call()
        err = info.value
        assert isinstance(err, IntakePersistError) and isinstance(err, FileNotFoundError)
        assert (err.store, err.entry, err.key) == (store.path, "trips", src.token)
        for part in (store.path, "'trips'", src.token):
            assert part in str(err)


def test_a_real_error_of_an_intact_copy_is_not_hidden(store):
    src = FrameSource(nparts=2, rows=4, seed=9)
    copy = store.persist(src)
    with pytest.raises(IndexError, match="out of range"):
        copy.read_partition(5)
    assert copy._ip_guard.replacement is None


def test_expired_entry_reread_as_a_fresh_copy(store):
    src = FrameSource(nparts=2, rows=4, seed=10)
    old = store.persist(src, ttl=0)  # expired at once
    store.persist(src, ttl=0)
    store.gc(grace=0)
    pd.testing.assert_frame_equal(old.read(), src.read())
    fresh = old._ip_guard.replacement
    assert fresh.is_persisted and vid_of(fresh) > vid_of(old)
    assert not gone(store, fresh)
