"""What intake 0.7.0's own persistence tests expect of sources and the store,
checked through intake_persist's public API with real files and a real store."""

from __future__ import annotations

import pickle

import pytest

from intake_persist import DataSource, PersistStore, open_catalog
from intake_persist.sources.csv import CSVSource


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    return str(path)


@pytest.fixture
def write_cat(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "cat.yaml"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture
def store(tmp_path):
    return PersistStore(str(tmp_path / "store"))


# ---- sources equal and hash by token ---------------------------------------------
def test_backtracked_original_equals_the_original(csv_path, store):
    original = CSVSource(urlpath=csv_path)
    copy = original.persist(store=store)
    back = store.backtrack(copy)
    assert back is not original
    assert back == original and hash(back) == hash(original)
    assert {original, back} == {original}
    assert {original: "x"}[back] == "x"
    assert copy != original  # a copy is another source (Parquet), not its original


def test_repersisted_copy_equals_the_one_before(csv_path, store):
    original = CSVSource(urlpath=csv_path)
    first = original.persist(store=store)
    second = original.persist(store=store)
    assert first.metadata["version"] != second.metadata["version"]
    assert second == first and hash(second) == hash(first)
    assert len({first, second}) == 1
    assert store[original] == second


def test_sources_with_other_arguments_differ(csv_path, tmp_path, store):
    other = tmp_path / "u.csv"
    other.write_text("a,b\n1,x\n2,y\n")
    a, b = CSVSource(urlpath=csv_path), CSVSource(urlpath=str(other))
    assert a != b and len({a, b}) == 2
    assert a == CSVSource(urlpath=csv_path, metadata={"owner": "me"})  # metadata is not identity
    assert a.persist(store=store) != b.persist(store=store)


def test_catalog_sources_compare_with_built_ones(csv_path, write_cat):
    text = f"sources: {{t: {{driver: csv, args: {{urlpath: '{csv_path}'}}}}}}"
    cat = open_catalog(write_cat(text), persist_mode="never")
    direct = CSVSource(urlpath=csv_path)
    assert cat.t == direct and hash(cat.t) == hash(direct)
    assert direct in {cat.t: 1}


# ---- source.name is the entry's name ------------------------------------------------
CAT = """
sources:
  trips:
    driver: csv
    args: {{urlpath: '{path}'}}
"""


def test_name_of_a_catalog_source_is_its_entry(csv_path, write_cat, tmp_path):
    cat = open_catalog(write_cat(CAT.format(path=csv_path)))
    src = cat.trips
    assert src.name == "trips" and src.entry_name == "trips"
    assert src.driver_name == "csv" and src.__class__.name == "csv"
    assert cat.trips(persist_mode="never").name == "trips"
    assert pickle.loads(pickle.dumps(src)).name == "trips"
    assert list(cat[src.name].describe().items())[0] == ("name", "trips")
    assert "trips:" in src.yaml()


def test_name_of_a_built_source_is_the_driver(csv_path):
    src = CSVSource(urlpath=csv_path)
    assert src.name == "csv" and src.entry_name is None
    src.name = "mine"
    assert src.entry_name == "mine" and src.driver_name == type(src).name == "csv"


def test_copy_keeps_the_entry_name_and_stores_the_driver(csv_path, write_cat, store):
    cat = open_catalog(write_cat(CAT.format(path=csv_path)))
    copy = cat.trips.persist(store=store)
    assert copy.name == "trips"
    assert store[copy].name == "trips"
    md = store.index.lookup(copy.metadata["original_tok"])["metadata"]
    assert md["original_name"] == "trips"
    assert md["original_source"]["driver"] == "csv"
    assert store.backtrack(copy).name == "trips"


# ---- a dataframe driver that implements only read() ---------------------------------
class ReadOnlyFrame(DataSource):
    """A hand-written driver: no schema, no partitions, just read()."""

    name = "read_only_frame"
    container = "dataframe"

    def __init__(self, rows=3, metadata=None):
        super().__init__(metadata=metadata)
        self.rows = rows

    def read(self):
        import pandas as pd

        return pd.DataFrame({"a": list(range(self.rows)), "b": ["v"] * self.rows})


def test_driver_with_only_read_persists_as_one_partition(store):
    import pandas as pd

    src = ReadOnlyFrame(rows=4)
    copy = src.persist(store=store)
    assert copy.npartitions == 1
    pd.testing.assert_frame_equal(copy.read(), src.read())
    pd.testing.assert_frame_equal(copy.read_partition(0), src.read())
    assert store.backtrack(copy) == src
    pd.testing.assert_frame_equal(store.refresh(src).read(), src.read())
    assert src.discover()["npartitions"] == 1
    assert src.to_dask().compute().to_dict("list") == src.read().to_dict("list")


def test_driver_with_neither_read_nor_partitions_says_so():
    class Nothing(DataSource):
        container = "dataframe"

    with pytest.raises(NotImplementedError, match="Nothing implements neither read"):
        Nothing().discover()
