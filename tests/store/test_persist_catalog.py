"""Persisting a whole catalog, and ``clear`` leaving no index behind.

Real catalog files, a real store on local disk and on S3 (moto)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import yaml
from store_helpers import FrameSource, index_bytes, ls

from intake_persist import open_catalog
from intake_persist.catalog.catalog import Catalog
from intake_persist.store.persist_store import PersistStore

ONE = """
metadata: {team: one}
sources:
  trips:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}/trips_{{ year }}.csv'}
    parameters:
      year: {type: int, default: 2020, allowed: [2020, 2021]}
"""

TWO = """
parameters:
  sep: {type: str, default: ','}
sources:
  points:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}/points.csv', csv_kwargs: {sep: '{{ sep }}'}}
  sub:
    driver: yaml_file_cat
    args: {path: '{{ CATALOG_DIR }}/sub.yaml'}
"""

SUB = """
sources:
  inner:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}/points.csv'}
"""


@pytest.fixture
def two_files(tmp_path):
    """Two catalog files in different folders, each naming data beside it."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "cat.yaml").write_text(ONE)
    (a / "trips_2020.csv").write_text("id,fare\n1,10.5\n2,7.25\n")
    (a / "trips_2021.csv").write_text("id,fare\n3,1.0\n")
    (b / "cat.yaml").write_text(TWO)
    (b / "points.csv").write_text("x,y\n0,0\n1,1\n2,4\n")
    (b / "sub.yaml").write_text(SUB)
    return [str(a / "cat.yaml"), str(b / "cat.yaml")]


def _same_data(left, right):
    pd.testing.assert_frame_equal(left.read().reset_index(drop=True),
                                  right.read().reset_index(drop=True))


def test_persisted_catalog_opens_with_the_same_entries(store, two_files):
    cat = open_catalog(two_files, persist_mode="never")
    assert sorted(cat) == ["points", "sub", "trips"]
    copy = store.persist(cat, ttl=60)
    assert isinstance(copy, Catalog) and copy.container == "catalog"
    assert copy.is_persisted and copy.metadata["original_tok"] == cat.token
    assert sorted(copy) == sorted(cat)
    for name in ("trips", "points"):
        assert copy[name] == cat[name]  # same driver and args: the same token
        _same_data(copy[name], cat[name])
    # parameters travel with the entries, the file-level one included
    _same_data(copy.trips(year=2021), cat.trips(year=2021))
    assert copy.get_entry("points").user_parameters["sep"].default == ","
    _same_data(copy.points(sep=","), cat.points(sep=","))
    # a nested catalog entry still opens, from where it was
    assert list(copy.sub) == ["inner"]
    _same_data(copy.sub.inner, cat.sub.inner)
    # the copy is a file in the store: a catalog holding the entries, no template left
    md = store.info(cat)
    assert md["container"] == "catalog" and md["driver"] == "yaml_file_cat"
    doc = yaml.safe_load(store.backend.read_bytes(f"{cat.token}/{md['versions'][0]}/cat.yaml"))
    assert sorted(doc["sources"]) == ["points", "sub", "trips"]
    assert doc["metadata"] == cat.metadata == {}  # as intake: merged files keep their own
    assert "CATALOG_DIR" not in yaml.safe_dump(doc)
    # CATALOG_DIR became the folder of the file the entry came from
    assert doc["sources"]["points"]["args"]["urlpath"] == cat.points.token_args["urlpath"]
    assert cat.points.token_args["urlpath"].startswith(os.path.dirname(two_files[1]))
    # a fresh process finds it under the catalog's token, as a catalog
    again = PersistStore(store.path)[cat.token]
    assert isinstance(again, Catalog) and sorted(again) == sorted(cat)


def test_catalog_persist_method_and_backtrack(store, two_files):
    cat = open_catalog(two_files, persist_mode="never")
    copy = cat.persist(store=store)
    assert cat.token in store and sorted(copy) == sorted(cat)
    original = store.backtrack(copy)
    assert original == cat and sorted(original) == sorted(cat)
    again = store.persist(copy)  # a copy re-persists its original
    assert again.metadata["original_tok"] == cat.token and len(store) == 1


def test_catalog_from_one_file_through_a_catalog_entry(tmp_path):
    """A nested catalog reached through its entry persists like any other source."""
    (tmp_path / "points.csv").write_text("x,y\n0,0\n")
    (tmp_path / "sub.yaml").write_text(SUB)
    (tmp_path / "top.yaml").write_text(
        "sources:\n  sub:\n    driver: yaml_file_cat\n"
        "    args: {path: '{{ CATALOG_DIR }}/sub.yaml'}\n")
    store = PersistStore(str(tmp_path / "store"))
    top = open_catalog(str(tmp_path / "top.yaml"), persist_mode="never")
    copy = store.persist(top.sub)
    assert list(copy) == ["inner"]
    _same_data(copy.inner, top.sub.inner)


# ---- clear leaves no index behind -----------------------------------------------------
def test_clear_removes_index_lock_and_empty_folder(store):
    store.persist(FrameSource(seed=1))
    store.persist(FrameSource(seed=2))
    assert "cat.yaml" in ls(store)
    store.clear()
    assert ls(store) == []  # no cat.yaml, no lock, no token folder
    if store.backend.local_paths:
        assert not os.path.exists(store.path)  # the folder too: nothing else was in it
    assert len(store) == 0 and list(PersistStore(store.path)) == []
    # the store works again afterwards, with the same object
    src = FrameSource(seed=3)
    store.persist(src)
    assert list(store) == [src.token] and list(PersistStore(store.path)) == [src.token]


def test_clear_leaves_files_it_did_not_write(store):
    store.persist(FrameSource(seed=1))
    store.backend.put("notes.txt", b"mine")
    store.backend.put("data/keep.csv", b"a\n1\n")
    store.clear()
    assert ls(store) == ["data", "notes.txt"]
    assert store.backend.read_bytes("notes.txt") == b"mine"
    assert store.backend.read_bytes("data/keep.csv") == b"a\n1\n"


def test_clear_of_an_empty_store_creates_nothing(tmp_path):
    store = PersistStore(str(tmp_path / "never-used"))
    store.clear()
    assert not os.path.exists(tmp_path / "never-used")


def test_index_that_gained_an_entry_is_not_removed(store):
    """remove_if_empty keeps an index listing something (another writer's entry)."""
    src = FrameSource(seed=4)
    store.persist(src)
    assert store.index.remove_if_empty() is False
    assert src.token.encode() in index_bytes(store)
