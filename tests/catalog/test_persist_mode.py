"""persist_mode (SPEC 6) as catalogs apply it."""

import time

import pytest

import intake_persist.store as store_mod
from intake_persist import open_catalog

CAT = """
sources:
  e:
    driver: echo
    args: {value: '{{ n }}'}
    parameters: {n: {type: int, default: 1}}
  sub:
    driver: yaml_file_cat
    args: {path: '{{ CATALOG_DIR }}/cat.yaml'}
"""


class Recorder:
    def __init__(self):
        self.calls = []

    def resolve(self, source, mode="default"):
        self.calls.append((source.entry_name, mode))
        return source


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(store_mod, "get_store", lambda: rec)
    return rec


@pytest.mark.parametrize("mode", ["default", "always"])
def test_modes_go_through_the_store(write_cat, recorder, mode):
    cat = open_catalog(write_cat(CAT), persist_mode=mode)
    assert cat.e.value == 1
    assert recorder.calls == [("e", mode)]
    cat.e(n=2)
    assert recorder.calls[-1] == ("e", mode)


def test_never_does_not_touch_the_store(write_cat, recorder):
    cat = open_catalog(write_cat(CAT), persist_mode="never")
    cat.e, cat["e"], cat.e(n=3), cat.sub.e
    assert recorder.calls == []


def test_call_overrides_catalog_mode(write_cat, recorder):
    cat = open_catalog(write_cat(CAT))
    cat.e(persist_mode="never")
    cat.e(persist="never")
    assert recorder.calls == []
    cat.e(persist_mode="always")
    assert recorder.calls == [("e", "always")]


def test_attribute_access_is_lazy(write_cat, recorder, echo_driver):
    cat = open_catalog(write_cat(CAT))
    lazy = cat.e
    assert recorder.calls == []
    assert isinstance(lazy, echo_driver)
    assert recorder.calls == [("e", "default")]
    assert lazy.value == 1 and lazy.entry_name == "e"
    assert len(recorder.calls) == 1  # resolved once
    with cat["e"] as src:
        assert src.value == 1
    from intake_persist.tokens import token_of

    assert token_of(cat.e) == cat.e(persist_mode="never").token


def test_lazy_source_pickles(write_cat, recorder):
    import pickle

    cat = open_catalog(write_cat("sources: {t: {driver: csv, args: {urlpath: a.csv}}}"))
    back = pickle.loads(pickle.dumps(cat.t))
    assert type(back).__name__ == "CSVSource"
    assert back.token == cat.t(persist_mode="never").token


def test_nested_inherit_and_override(write_cat, recorder):
    cat = open_catalog(write_cat(CAT), persist_mode="always")
    _ = cat.sub.e.value
    assert recorder.calls == [("e", "always")]
    _ = cat.sub(persist_mode="never").e
    cat.sub.sub.e(persist_mode="never")
    assert recorder.calls == [("e", "always")]


def test_calling_a_resolved_copy_goes_back_through_the_entry(write_cat, monkeypatch):
    class CopyStore:
        def resolve(self, source, mode="default"):
            if mode == "never":
                return source
            copy = type(source)(value="copy", metadata={"original_tok": source.token})
            return copy

    monkeypatch.setattr(store_mod, "get_store", lambda: CopyStore())
    cat = open_catalog(write_cat(CAT))
    copy = cat.e
    assert copy.value == "copy" and copy.is_persisted
    original = copy(persist_mode="never")
    assert original.value == 1 and not original.is_persisted


# ---- with the real store ----------------------------------------------------------
CSV_CAT = """
sources:
  t:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}/t.csv'}
"""


@pytest.fixture
def csv_cat(write_cat, tmp_path):
    pytest.importorskip("intake_persist.sources.parquet")
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    return write_cat(CSV_CAT)


def test_empty_store_gives_original(csv_cat):
    for mode in ("default", "always", "never"):
        src = open_catalog(csv_cat, persist_mode=mode).t
        assert not src.is_persisted and src.entry_name == "t"


def test_persisted_copy_by_mode(csv_cat):
    cat = open_catalog(csv_cat)
    original = cat.t
    copy = original.persist()
    assert copy.is_persisted
    assert cat.t.is_persisted
    assert open_catalog(csv_cat, persist_mode="always").t.is_persisted
    assert not open_catalog(csv_cat, persist_mode="never").t.is_persisted
    assert not cat.t(persist_mode="never").is_persisted
    assert cat.t.read().equals(original.read())
    assert cat.t.describe()["driver"] == "csv"  # describes the entry


def test_expired_copy(csv_cat):
    cat = open_catalog(csv_cat)
    first = cat.t.persist(ttl=0)
    time.sleep(0.01)
    stale = cat.t(persist_mode="always")
    assert stale.is_persisted
    assert stale.metadata["timestamp"] == first.metadata["timestamp"]
    fresh = cat.t  # default: re-persisted from the original
    assert fresh.is_persisted
    assert fresh.metadata.get("timestamp", 0) >= first.metadata.get("timestamp", 0)
