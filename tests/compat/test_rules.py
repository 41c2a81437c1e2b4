"""The rules of intake 0.7.0 that catalogs rely on (docs/compat.rst), on real files.

The golden suite (test_golden.py) compares what intake 0.7.0 and intake_persist
report; these tests check that the behaviour behind it works end to end:
paths reach their files, intake's driver arguments read data, errors say where.
"""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intake_persist import open_catalog
from intake_persist.catalog.catalog import YAMLFileCatalog, YAMLFilesCatalog
from intake_persist.errors import (
    CatalogError,
    DuplicateKeyError,
    ParameterError,
    TemplateError,
    ValidationError,
)

HERE = Path(__file__).resolve().parent
CATALOGS = HERE / "catalogs"


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


# ---- rule 4: CATALOG_DIR ---------------------------------------------------------------
CATALOG_DIR_FORMS = """
sources:
  slash: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}/data.csv'}}
  no_slash: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}data.csv'}}
  parent: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}../other/x.csv'}}
"""


def test_catalog_dir_forms_reach_the_file_locally(tmp_path):
    here = pd.DataFrame({"a": [1, 2, 3]})
    there = pd.DataFrame({"a": [7, 8]})
    (tmp_path / "cats").mkdir()
    (tmp_path / "other").mkdir()
    here.to_csv(tmp_path / "cats" / "data.csv", index=False)
    there.to_csv(tmp_path / "other" / "x.csv", index=False)
    cat = open_catalog(
        _write(tmp_path / "cats" / "cat.yaml", CATALOG_DIR_FORMS), persist_mode="never"
    )
    assert cat.get_entry("slash").catalog_dir == f"{tmp_path / 'cats'}/"
    pd.testing.assert_frame_equal(cat.slash.read(), here)
    pd.testing.assert_frame_equal(cat.no_slash.read(), here)
    pd.testing.assert_frame_equal(cat.parent.read(), there)


def test_remote_catalog_dir_has_no_trailing_slash(memfs):
    memfs.pipe("/ipcompat/cats/cat.yaml", CATALOG_DIR_FORMS.encode())
    memfs.pipe("/ipcompat/cats/data.csv", b"a\n1\n2\n")
    cat = open_catalog("memory://ipcompat/cats/cat.yaml", persist_mode="never")
    assert cat.get_entry("slash").catalog_dir == "memory:///ipcompat/cats"
    assert cat.slash.read()["a"].tolist() == [1, 2]


# ---- rule 5: env(VAR) ------------------------------------------------------------------
def test_env_unquoted_and_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("IPC_DATA", "/data/root")
    monkeypatch.delenv("IPC_NOT_SET", raising=False)
    cat = open_catalog(
        _write(
            tmp_path / "cat.yaml",
            """
            sources:
              a: {driver: textfiles, args: {urlpath: '{{env(IPC_DATA)}}/raw'}}
              b: {driver: textfiles, args: {urlpath: '{{ env(IPC_NOT_SET) }}raw'}}
              c: {driver: textfiles, args: {urlpath: '{{ env("IPC_NOT_SET", "dflt") }}'}}
            """,
        ),
        persist_mode="never",
    )
    assert cat.a.urlpath == "/data/root/raw"
    assert cat.b.urlpath == "raw"
    assert cat.c.urlpath == "dflt"


def test_undefined_name_is_refused_naming_it(tmp_path):
    cat = open_catalog(
        _write(
            tmp_path / "cat.yaml", "sources: {a: {driver: csv, args: {urlpath: '{{ nope }}'}}}\n"
        ),
        persist_mode="never",
    )
    with pytest.raises(TemplateError, match="'nope' is undefined") as info:
        _ = cat.a
    assert info.value.entry == "a"


# ---- rules 1-3: name, description, catalog parameters --------------------------------
def test_catalog_parameters_apply_to_entries_and_calls():
    cat = open_catalog(str(CATALOGS / "r3_catalog_params.yaml"), persist_mode="never")
    assert cat.name == "r3_catalog_params"
    assert cat.description == "catalog-level parameters"
    assert list(cat.user_parameters) == ["year", "region", "scale"]
    assert cat.uses_catalog_params.urlpath.endswith("/eu/trips_2020.csv")
    src = cat.uses_catalog_params(year=2021, region="us")
    assert src.urlpath.endswith("/us/trips_2021.csv")
    # the entry's own parameter of the same name wins
    assert cat.overrides_year.urlpath.endswith("/eu/trips_2011.csv")
    with pytest.raises(ParameterError, match="region"):
        cat.uses_catalog_params(region="mars")
    with pytest.raises(ParameterError, match="year"):
        cat.uses_catalog_params(year=1900)  # below min 2009


