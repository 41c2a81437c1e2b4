import os

import pytest

from intake_persist import open_catalog
from intake_persist.catalog.catalog import Catalog, YAMLFileCatalog, YAMLFilesCatalog
from intake_persist.catalog.errors import (
    CatalogError,
    CatalogSyntaxError,
    EntryError,
    ObsoleteDataSourceError,
    ValidationError,
)
from intake_persist.sources.registry import UnknownDriverError

BASIC = """
metadata:
  version: 1
  team: data
sources:
  a:
    description: first
    driver: echo
    args: {value: 1}
  b:
    driver: echo
    args: {value: '{{ CATALOG_DIR }}'}
"""


def test_open_and_list(write_cat, tmp_path):
    cat = open_catalog(write_cat(BASIC), persist_mode="never")
    assert isinstance(cat, YAMLFileCatalog)
    assert isinstance(cat, Catalog)
    assert cat.container == "catalog"
    assert list(cat) == ["a", "b"]
    assert len(cat) == 2
    assert "a" in cat and "zz" not in cat
    assert cat.metadata == {"version": 1, "team": "data"}
    # a local CATALOG_DIR ends with "/", as in intake 0.7.0
    assert cat.b.value == f"{tmp_path}/"
    # the catalog is named after its file (intake 0.7.0); no description was written
    assert cat.name == "cat" and cat.description is None


def test_pathlike_and_file_scheme(write_cat):
    path = write_cat(BASIC)
    import pathlib

    assert list(open_catalog(pathlib.Path(path))) == ["a", "b"]
    assert list(open_catalog("file://" + path)) == ["a", "b"]


def test_missing_file_names_url(tmp_path):
    url = str(tmp_path / "nope.yaml")
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        open_catalog(url)
    with pytest.raises(FileNotFoundError, match="memory://nowhere/cat.yaml"):
        open_catalog("memory://nowhere/cat.yaml")
    with pytest.raises(FileNotFoundError, match=r"nomatch\*"):
        open_catalog(str(tmp_path / "nomatch*.yaml"))


def test_list_and_glob_merge(write_cat, tmp_path):
    write_cat("sources: {x: {driver: echo, args: {value: '{{ CATALOG_DIR }}'}}}\n", "one/cat1.yaml")
    write_cat("metadata: {m: 2}\nsources: {y: {driver: echo}}\n", "two/cat2.yaml")
    cat = open_catalog(
        [str(tmp_path / "one/cat1.yaml"), str(tmp_path / "two/cat2.yaml")], persist_mode="never"
    )
    assert isinstance(cat, YAMLFilesCatalog)
    assert list(cat) == ["x", "y"]
    # as intake 0.7.0 flattens files: their metadata stays theirs; named by count
    assert cat.metadata == {}
    assert cat.name == "2 files" and cat.description == "Catalog generated from 2 files"
    # CATALOG_DIR is each file's own directory
    assert cat.x.value == f"{tmp_path / 'one'}/"
    cat = open_catalog(str(tmp_path / "*/cat*.yaml"))
    assert sorted(cat) == ["x", "y"]
    cat = open_catalog(str(tmp_path / "one"))
    assert list(cat) == ["x"]


def test_yaml_syntax_error_names_file_and_line(write_cat):
    path = write_cat("sources:\n  a:\n    driver: echo\n    args: {value: [1, 2}\n")
    with pytest.raises(CatalogSyntaxError) as info:
        open_catalog(path)
    assert path in str(info.value)
    assert "line 4" in str(info.value)
    assert info.value.line == 4
    assert isinstance(info.value, ValueError)


