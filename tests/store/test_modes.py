"""Every persist_mode cell, on both sides of the TTL boundary (on local disk
and on S3: the ``store`` fixture of ``conftest.py``)."""

from __future__ import annotations

import os
import time
import warnings

import pandas as pd
import pytest
from races import run_threads
from store_helpers import FrameSource, csv_source, ls, set_timestamp, write_csv

from intake_persist.store.persist_store import PersistStore


def _state(store, src, state):
    """Put ``src`` in one of the states of the table; returns its copy's version."""
    if state == "never persisted":
        return None
    copy = store.persist(src, ttl=100)
    age = 50 if state == "fresh" else 150  # either side of ttl=100
    set_timestamp(store, src.token, time.time() - age)
    return copy.metadata["version"]


STATES = ["never persisted", "fresh", "expired"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("mode", ["default", "always", "never"])
def test_mode_table(store, mode, state):
    src = FrameSource()
    vid = _state(store, src, state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = store.resolve(src, mode)
    if state == "never persisted" or mode == "never":
        assert out is src
        assert store.info(src)["version"] == vid if vid else src.token not in store
        return
    assert out.is_persisted and out.metadata["original_tok"] == src.token
    if state == "fresh" or mode == "always":
        assert out.metadata["version"] == vid  # the existing copy, stale or not
        assert store.info(src)["version"] == vid
    else:  # default + expired: re-persisted from the original
        assert out.metadata["version"] > vid
        assert store.info(src)["version"] == out.metadata["version"]
        assert not store.needs_refresh(src)
        assert out.metadata["ttl"] == 100
    pd.testing.assert_frame_equal(out.read(), src.read())


@pytest.mark.parametrize("ttl,expired", [(None, False), (0, True), (10**9, False)])
def test_ttl_extremes(store, ttl, expired):
    src = FrameSource()
    v = store.persist(src, ttl=ttl).metadata["version"]
    assert store.needs_refresh(src) is expired
    out = store.resolve(src, "default")
    assert (out.metadata["version"] != v) is expired


def test_needs_refresh_absent(store):
    assert store.needs_refresh(FrameSource())


def test_expired_default_refreshes_from_changed_original(store, tmp_path):
    path = str(tmp_path / "t.csv")
    write_csv(path, rows=40)
    src = csv_source(path)
    store.persist(src, ttl=0, compression="gzip")
    write_csv(path, rows=25, seed=3)
    fresh_src = csv_source(path)
    assert fresh_src.token == src.token
    out = store.resolve(fresh_src, "default")
    assert len(out.read()) == 25
    assert out.metadata["persist_kwargs"] == {"compression": "gzip"}
    assert store.resolve(fresh_src, "always").metadata["version"] == out.metadata["version"]


def test_expired_with_unreadable_original_returns_stale_copy(store, tmp_path):
    path = str(tmp_path / "t.csv")
    df = write_csv(path, rows=40)
    src = csv_source(path, name="tbl")
    v = store.persist(src, ttl=100).metadata["version"]
    set_timestamp(store, src.token, time.time() - 1000)
    os.unlink(path)
    with pytest.warns(RuntimeWarning, match="tbl.*expired.*could not be refreshed.*stale"):
        out = store.resolve(csv_source(path, name="tbl"), "default")
    assert out.metadata["version"] == v and out.is_persisted
    pd.testing.assert_frame_equal(out.read().reset_index(drop=True), df)
    # no leftovers of the failed attempt
    names = [n for n in ls(store, src.token) if not n.startswith(".")]
    assert sorted(names) == [v, v + ".meta.yaml"]


@pytest.mark.parametrize("mode", ["", "Default", "ALWAYS", "sometimes", None, 1, True])
def test_bad_mode(local_store, mode):
    with pytest.raises(ValueError) as err:
        local_store.resolve(FrameSource(), mode)
    msg = str(err.value)
    assert "'default', 'always', 'never'" in msg and repr(mode) in msg


def test_persisted_copy_resolves_to_itself(store):
    copy = store.persist(FrameSource(), ttl=0)
    assert store.resolve(copy, "default") is copy


def test_catalog_modes(store, tmp_path, monkeypatch):
    """Through a real catalog file (the catalog layer calls resolve on each access)."""
    monkeypatch.setenv("INTAKE_PERSIST_PATH", store.path)
    from intake_persist import open_catalog

    path = str(tmp_path / "t.csv")
    write_csv(path, rows=30)
    cat_path = tmp_path / "cat.yaml"
    cat_path.write_text(
        "sources:\n  tbl:\n    driver: csv\n    args:\n"
        "      urlpath: '{{ CATALOG_DIR }}/t.csv'\n"
    )
    cat = open_catalog(str(cat_path))
    assert not cat.tbl.is_persisted
    copy = cat.tbl.persist(ttl=100)
    assert copy.is_persisted
    assert cat.tbl.is_persisted
    assert not open_catalog(str(cat_path), persist_mode="never").tbl.is_persisted
    set_timestamp(store, copy.metadata["original_tok"], time.time() - 1000)
    v = copy.metadata["version"]
    assert open_catalog(str(cat_path), persist_mode="always").tbl.metadata["version"] == v
    refreshed = open_catalog(str(cat_path)).tbl
    assert refreshed.metadata["version"] > v


def test_concurrent_resolves_of_an_expired_copy_refresh_once(store):
    src = FrameSource(nparts=4, rows=2000)
    stale = store.persist(src, ttl=100).metadata["version"]
    set_timestamp(store, src.token, time.time() - 1000)
    results = []

    def work(_):
        results.append(PersistStore(store.path).resolve(src, "default"))

    errors = run_threads(work, 6)
    assert not errors and len(results) == 6
    (new,) = {r.metadata["version"] for r in results}  # all six got the same copy ...
    assert new != stale and new == store.info(src)["versions"][0]  # ... the one new copy
    assert not store.needs_refresh(src)


def test_unreadable_store_falls_back_to_the_original(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store should be")
    st = PersistStore(str(blocker))
    src = FrameSource()
    with pytest.warns(RuntimeWarning, match="could not be read.*using the original"):
        assert st.resolve(src, "default") is src
    assert st.resolve(src, "never") is src
