"""Every intake 0.x derived driver, on a catalog of our own: opened, described and
read as intake catalogs expect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from derived_lab import TRIPS, ZONES

from intake_persist.errors import (
    CatalogError,
    MissingTargetError,
    PipelineStepError,
    TargetError,
)
from intake_persist.sources.derived import AliasSource, DataFrameTransform

CATALOG = """
sources:
  trips:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}trips.csv'}
  zones:
    driver: intake.source.csv.CSVSource
    args: {urlpath: '{{ CATALOG_DIR }}zones.csv'}
  arr:
    driver: numpy
    args: {path: '{{ CATALOG_DIR }}arr.npy'}
  trips_alias:
    driver: alias
    args: {target: trips}
  chosen:
    driver: intake.source.derived.AliasSource
    args:
      target: '{{ which }}'
      mapping: {table: trips, array: arr}
    parameters:
      which: {description: which source, type: str, default: table, allowed: [table, array]}
  cleaned:
    driver: intake.source.derived.DataFrameTransform
    args: {targets: [trips], transform: MOD.clean, transform_kwargs: {factor: 10}}
  tagged:
    driver: intake.source.derived.GenericTransform
    args: {targets: [trips], transform: MOD.tag, transform_kwargs: {label: t}}
  name_list:
    driver: intake.source.derived.GenericTransform
    args:
      targets: [trips]
      transform: MOD.names
      transform_kwargs: {}
      container: python
      allow_dask: false
  some_columns:
    driver: intake.source.derived.Columns
    args: {targets: [trips], columns: [city, fare]}
  by_zone:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [cleaned, zones]
      steps:
        - {method: merge, kwargs: {right: zones, left_on: city, right_on: city}}
        - {method: query, kwargs: {expr: 'fare > 15'}}
        - {method: groupby, kwargs: {by: zone}}
        - {method: cols, kwargs: {columns: [fare]}}
        - {method: sum}
  lower_names:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [trips]
      steps:
        - {method: cols, kwargs: {columns: name}}
        - {method: str.lower}
  steps_misc:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [trips, zones]
      steps:
        - {method: MOD.tag, kwargs: {label: x}}
        - {method: assign, kwargs: {one: 1}}
        - {method: dropna}
        - {method: cols, kwargs: {columns: fare}}
        - {method: apply, kwargs: {func: MOD.add_one}}
  gone:
    driver: csv
    args: {urlpath: '{{ CATALOG_DIR }}gone.csv'}
  fallback:
    driver: intake.source.derived.DataFrameTransform
    args:
      targets: [gone, trips]
      target_chooser: first_discoverable
      transform: copy.copy
  no_fallback:
    driver: intake.source.derived.GenericTransform
    args:
      targets: [gone]
      target_chooser: intake.source.derived.first_discoverable
      transform: copy.copy
  zone_names:
    driver: columns
    args: {targets: [zones], columns: [zone]}
  joined:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [trips, zone_names]
      steps:
        - {method: join, kwargs: {other: zone_names, how: inner}}
  stacked:
    driver: intake.source.derived.DataFramePipeline
    args:
      targets: [trips, zones]
      steps:
        - {method: concat, kwargs: {dfs: [zones, zones]}}
