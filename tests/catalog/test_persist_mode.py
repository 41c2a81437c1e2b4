"""persist_mode as catalogs apply it, against a real store in a temporary
directory: each test checks what a user gets back (the copy or the original, which
data, which timestamp), and what the store holds afterwards.

The original CSV is rewritten after persisting, so the data read tells the copy
(old rows) from the original (new rows).
"""

from __future__ import annotations

import pickle
import warnings

import pytest

from intake_persist import PersistStore, open_catalog

OLD = "a,b\n1,x\n2,y\n"
NEW = "a,b\n7,p\n8,q\n9,r\n"
OLD_ROWS = {"a": [1, 2], "b": ["x", "y"]}
NEW_ROWS = {"a": [7, 8, 9], "b": ["p", "q", "r"]}

CAT = """
sources:
  t:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}/t.csv'}
  e:
    driver: echo
    args: {value: '{{ n }}'}
    parameters: {n: {type: int, default: 1}}
"""


@pytest.fixture
def csv_cat(write_cat, tmp_path):
    (tmp_path / "t.csv").write_text(OLD)
    return write_cat(CAT)


@pytest.fixture
def store(tmp_path):
    """The store the catalogs use (conftest points INTAKE_PERSIST_PATH here)."""
    return PersistStore(str(tmp_path / "store"))


def rows(source):
    return source.read().to_dict("list")


def record(store, source):
    """(version, timestamp) of the store's current copy of ``source``."""
    md = store.index.lookup(store.get_tok(source))["metadata"]
    return md["version"], md["timestamp"]


def rewrite_original(tmp_path):
    (tmp_path / "t.csv").write_text(NEW)


@pytest.mark.parametrize("mode", ["default", "always", "never"])
def test_never_persisted_gives_the_original(csv_cat, store, tmp_path, mode):
    cat = open_catalog(csv_cat, persist_mode=mode)
    src = cat.t
    assert not src.is_persisted and src.entry_name == "t"
    rewrite_original(tmp_path)
    assert rows(cat.t) == NEW_ROWS
    assert list(store) == []  # looking up never persists


def test_fresh_copy_by_mode(csv_cat, store, tmp_path):
    copy = open_catalog(csv_cat).t.persist()
    before = record(store, copy)
    rewrite_original(tmp_path)

    for mode in ("default", "always"):
        got = open_catalog(csv_cat, persist_mode=mode).t
        assert got.is_persisted
        assert rows(got) == OLD_ROWS
        assert (got.metadata["version"], got.metadata["timestamp"]) == before
    never = open_catalog(csv_cat, persist_mode="never").t
    assert not never.is_persisted and rows(never) == NEW_ROWS
    assert record(store, copy) == before  # nothing was re-persisted


def test_call_overrides_the_catalog_mode(csv_cat, store, tmp_path):
    copy = open_catalog(csv_cat).t.persist()
    rewrite_original(tmp_path)
    cat = open_catalog(csv_cat)  # default
    assert rows(cat.t(persist_mode="never")) == NEW_ROWS
    assert rows(cat.t(persist="never")) == NEW_ROWS
    assert rows(cat["t"](persist_mode="never")) == NEW_ROWS
    never_cat = open_catalog(csv_cat, persist_mode="never")
    assert rows(never_cat.t(persist_mode="always")) == OLD_ROWS
    assert rows(never_cat.t(persist_mode="default")) == OLD_ROWS
    assert record(store, copy)[0] == copy.metadata["version"]


def test_expired_copy_by_mode(csv_cat, store, tmp_path):
    first = open_catalog(csv_cat).t.persist(ttl=0)  # expired as soon as it is written
    v1, ts1 = record(store, first)
    assert (first.metadata["version"], first.metadata["timestamp"]) == (v1, ts1)
    rewrite_original(tmp_path)

    stale = open_catalog(csv_cat, persist_mode="always").t
    assert stale.is_persisted and rows(stale) == OLD_ROWS
    assert stale.metadata["timestamp"] == ts1
    never = open_catalog(csv_cat, persist_mode="never").t
    assert rows(never) == NEW_ROWS
    assert record(store, first) == (v1, ts1)  # neither 'always' nor 'never' re-persisted

    fresh = open_catalog(csv_cat).t  # default: re-persisted from the original
    assert fresh.is_persisted
    assert rows(fresh) == NEW_ROWS
    assert fresh.metadata["timestamp"] > ts1
    assert fresh.metadata["version"] != v1
    assert record(store, first) == (fresh.metadata["version"], fresh.metadata["timestamp"])
    assert fresh.metadata["ttl"] == 0  # the re-persist keeps the TTL it was given


