"""Refresh in dependency order: a three-step chain CSV -> cleaned
dataframe -> aggregate, a diamond sharing its upstream, failures that stop their
downstream only, code changes, cycles, and ``intake-persist refresh``."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from derived_lab import FUNCS, TRIPS

from intake_persist import persisted
from intake_persist.cli import main
from intake_persist.errors import DependencyCycleError, RefreshError
from intake_persist.store import get_store
from intake_persist.store.refresh import dependency_order, refresh_in_order

CATALOG = """
sources:
  trips:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}trips.csv'}
  zones:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}zones.csv'}
  cleaned:
    driver: intake.source.derived.DataFrameTransform
    args: {targets: [trips], transform: MOD.clean, transform_kwargs: {factor: 10}}
  totals:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [cleaned]
      steps:
        - {method: groupby, kwargs: {by: city}}
        - {method: cols, kwargs: {columns: [fare]}}
        - {method: sum}
  fares:
    driver: intake.source.derived.Columns
    args: {targets: [trips], columns: [city, fare]}
  both:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [cleaned, fares]
      steps:
        - {method: concat, kwargs: {dfs: [cleaned, fares]}}
"""

NEW_TRIPS = TRIPS.assign(fare=TRIPS.fare * 100)


def _totals(trips):
    cleaned = trips.dropna(subset=["fare"]).assign(fare=lambda d: d.fare * 10)
    return cleaned.groupby("city")[["fare"]].sum()


def _same_totals(got, trips):
    pd.testing.assert_frame_equal(
        got.sort_index(), _totals(trips).sort_index(), check_index_type=False
    )


def _persist(cat, *names, **kwargs):
    return {n: cat[n].persist(**kwargs).metadata["original_tok"] for n in names}


def _age(key, seconds):
    """Make the copy of ``key`` look ``seconds`` old."""
    get_store().index.update(
        lambda entries: entries[key]["metadata"].update(timestamp=time.time() - seconds)
    )


def test_three_step_chain_refreshes_upstream_first(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "trips", "cleaned", "totals", ttl=60)
    store = get_store()
    _same_totals(store[keys["totals"]].read(), TRIPS)
    lab.write_csv("trips.csv", NEW_TRIPS)
    _age(keys["trips"], 120)  # the short TTL has passed

    # alone, the aggregate re-reads its upstream's fresh copy: the old data
    _same_totals(store.refresh(keys["totals"]).read(), TRIPS)

    before = {n: store.info(k).timestamp for n, k in keys.items()}
    copy = store.refresh(keys["totals"], upstream=True)
    _same_totals(copy.read(), NEW_TRIPS)
    after = {n: store.info(k).timestamp for n, k in keys.items()}
    assert all(after[n] > before[n] for n in keys)  # each one refreshed
    assert after["trips"] < after["cleaned"] < after["totals"]  # upstream first
    assert not store.needs_refresh(keys["trips"])
    # the catalog hands back the new copies
    fresh = lab.catalog(CATALOG)
    assert fresh.totals.is_persisted
    _same_totals(fresh.totals.read(), NEW_TRIPS)


def test_a_shared_upstream_is_refreshed_once(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "trips", keep=5)
    keys.update(_persist(cat, "cleaned", "fares", "both"))
    report = refresh_in_order(get_store(), [keys["both"]], upstream=True)
    assert report.ok and len(report.order) == len(set(report.order)) == 4
    assert report.order[0] == keys["trips"] and report.order[-1] == keys["both"]
    assert set(report.order[1:3]) == {keys["cleaned"], keys["fares"]}
    assert len(get_store().versions(keys["trips"])) == 2  # one refresh, not two
    # asked for twice, by two keys sharing it: still once
    report = refresh_in_order(get_store(), [keys["cleaned"], keys["fares"]], upstream=True)
    assert report.order.count(keys["trips"]) == 1
    assert len(get_store().versions(keys["trips"])) == 3


def test_expired_entries_refresh_in_order_without_their_fresh_neighbours(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "totals", "cleaned", "trips", "zones", ttl=60)
    lab.write_csv("trips.csv", NEW_TRIPS)
    _age(keys["cleaned"], 120)
    _age(keys["trips"], 120)
    store = get_store()
    expired = [k for k in store if store.needs_refresh(k)]
    report = refresh_in_order(store, sorted(expired, reverse=True), upstream=False)
    assert report.order == [keys["trips"], keys["cleaned"]]
    pd.testing.assert_series_equal(
        store[keys["cleaned"]].read()["fare"].reset_index(drop=True),
        (NEW_TRIPS.fare.dropna() * 10).reset_index(drop=True),
        check_names=False,
    )
    _same_totals(store[keys["totals"]].read(), TRIPS)  # fresh: left alone


def test_a_failed_step_stops_its_downstream_only(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "trips", "zones", "cleaned", "totals", "fares")
    (lab.root / "trips.csv").unlink()
    store = get_store()
    report = refresh_in_order(store, list(keys.values()))
    status = {s.name: s.status for s in report.steps}
    assert status == {"trips": "failed", "zones": "refreshed", "cleaned": "skipped",
                      "totals": "skipped", "fares": "skipped"}
    assert report.step(keys["totals"]).blocked_by == keys["cleaned"]
    assert report.step(keys["cleaned"]).blocked_by == keys["trips"]
    assert isinstance(report.step(keys["trips"]).error, OSError)
    with pytest.raises(RefreshError, match="'totals'.*trips .* failed: FileNotFoundError") as info:
        store.refresh(keys["totals"], upstream=True)
    assert [s.status for s in info.value.report.steps] == ["failed", "skipped", "skipped"]
    assert not report.ok


def test_a_changed_transform_refreshes_into_new_keys(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "trips", "cleaned", "totals")
    lab.write_module(FUNCS.replace("df.fare * factor", "df.fare * factor * 2"))
    changed = lab.catalog(CATALOG)
    assert not changed.cleaned.is_persisted  # the old copy no longer matches the code
    report = refresh_in_order(get_store(), [keys["totals"]], upstream=True)
    assert report.ok
    assert report.step(keys["trips"]).new_key == keys["trips"]
    new_cleaned = report.step(keys["cleaned"]).new_key
    new_totals = report.step(keys["totals"]).new_key
    never = lab.catalog(CATALOG, persist_mode="never")
    assert new_cleaned == never.cleaned.token != keys["cleaned"]
    assert new_totals == never.totals.token != keys["totals"]
    assert lab.catalog(CATALOG).totals.is_persisted
    got = lab.catalog(CATALOG).totals.read()
    _same_totals(got, TRIPS.assign(fare=TRIPS.fare * 2))


def test_a_cycle_in_the_store_names_its_entries(lab):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "trips", "cleaned", "totals")
    loop = {"upstream": [{"name": "totals", "token": keys["totals"]}]}

    def edit(entries):  # a hand edit of the index closing the chain into a loop
        entries[keys["trips"]]["metadata"]["original_metadata"]["derived_from"] = loop

    get_store().index.update(edit)
    with pytest.raises(DependencyCycleError) as info:
        get_store().refresh(keys["totals"], upstream=True)
    assert info.value.entries == ["totals", "cleaned", "trips", "totals"]
    assert "totals -> cleaned -> trips -> totals" in str(info.value)


def test_dependency_order():
    graph = {"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": [], "x": []}
    assert dependency_order(graph, ["d"]) == ["a", "b", "c", "d"]
    assert dependency_order(graph, ["x", "c", "d"]) == ["x", "a", "c", "b", "d"]
    with pytest.raises(DependencyCycleError, match="b -> a -> b"):
        dependency_order({"a": ["b"], "b": ["a"]}, ["b"])
    with pytest.raises(DependencyCycleError, match="a -> a"):
        dependency_order({"a": ["a"]}, ["a"])


def test_cli_refresh_expired_in_order(lab, capsys):
    cat = lab.catalog(CATALOG)
    keys = _persist(cat, "totals", "cleaned", "trips", "zones", ttl=60)
    for name in ("totals", "trips"):
        _age(keys[name], 120)
    assert main(["refresh", "--expired", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in doc["refreshed"]] == ["trips", "totals"]
    assert doc["failed"] == [] and doc["skipped"] == []

    (lab.root / "trips.csv").unlink()
    assert main(["refresh", "totals", "--upstream", "--json"]) == 1
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert [f["name"] for f in doc["failed"]] == ["trips"]
    assert [(s["name"], s["blocked_by"]) for s in doc["skipped"]] == [
        ("cleaned", keys["trips"]), ("totals", keys["cleaned"])]
    assert "skipped 'totals'" in out.err


@persisted()
def dear_trips(trips):
    """A ``@persisted`` call reading a catalog source."""
    df = trips.read()
    return df[df.fare > 4].reset_index(drop=True)


def test_a_persisted_function_refreshes_after_the_sources_it_read(lab):
    cat = lab.catalog(CATALOG)
    trips_key = cat.trips.persist().metadata["original_tok"]
    assert len(dear_trips(cat.trips)) == 2
    (key,) = [k for k in get_store() if k != trips_key]
    lab.write_csv("trips.csv", NEW_TRIPS)
    report = refresh_in_order(get_store(), [key], upstream=True)
    assert report.ok and report.order == [trips_key, key]
    assert len(get_store()[key].read()) == 5  # fares * 100: all but the missing one