def test_python_tags_refused(write_cat, tmp_path):
    marker = tmp_path / "pwned"
    path = write_cat(
        "sources:\n  a:\n    driver: echo\n    args:\n"
        f"      value: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with pytest.raises(CatalogSyntaxError, match="line 5"):
        open_catalog(path)
    assert not marker.exists()


def test_missing_sources_names_file(write_cat):
    path = write_cat("metadata: {a: 1}\n")
    with pytest.raises(CatalogError, match="has no 'sources' key") as info:
        open_catalog(path)
    assert path in str(info.value)
    with pytest.raises(CatalogError, match="is empty"):
        open_catalog(write_cat("", "empty.yaml"))


def test_entry_without_driver_names_file_line_entry(write_cat):
    path = write_cat("sources:\n  good:\n    driver: echo\n  bad:\n    args: {value: 1}\n")
    with pytest.raises(EntryError) as info:
        open_catalog(path)
    msg = str(info.value)
    assert path in msg and "line 4" in msg and "'bad'" in msg and "driver" in msg
    assert info.value.entry == "bad" and info.value.line == 4


def test_entry_not_a_mapping(write_cat):
    path = write_cat("sources:\n  good:\n    driver: echo\n  bad: just a string\n")
    with pytest.raises(EntryError, match=r"line 4: entry 'bad' must be a mapping"):
        open_catalog(path)


def test_unknown_driver_fails_only_on_use(write_cat):
    cat = open_catalog(
        write_cat(
            "sources:\n  ok: {driver: echo}\n  odd: {driver: no_such_driver, args: {a: 1}}\n"
        ),
        persist_mode="never",
    )
    assert list(cat) == ["ok", "odd"]
    assert cat.get_entry("odd").describe()["container"] is None
    with pytest.raises(UnknownDriverError) as info:
        _ = cat.odd
    assert "no_such_driver" in str(info.value) and "csv" in str(info.value)
    assert cat.ok.read() == [{"value": None, "other": None}]
    # in the default mode too, the error comes as soon as the entry is used
    with pytest.raises(UnknownDriverError):
        _ = cat(persist_mode="default").odd


def test_real_world_sections_do_not_stop_opening(write_cat):
    cat = open_catalog(
        write_cat("""
        plugins:
          source:
            - module: intake_xarray
        name: old
        version: 1
        something_unknown: [1, 2]
        sources:
          cached:
            driver: intake.source.csv.CSVSource
            args: {urlpath: '{{ CATALOG_DIR }}/a.csv'}
            cache:
              - argkey: urlpath
                regex: 'data'
                type: file
            direct_access: allow
            whatever: 3
          mapped:
            driver:
              csv:
                class: intake.source.csv.CSVSource
            args: {urlpath: x.csv}
          listed:
            driver: [not_a_real_one, csv]
            args: {urlpath: x.csv}
          by_class:
            driver: {mine: {class: intake.source.csv.CSVSource}}
            args: {urlpath: x.csv}
    """)
    )
    assert list(cat) == ["cached", "mapped", "listed", "by_class"]
    assert cat.get_entry("mapped").driver == "csv"
    assert cat.get_entry("listed").driver == "csv"
    assert cat.get_entry("by_class").driver == "intake.source.csv.CSVSource"
    for name in cat:
        assert cat.get_entry(name).describe()["container"] == "dataframe"
    src = cat.get_entry("cached")(persist_mode="never")
    assert type(src).__name__ == "CSVSource"
    assert "cache" not in src._init_kwargs


def test_plugins_dir_is_refused(write_cat):
    # intake 0.7.0 no longer loads plugins from a directory of scripts, and says so
    path = write_cat("""
        plugins:
          source:
            - dir: '{{ CATALOG_DIR }}/plugins'
        sources: {a: {driver: echo}}
    """)
    with pytest.raises(ValidationError, match="no longer supported") as info:
        open_catalog(path)
    assert info.value.line == 3 and path in str(info.value)


def test_old_list_layout(write_cat):
    # refused as intake 0.7.0 refuses it, showing the rewrite
    with pytest.raises(ObsoleteDataSourceError, match="old list syntax") as info:
        open_catalog(write_cat("sources:\n  - name: a\n    driver: echo\n"))
    assert "sources:\n  abc:\n    driver: csv" in str(info.value)
    assert info.value.line == 1


def test_null_sources_is_refused(write_cat):
    with pytest.raises(ValidationError, match="'sources' must be a mapping of entries, got null"):
        open_catalog(write_cat("sources:\n"))
    assert list(open_catalog(write_cat("sources: {}\n", "empty.yaml"))) == []


def test_catalog_yaml_and_describe(write_cat):
    path = write_cat(BASIC)
    cat = open_catalog(path)
    d = cat.describe()
    assert d["container"] == "catalog" and d["args"] == {"path": path}
    assert d["entries"] == ["a", "b"]
    text = cat.yaml()
    assert path in text and "YAMLFileCatalog" in text


def test_reopen_from_catalog_yaml(write_cat, tmp_path):
    cat = open_catalog(write_cat(BASIC))
    (tmp_path / "meta.yaml").write_text(cat.yaml())
    outer = open_catalog(str(tmp_path / "meta.yaml"), persist_mode="never")
    (name,) = list(outer)
    assert list(outer[name]) == ["a", "b"]


def test_memory_filesystem_catalog():
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/ipcat/sub/cat.yaml", BASIC.encode())
    fs.pipe("/ipcat/sub/other.yaml", b"sources: {c: {driver: echo}}\n")
    try:
        cat = open_catalog("memory://ipcat/sub/cat.yaml", persist_mode="never")
        assert list(cat) == ["a", "b"]
        # a remote CATALOG_DIR is the parent URL as the filesystem gives it, no "/"
        assert cat.b.value == "memory:///ipcat/sub"
        cat = open_catalog("memory://ipcat/sub/*.yaml", persist_mode="never")
        assert sorted(cat) == ["a", "b", "c"]
    finally:
        fs.rm("/ipcat", recursive=True)


def test_bad_urlpath_type():
    with pytest.raises(TypeError):
        open_catalog(3)


def test_local_open_stays_light(write_cat, tmp_path):
    """Opening a local catalog and getting a csv entry imports no fsspec/jinja2/pandas/dask."""
    import subprocess
    import sys

    path = write_cat("""
        sources:
          t:
            driver: csv
            args: {urlpath: '{{ CATALOG_DIR }}/t_{{ year }}.csv'}
            parameters: {year: {type: int, default: 2020}}
    """)
    code = (
        "import sys, intake_persist\n"
        f"cat = intake_persist.open_catalog({path!r}, persist_mode='never')\n"
        "list(cat); cat.get_entry('t').describe(); src = cat.t\n"
        "assert src.token_args['urlpath'].endswith('t_2020.csv'), src.token_args\n"
        "print([m for m in ('fsspec', 'jinja2', 'pandas', 'dask') if m in sys.modules])\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