def test_expired_copy_whose_original_is_gone_is_returned_stale(csv_cat, store, tmp_path):
    first = open_catalog(csv_cat).t.persist(ttl=0)
    (tmp_path / "t.csv").unlink()
    with pytest.warns(RuntimeWarning, match="could not be refreshed"):
        got = open_catalog(csv_cat).t
        assert got.is_persisted
    assert rows(got) == OLD_ROWS
    assert record(store, first) == (first.metadata["version"], first.metadata["timestamp"])


def test_calling_the_lazy_source_skips_the_catalog_mode(csv_cat, store, tmp_path):
    first = open_catalog(csv_cat).t.persist(ttl=0)
    rewrite_original(tmp_path)
    lazy = open_catalog(csv_cat).t  # default mode, expired copy: not resolved yet
    original = lazy(persist_mode="never")
    assert rows(original) == NEW_ROWS
    assert record(store, first)[0] == first.metadata["version"]  # no refresh on the way
    assert rows(lazy) == NEW_ROWS  # first real use resolves it: re-persisted
    assert lazy.is_persisted
    assert record(store, first)[0] == lazy.metadata["version"] != first.metadata["version"]


def test_calling_a_resolved_copy_goes_back_through_the_entry(csv_cat, tmp_path):
    open_catalog(csv_cat).t.persist()
    rewrite_original(tmp_path)
    copy = open_catalog(csv_cat).t
    assert copy.is_persisted and rows(copy) == OLD_ROWS
    original = copy(persist_mode="never")
    assert not original.is_persisted and rows(original) == NEW_ROWS
    again = copy()
    assert again.is_persisted and rows(again) == OLD_ROWS
    assert copy.describe()["driver"] == "csv"  # a copy handed back describes its entry


def test_pickled_lazy_source_reads_what_it_resolved_to(csv_cat, tmp_path):
    open_catalog(csv_cat).t.persist()
    rewrite_original(tmp_path)
    back = pickle.loads(pickle.dumps(open_catalog(csv_cat).t))
    assert back.is_persisted and rows(back) == OLD_ROWS
    back = pickle.loads(pickle.dumps(open_catalog(csv_cat, persist_mode="never").t))
    assert not back.is_persisted and rows(back) == NEW_ROWS


def test_parameters_select_the_copy(csv_cat, store):
    cat = open_catalog(csv_cat)
    copy = cat.e(n=2).persist()
    assert copy.read() == [{"value": 2, "other": None}]
    assert not cat.e.is_persisted  # n=1 is another source, never persisted
    assert cat.e.read() == [{"value": 1, "other": None}]
    got = cat.e(n=2)
    assert got.is_persisted and got.read() == [{"value": 2, "other": None}]
    assert got.metadata["version"] == copy.metadata["version"]
    assert list(store) == [cat.e(n=2, persist_mode="never").token]


def test_nested_catalog_inherits_and_overrides_the_mode(csv_cat, write_cat, store, tmp_path):
    parent = write_cat(
        "sources:\n  sub:\n    driver: yaml_file_cat\n"
        "    args: {path: '{{ CATALOG_DIR }}/cat.yaml'}\n",
        name="parent.yaml",
    )
    first = open_catalog(csv_cat).t.persist(ttl=0)
    rewrite_original(tmp_path)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stale = open_catalog(parent, persist_mode="always").sub.t
        assert stale.is_persisted and rows(stale) == OLD_ROWS
        assert rows(open_catalog(parent, persist_mode="always").sub(persist_mode="never").t) \
            == NEW_ROWS
        assert rows(open_catalog(parent, persist_mode="never").sub.t) == NEW_ROWS
    assert record(store, first)[0] == first.metadata["version"]

    fresh = open_catalog(parent).sub.t  # default all the way down: re-persisted
    assert fresh.is_persisted and rows(fresh) == NEW_ROWS
    assert record(store, first)[0] == fresh.metadata["version"] != first.metadata["version"]