def test_calling_a_catalog_sets_its_parameters_defaults():
    cat = open_catalog(str(CATALOGS / "r3_catalog_params.yaml"), persist_mode="never")
    us = cat(region="us", year="2015")
    assert us.uses_catalog_params.urlpath.endswith("/us/trips_2015.csv")
    assert us.user_parameters["region"].describe()["default"] == "us"
    assert cat.uses_catalog_params.urlpath.endswith("/eu/trips_2020.csv")  # unchanged
    with pytest.raises(ParameterError, match="region"):
        cat(region="mars")
    nested = open_catalog(str(CATALOGS / "r3_nested_params.yaml"), persist_mode="never")
    assert nested.child(region="eu").child_leaf.urlpath.endswith("/sub/eu/leaf.csv")


def test_catalog_parameters_pass_down_to_nested_catalogs():
    cat = open_catalog(str(CATALOGS / "r3_nested_params.yaml"), persist_mode="never")
    child = cat.child
    assert child.name == "child"
    assert child.description == "nested catalog inheriting parameters"
    assert child.metadata["catalog_dir"] == f"{CATALOGS}/"
    assert "region" in child.user_parameters
    assert child.child_leaf.urlpath.endswith("/sub/us/leaf.csv")
    assert child.child_leaf(region="eu").urlpath.endswith("/sub/eu/leaf.csv")
    assert child.child_own.urlpath.endswith("/sub/own_asia.csv")  # its own wins
    extra = cat.child_with_args_params
    assert set(extra.user_parameters) == {"extra", "region"}


# ---- rule 8: invalid catalogs ------------------------------------------------------------
BAD = sorted(p for p in CATALOGS.glob("bad_*.yaml"))
OPENING = {"bad_param_no_description", "bad_param_no_type"}  # deliberate (docs/compat.rst)
NO_LINE = {"bad_empty", "bad_no_sources"}  # the whole file is the problem


# the entry each invalid catalog's error must name (None: the error is not in an entry)
ENTRY_OF = {
    "bad_args_not_mapping": "x",
    "bad_cache_not_list": "x",
    "bad_description_null": "null_description",
    "bad_direct_access": "x",
    "bad_driver_int": "x",
    "bad_dup_driver": "trips",
    "bad_dup_entry": "trips",
    "bad_dup_param": "trips",
    "bad_dup_top": None,
    "bad_empty": None,
    "bad_entry_description": "x",
    "bad_entry_metadata": "x",
    "bad_entry_name_int": "1",
    "bad_entry_no_driver": "nodriver",
    "bad_entry_not_mapping": "bad",
    "bad_mixed_containers": "mixed",
    "bad_no_sources": None,
    "bad_old_parameters": "trips",
    "bad_old_sources": None,
    "bad_param_description_type": "x",
    "bad_param_name_int": "x",
    "bad_param_not_mapping": "x",
    "bad_param_type": "x",
    "bad_parameters_not_mapping": "x",
    "bad_plugins_dir": None,
    "bad_plugins_list": None,
    "bad_plugins_no_source": None,
    "bad_plugins_source_not_list": None,
    "bad_python_tag": None,
    "bad_sources_string": None,
    "bad_top_list": None,
    "bad_yaml_syntax": None,
}


def test_every_invalid_catalog_is_listed():
    assert sorted(ENTRY_OF) == sorted(p.stem for p in BAD if p.stem not in OPENING)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_invalid_catalogs_say_where(path):
    if path.stem in OPENING:
        assert list(open_catalog(str(path)))
        return
    with pytest.raises(CatalogError) as info:
        open_catalog(str(path))
    exc = info.value
    assert isinstance(exc, ValueError)
    assert str(path) in str(exc)
    if path.stem not in NO_LINE:
        assert exc.line is not None and f"line {exc.line}" in str(exc)
    assert exc.entry == ENTRY_OF[path.stem]
    if exc.entry is not None:
        assert f"entry {exc.entry!r}" in str(exc)


def test_duplicate_entry_names_the_entry_and_both_lines():
    with pytest.raises(DuplicateKeyError) as info:
        open_catalog(str(CATALOGS / "bad_dup_entry.yaml"))
    assert info.value.entry == "trips" and info.value.line == 8
    assert "first on line 2" in str(info.value)


def test_duplicate_parameter_names_its_entry():
    with pytest.raises(DuplicateKeyError) as info:
        open_catalog(str(CATALOGS / "bad_dup_param.yaml"))
    assert info.value.entry == "trips" and "'year'" in str(info.value)


def test_merged_files_with_one_entry_name_are_refused(tmp_path):
    a = _write(tmp_path / "a.yaml", "sources: {x: {driver: csv, args: {urlpath: a.csv}}}\n")
    b = _write(tmp_path / "b.yaml", "sources: {x: {driver: csv, args: {urlpath: b.csv}}}\n")
    with pytest.raises(DuplicateKeyError, match="'x'") as info:
        open_catalog([a, b])
    assert a in str(info.value) and b in str(info.value)


