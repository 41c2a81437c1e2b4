"""Derived sources: tokens (upstream, arguments, code), targets read through the
catalog, lineage in describe(), persisted copies rebuilt by the store, cycles."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from derived_lab import FUNCS, TRIPS

from intake_persist.errors import CatalogError, DependencyCycleError
from intake_persist.store import get_store

FIVE = TRIPS.head(5)  # what the derived entries read: trips with n=5

CHAIN = """
sources:
  trips:
    driver: csv
    args:
      urlpath: '{{ CATALOG_DIR }}trips.csv'
      csv_kwargs: {nrows: '{{ n }}'}
    parameters:
      n: {description: rows to read, type: int, default: 100}
  cleaned:
    driver: intake.source.derived.DataFrameTransform
    args:
      targets: [trips]
      transform: MOD.clean
      transform_kwargs: {factor: 10}
      target_kwargs: {trips: {n: 5}}
  totals:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [cleaned]
      steps:
        - {method: groupby, kwargs: {by: city}}
        - {method: cols, kwargs: {columns: [fare]}}
        - {method: sum}
"""

REFORMATTED = '''
def clean(df,
          factor = 1):
    """Scale the fares (docstring edited)."""
    # a comment
    df = df.dropna(subset = ["fare"])

    return df.assign(fare = df.fare*factor)   # trailing comment


def count(data):
    return len(data)


def add_one(x):
    return x + 1


def names(df):
    return sorted(df["name"])


def tag(df, label):
    return df.assign(label=label)
'''


def _expire(key):
    get_store().index.update(
        lambda entries: entries[key]["metadata"].update(timestamp=time.time() - 10**6)
    )


def test_token_covers_code_arguments_and_upstream(lab):
    cat = lab.catalog(CHAIN, persist_mode="never")
    base, totals = cat.cleaned.token, cat.totals.token
    assert cat.cleaned.token == base  # stable

    lab.write_module(REFORMATTED)  # reformatted, comments and docstring changed
    cat = lab.catalog(CHAIN, persist_mode="never")
    assert cat.cleaned.token == base and cat.totals.token == totals

    lab.write_module(FUNCS.replace("df.fare * factor", "df.fare * factor * 2"))
    cat = lab.catalog(CHAIN, persist_mode="never")
    changed = cat.cleaned.token
    assert changed != base
    assert cat.totals.token != totals  # downstream of the change too
    pd.testing.assert_series_equal(
        cat.cleaned.read()["fare"].reset_index(drop=True),
        (FIVE.fare.dropna() * 20).reset_index(drop=True),
        check_names=False,
    )

    assert cat.cleaned(transform_kwargs={"factor": 3}).token not in (base, changed)
    assert cat.cleaned(target_kwargs={"trips": {"n": 4}}).token not in (base, changed)
    other = lab.catalog(CHAIN.replace("csv_kwargs: {nrows", "csv_kwargs: {sep: ',', nrows"),
                        name="other.yaml", persist_mode="never")
    assert other.cleaned.token != changed  # the upstream's arguments differ


def test_lineage_in_describe(lab):
    cat = lab.catalog(CHAIN, persist_mode="never")
    info = cat.totals.describe()
    assert info["container"] == "dataframe" and info["name"] == "totals"
    (cleaned,) = info["lineage"]
    assert cleaned["name"] == "cleaned" and cleaned["token"] == cat.cleaned.token
    assert cleaned["driver"] == "intake.source.derived.DataFrameTransform"
    (trips,) = cleaned["upstream"]
    assert trips["name"] == "trips" and trips["driver"] == "csv"
    assert trips["parameters"] == {"n": 5}  # as the derived entry passes it
    assert trips["token"] == cat.trips(n=5).token
    assert trips["upstream"] == []
    assert cat.cleaned.describe()["lineage"][0]["token"] == trips["token"]


def test_targets_are_read_through_the_catalog(lab):
    cat = lab.catalog(CHAIN)
    copy = cat.trips(n=5).persist(ttl=3600)
    token = cat.cleaned.token
    lab.write_csv("trips.csv", TRIPS.assign(fare=TRIPS.fare + 1000))
    # the fresh copy of the upstream is what the derived source reads
    assert cat.cleaned.read()["fare"].max() == FIVE.fare.max() * 10
    never = lab.catalog(CHAIN, persist_mode="never")
    assert never.cleaned.read()["fare"].max() == (FIVE.fare.max() + 1000) * 10
    assert never.cleaned.token == token  # a copy upstream does not change the token
    # once the copy expires, reading through the catalog refreshes it first
    _expire(copy.metadata["original_tok"])
    cat = lab.catalog(CHAIN)
    assert cat.cleaned.read()["fare"].max() == (FIVE.fare.max() + 1000) * 10
    assert not get_store().needs_refresh(copy.metadata["original_tok"])


def test_derived_copy_is_rebuilt_by_the_store(lab, tmp_path_factory, monkeypatch):
    cat = lab.catalog(CHAIN)
    copy = cat.totals.persist()
    assert copy.is_persisted and copy.container == "dataframe"
    want = cat.totals(persist_mode="never").read()
    pd.testing.assert_frame_equal(copy.read(), want, check_index_type=False)
    assert cat.totals.is_persisted  # the catalog hands back the copy
    record = copy.metadata["original_source"]["metadata"]["derived_from"]
    assert record["catalog"] == [str(lab.root / "cat.yaml")]
    assert record["upstream"] == [{"name": "cleaned", "token": cat.cleaned.token}]
    # rebuilt from the index alone, from another working directory
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    store = get_store()
    original = store.backtrack(copy.metadata["original_tok"])
    assert original.token == copy.metadata["original_tok"]
    pd.testing.assert_frame_equal(original.read(), want, check_index_type=False)


CYCLES = """
sources:
  trips: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}trips.csv'}}
  a: {driver: alias, args: {target: b}}
  b:
    driver: intake.source.derived.DataFrameTransform
    args: {targets: [c], transform: MOD.clean}
  c:
    driver: intake.source.derived.DataFramePipeline
    args: {targets: [trips, a], steps: [{method: dropna}]}
  downstream: {driver: intake.source.derived.Columns, args: {targets: [a], columns: [fare]}}
  selfish: {driver: alias, args: {target: selfish}}
  fine: {driver: alias, args: {target: trips}}