"""


@pytest.fixture
def cat(lab):
    np.save(lab.root / "arr.npy", np.arange(6).reshape(3, 2))
    return lab.catalog(CATALOG, persist_mode="never")


def _frame(df):
    return df.reset_index(drop=True)


def _same(a, b):
    """Equal values (dask reads strings as Arrow strings, pandas as objects)."""
    pd.testing.assert_frame_equal(_frame(a), _frame(b), check_dtype=False)


def test_alias_reads_its_target(cat):
    src = cat.trips_alias
    assert isinstance(src, AliasSource) and src.driver_name == "alias"
    assert src.container == "dataframe"
    pd.testing.assert_frame_equal(src.read(), cat.trips.read())
    assert src.discover()["npartitions"] == cat.trips.discover()["npartitions"]
    pd.testing.assert_frame_equal(src.read_partition(0), cat.trips.read_partition(0))
    assert src.to_dask().compute().shape == TRIPS.shape


def test_alias_mapping_is_chosen_by_a_parameter(cat):
    assert cat.chosen.container == "dataframe"
    pd.testing.assert_frame_equal(cat.chosen.read(), cat.trips.read())
    arr = cat.chosen(which="array")
    assert arr.container == "ndarray"
    np.testing.assert_array_equal(arr.read(), np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match="which"):
        cat.chosen(which="other")
    # a target outside the mapping, from Python
    bad = AliasSource("nope", mapping={"table": "trips"})
    bad.catalog_object = cat
    with pytest.raises(TargetError, match="'nope' is not a key of its mapping; choices: 'table'"):
        bad.read()


def test_containers_are_known_without_reading(cat, lab):
    (lab.root / "trips.csv").unlink()  # nothing can be read now
    expected = {
        "trips_alias": "dataframe",
        "cleaned": "dataframe",
        "tagged": "dataframe",  # the target's
        "name_list": "python",  # as the entry says
        "some_columns": "dataframe",
        "by_zone": "dataframe",
    }
    for name, container in expected.items():
        assert cat.get_entry(name).container == container, name
        assert cat[name].container == container, name
        assert cat.get_entry(name).describe()["container"] == container
    assert cat.get_entry("chosen").container == "dataframe"


def test_dataframe_transform(cat):
    src = cat.cleaned
    assert isinstance(src, DataFrameTransform)
    want = TRIPS.dropna(subset=["fare"]).assign(fare=lambda d: d.fare * 10)
    _same(src.read(), want)
    info = src.discover()
    assert set(info["dtype"]) == {"city", "fare", "name"} and info["dtype"]["fare"] == "float64"
    assert info["npartitions"] == src.to_dask().npartitions == 1
    _same(src.read_partition(0), want)


def test_generic_transform(cat):
    tagged = cat.tagged
    _same(tagged.read(), TRIPS.assign(label="t"))
    assert list(tagged.to_dask().compute()["label"]) == ["t"] * len(TRIPS)
    names = cat.name_list
    assert names.read() == sorted(TRIPS["name"])
    assert names.discover()["npartitions"] == 1
    with pytest.raises(ValueError, match="allow_dask=False"):
        names.to_dask()


def test_columns(cat):
    out = cat.some_columns.read()
    _same(out, TRIPS[["city", "fare"]])


def test_pipeline_merge_query_groupby(cat):
    out = cat.by_zone.read()
    cleaned = TRIPS.dropna(subset=["fare"]).assign(fare=lambda d: d.fare * 10)
    want = cleaned.merge(ZONES, on="city").query("fare > 15").groupby("zone")[["fare"]].sum()
    pd.testing.assert_frame_equal(out.sort_index(), want.sort_index(), check_index_type=False)


@pytest.mark.filterwarnings("ignore::UserWarning")  # dask guesses what apply gives
def test_pipeline_accessor_function_assign_apply_concat(cat):
    assert list(cat.lower_names.read()) == [n.lower() for n in TRIPS["name"]]
    out = cat.steps_misc.read()
    assert list(out) == [f + 1 for f in TRIPS["fare"].dropna()]
    assert len(cat.stacked.read()) == 2 * len(ZONES)


def test_pipeline_errors_name_the_step(lab, cat):
    bad = lab.catalog(
        """
        sources:
          trips: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}trips.csv'}}
          loc: {driver: intake.source.derived.DataFramePipeline,
                args: {targets: [trips], steps: [{method: loc, kwargs: {}}]}}
          missing: {driver: intake.source.derived.DataFramePipeline,
                    args: {targets: [trips], steps: [{method: merge, kwargs: {right: zones}}]}}
          failing: {driver: intake.source.derived.DataFramePipeline,
                    args: {targets: [trips],
                           steps: [{method: dropna}, {method: groupby, kwargs: {by: nope}}]}}
          no_method: {driver: intake.source.derived.DataFramePipeline,
                      args: {targets: [trips], steps: [{kwargs: {}}]}}
        """,
        name="bad.yaml",
        persist_mode="never",
    )
    with pytest.raises(PipelineStepError, match="'loc' step 1: loc and iloc are not supported"):
        bad.loc.read()
    with pytest.raises(MissingTargetError, match="step 1 \\(merge\\): 'zones' is not one of"):
        bad.missing.read()
    with pytest.raises(PipelineStepError, match="'failing' step 2 failed: groupby\\(by='nope'\\)"):
        bad.failing.read()
    with pytest.raises(CatalogError, match="no_method.*must be a mapping with a 'method'"):
        bad.no_method  # noqa: B018


def test_unknown_target_names_entry_and_target(lab):
    cat = lab.catalog(
        """
        sources:
          a: {driver: alias, args: {target: nowhere}}
        """,
        persist_mode="never",
    )
    with pytest.raises(TargetError, match="entry 'a': target 'nowhere' is not an entry of"):
        cat.a.read()
    assert cat.get_entry("a").container is None
    assert cat.get_entry("a").describe()["name"] == "a"  # still described


def test_target_in_another_catalog(lab, cat):
    other = lab.catalog(
        f"""
        sources:
          remote_trips:
            driver: alias
            args: {{target: '{lab.root / "cat.yaml"}:cleaned'}}
        """,
        name="other.yaml",
        persist_mode="never",
    )
    pd.testing.assert_frame_equal(other.remote_trips.read(), cat.cleaned.read())
    tree = other.remote_trips.describe()["lineage"]
    assert tree[0]["catalog"] == str(lab.root / "cat.yaml")
    assert tree[0]["upstream"][0]["name"] == "trips"


def test_dataframe_transform_from_python(cat):
    src = DataFrameTransform(targets=[cat.trips], transform=lambda df: df[df.fare > 2])
    assert src.read()["fare"].tolist() == [4.0, 5.0, 6.0]
    assert src.describe()["lineage"][0]["name"] == "trips"
    loose = DataFrameTransform(targets=["trips"], transform="copy.copy")
    with pytest.raises(TargetError, match="not part of a catalog"):
        loose.read()


def test_first_discoverable_chooser(cat):
    _same(cat.fallback.read(), TRIPS)
    with pytest.raises(RuntimeError, match="no target could be discovered \\(gone: "):
        cat.no_fallback.read()


def test_pipeline_join(cat):
    out = cat.joined.read()
    _same(out, TRIPS.join(ZONES[["zone"]], how="inner"))


def test_transform_paths_that_do_not_import(lab):
    (lab.root / f"{lab.mod}_broken.py").write_text("import no_such_dependency_here\n")
    cat = lab.catalog(
        f"""
        sources:
          trips: {{driver: csv, args: {{urlpath: '{{{{ CATALOG_DIR }}}}trips.csv'}}}}
          missing:
            driver: intake.source.derived.DataFrameTransform
            args: {{targets: [trips], transform: {lab.mod}.no_such_function}}
          broken:
            driver: intake.source.derived.DataFrameTransform
            args: {{targets: [trips], transform: {lab.mod}_broken.clean}}
        """,
        persist_mode="never",
    )
    with pytest.raises(ImportError, match=f"cannot import '{lab.mod}.no_such_function'"):
        cat.missing.read()
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        cat.broken.token  # noqa: B018
    assert cat.get_entry("broken").container == "dataframe"