def test_obsolete_syntax_shows_the_rewrite():
    with pytest.raises(ValidationError, match="abc:\n    type: str"):
        open_catalog(str(CATALOGS / "bad_old_parameters.yaml"))


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    cat = open_catalog(
        _write(
            tmp_path / "cat.yaml",
            """
            base: &base {driver: csv, args: {urlpath: a.csv}}
            sources:
              x:
                <<: *base
                driver: parquet
            """,
        ),
        persist_mode="never",
    )
    assert cat.get_entry("x").describe()["driver"] == "parquet"


# ---- rule 9: intake's driver arguments -------------------------------------------------
SIGNATURES = json.loads((HERE / "intake_drivers.json").read_text())


@pytest.mark.parametrize("classpath", sorted(SIGNATURES))
def test_every_intake_driver_argument_is_accepted_by_name(classpath):
    import inspect

    from intake_persist.sources.registry import get_driver_class

    intake = SIGNATURES[classpath]
    cls = get_driver_class(classpath)
    assert cls.container == intake["container"]
    params = inspect.signature(cls.__init__).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    missing = set(intake["arguments"]) - named
    assert not missing, f"{cls.__name__} lacks intake's {sorted(missing)}"
    if intake["var_keyword"]:
        assert any(p.kind == p.VAR_KEYWORD for p in params.values())


def test_numpy_reads_with_intake_arguments(tmp_path):
    arr = np.arange(20, dtype="int64").reshape(10, 2)
    np.save(tmp_path / "arr.npy", arr)
    cat = open_catalog(
        _write(
            tmp_path / "cat.yaml",
            """
            sources:
              a:
                driver: intake.source.npy.NPySource
                args: {path: '{{ CATALOG_DIR }}arr.npy', dtype: int64, shape: [10, 2], chunks: 5}
              wrong:
                driver: numpy
                args: {path: '{{ CATALOG_DIR }}arr.npy', dtype: float32}
            """,
        ),
        persist_mode="never",
    )
    src = cat.a
    np.testing.assert_array_equal(src.read(), arr)
    assert src.discover()["npartitions"] == 2
    with pytest.raises(ValueError, match="float32"):
        cat.wrong.read()
    with pytest.raises(TypeError, match="not both"):
        cat.get_entry("a")(urlpath=str(tmp_path / "arr.npy"))


def test_parquet_engine_fastparquet_reads_with_pyarrow(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.to_parquet(tmp_path / "x.parq")
    cat = open_catalog(
        _write(
            tmp_path / "cat.yaml",
            """
            sources:
              p:
                driver: intake_parquet.source.ParquetSource
                args: {urlpath: '{{ CATALOG_DIR }}x.parq', engine: fastparquet}
            """,
        ),
        persist_mode="never",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cat.p.read()
    assert any("fastparquet" in str(w.message) for w in caught)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), df)


def test_catalog_drivers_take_intakes_arguments(tmp_path):
    a = _write(tmp_path / "one.yaml", "sources: {x: {driver: csv, args: {urlpath: a.csv}}}\n")
    b = _write(tmp_path / "two.yml", "sources: {x: {driver: csv, args: {urlpath: b.csv}}}\n")
    # flatten=False: one nested catalog per file, named after it
    cat = YAMLFilesCatalog([a, b], flatten=False, persist_mode="never")
    assert list(cat) == ["one", "two"]
    assert cat.one.x.urlpath == "a.csv" and cat.two.x.urlpath == "b.csv"
    # text=: the YAML itself (path only names the catalog and sets CATALOG_DIR)
    text = "sources: {y: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}y.csv'}}}\n"
    cat = YAMLFileCatalog(
        str(tmp_path / "named.yaml"), text=text, autoreload=False, persist_mode="never"
    )
    assert cat.name == "named" and cat.y.urlpath == f"{tmp_path}/y.csv"


def test_a_large_catalog_without_aliases_is_not_an_alias_bomb(tmp_path, monkeypatch):
    """The alias limit counts nodes reached through aliases, not a file's own nodes:
    a big catalog that intake opens must open here too."""
    from intake_persist.catalog import limits
    from intake_persist.errors import CatalogLimitError

    monkeypatch.setattr(limits, "MAX_ALIAS_NODES", 50)
    entries = "".join(
        f"  e{i}: {{driver: csv, args: {{urlpath: f{i}.csv, storage_options: {{anon: true}}}}}}\n"
        for i in range(40)
    )
    big = _write(tmp_path / "big.yaml", "sources:\n" + entries)
    assert len(open_catalog(big)) == 40  # about 240 nodes, no alias
    bomb = _write(
        tmp_path / "bomb.yaml",
        "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
        "sources: {}\n",
    )
    with pytest.raises(CatalogLimitError):
        open_catalog(bomb)