"""


def test_a_cycle_is_an_error_naming_its_entries(lab):
    cat = lab.catalog(CYCLES, persist_mode="never")
    with pytest.raises(DependencyCycleError) as info:
        cat.a.read()
    assert info.value.entries == ["a", "b", "c", "a"]
    assert "depend on each other in a cycle: a -> b -> c -> a" in str(info.value)
    assert str(lab.root / "cat.yaml") in str(info.value)
    assert isinstance(info.value, CatalogError)
    with pytest.raises(DependencyCycleError, match="a -> b -> c -> a") as info:
        cat.downstream.token  # noqa: B018  (not on the cycle, but reads it)
    assert "downstream" not in info.value.entries
    with pytest.raises(DependencyCycleError, match="selfish -> selfish"):
        cat.selfish.describe()
    with pytest.raises(DependencyCycleError):  # the default mode looks up the token
        lab.catalog(CYCLES).c.read()
    # the rest of the catalog is unaffected, and the entries can still be described
    assert cat.get_entry("a").describe()["container"] is None
    pd.testing.assert_frame_equal(cat.fine.read(), cat.trips.read())


STEPS = """
sources:
  trips:
    driver: csv
    args:
      urlpath: '{{ CATALOG_DIR }}trips.csv'
      csv_kwargs: {nrows: '{{ n }}'}
    parameters:
      n: {description: rows to read, type: int, default: 100}
  two:
    driver: alias
    args: {target: trips, kwargs: {n: 2}}
  tagged:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [trips]
      steps:
        - {method: MOD.tag, kwargs: {label: x}}
        - {method: cols, kwargs: {columns: fare}}
        - {method: apply, kwargs: {func: MOD.add_one, meta: ['fare', 'f8']}}
"""


def test_pipeline_token_covers_its_step_functions(lab):
    cat = lab.catalog(STEPS, persist_mode="never")
    base = cat.tagged.token
    lab.write_module(FUNCS.replace("def tag(df, label):", "def tag(df,\n        label):  # c"))
    assert lab.catalog(STEPS, persist_mode="never").tagged.token == base
    lab.write_module(FUNCS.replace("df.assign(label=label)", "df.assign(label=label * 2)"))
    tag_changed = lab.catalog(STEPS, persist_mode="never").tagged.token
    lab.write_module(FUNCS.replace("return x + 1", "return x + 2"))
    func_changed = lab.catalog(STEPS, persist_mode="never").tagged.token
    assert len({base, tag_changed, func_changed}) == 3


def test_alias_passes_its_kwargs_to_the_target(lab):
    cat = lab.catalog(STEPS, persist_mode="never")
    assert len(cat.two.read()) == 2
    assert cat.two.describe()["lineage"][0]["parameters"] == {"n": 2}
    assert cat.two.token != cat.two(kwargs={"n": 3}).token


def test_lineage_of_a_persisted_derived_entry(lab):
    cat = lab.catalog(CHAIN)
    cat.totals.persist()
    copy = cat.totals
    assert copy.is_persisted
    (cleaned,) = copy.describe()["lineage"]  # the entry's, through the copy
    assert cleaned["name"] == "cleaned" and cleaned["upstream"][0]["name"] == "trips"
    assert "lineage" not in cat.trips.describe()
    broken = lab.catalog(CYCLES, name="cycles.yaml", persist_mode="never")
    info = broken.get_entry("a").describe()
    assert info["name"] == "a" and "lineage" not in info and info["container"] is None
