"""Persisting or exporting a persisted copy acts on its original."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from store_helpers import FrameSource

from intake_persist.store.persist_store import PersistStore


def test_copy_persist_re_persists_the_original(store):
    orig = FrameSource(nparts=2, rows=5, seed=4, metadata={"owner": "team"})
    orig.entry_name = "frames"
    first = store.persist(orig, ttl=10)
    assert first.is_persisted
    second = first.persist(ttl=3600, store=store)
    assert list(store) == [orig.token]
    md = second.metadata
    assert md["original_tok"] == orig.token and md["ttl"] == 3600
    assert md["version"] != first.metadata["version"]
    assert md["original_source"] == {"driver": "store_helpers.FrameSource",
                                     "args": {"nparts": 2, "rows": 5, "seed": 4},
                                     "description": None, "metadata": {"owner": "team"}}
    assert md["original_name"] == "frames"
    pd.testing.assert_frame_equal(second.read(), orig.read())
    # the index entry's original is the original, not a copy
    assert store.backtrack(orig.token).token == orig.token
    third = store.persist(second, ttl=None)
    assert third.metadata["ttl"] is None and list(store) == [orig.token]


def test_store_persist_of_a_copy_into_another_store(tmp_path):
    a, b = PersistStore(str(tmp_path / "a")), PersistStore(str(tmp_path / "b"))
    orig = FrameSource(nparts=1, rows=3, seed=2)
    copy_a = a.persist(orig)
    copy_b = b.persist(copy_a, ttl=60)
    assert list(b) == [orig.token] and list(a) == [orig.token]
    assert copy_b.metadata["original_source"]["driver"] == "store_helpers.FrameSource"
    assert str(tmp_path / "b") in copy_b._init_kwargs["urlpath"]
    assert a[orig.token].metadata["version"] == copy_a.metadata["version"]
    pd.testing.assert_frame_equal(copy_b.read(), orig.read())


def test_configured_store_persist_of_a_copy_twice():
    """README's ``src.persist(ttl=3600)`` run twice: the second run has a fresh copy."""
    orig = FrameSource(nparts=2, rows=4, seed=8)
    copy1 = orig.persist(ttl=3600)
    copy2 = copy1.persist(ttl=3600)
    copy3 = copy2.persist(ttl=7200)
    assert copy3.metadata["original_tok"] == orig.token
    assert copy3.metadata["ttl"] == 7200
    from intake_persist.store import get_store

    assert list(get_store()) == [orig.token]


def test_copy_without_its_original_is_a_clear_error(local_store):
    orig = FrameSource(nparts=1, rows=3)
    copy = local_store.persist(orig)
    del copy.metadata["original_source"]
    with pytest.raises(ValueError, match=f"key '{orig.token}'.*does not record its original"):
        copy.persist(store=local_store)
    with pytest.raises(ValueError, match=orig.token):
        local_store.persist(copy)


def test_export_of_a_copy_records_the_original(local_store, tmp_path):
    orig = FrameSource(nparts=2, rows=3, seed=1, metadata={"k": 1})
    orig.entry_name = "frames"
    copy = local_store.persist(orig)
    doc = yaml.safe_load(copy.export(str(tmp_path / "out")))
    (name,) = doc["sources"]
    md = doc["sources"][name]["metadata"]
    assert name == "frames"
    assert md["original_token"] == orig.token
    assert md["original_name"] == "frames"
    assert md["original_source"]["driver"] == "store_helpers.FrameSource"
    assert md["original_source"]["args"] == {"nparts": 2, "rows": 3, "seed": 1}
    assert md["original_metadata"] == {"k": 1}
