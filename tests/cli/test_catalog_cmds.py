"""``catalog`` and ``export``: reading catalogs from the command line."""

from __future__ import annotations

import textwrap


def test_catalog_lists_entries_with_nested_ones(cli, catalog):
    r = cli("catalog", catalog)
    assert r.code == 0, r
    for name in ("trips", "logs", "sub", "sub.points"):
        assert name in r.out
    assert "taxi trips for one year" in r.out
    assert "year" in r.out  # the parameter column


def test_catalog_json(cli, catalog):
    r = cli("catalog", catalog, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["catalog"] == str(catalog)
    by_name = {e["name"]: e for e in doc["entries"]}
    assert list(by_name) == ["trips", "logs", "sub", "sub.points"]
    assert by_name["trips"]["container"] == "dataframe"
    assert by_name["trips"]["parameters"] == ["year"]
    assert by_name["trips"]["driver"] == "csv"
    assert by_name["sub"]["container"] == "catalog"
    assert by_name["sub.points"]["description"] == "points of a parabola"
    assert all(e["error"] is None for e in doc["entries"])


def test_catalog_describe_entry(cli, catalog):
    r = cli("catalog", catalog, "trips")
    assert r.code == 0, r
    assert "{{ CATALOG_DIR }}/trips_{{ year }}.csv" in r.out  # args as written
    assert "which year" in r.out and "int" in r.out
    r = cli("catalog", catalog, "trips", "--json")
    desc = r.json()
    assert desc["name"] == "trips"
    assert desc["args"]["urlpath"] == "{{ CATALOG_DIR }}/trips_{{ year }}.csv"
    assert desc["metadata"] == {"owner": "data-team"}
    (param,) = desc["user_parameters"]
    assert param["name"] == "year" and param["default"] == 2020 and param["max"] == 2021


def test_catalog_describe_nested_entry(cli, catalog):
    r = cli("catalog", catalog, "sub.points", "--json")
    assert r.code == 0, r
    assert r.json()["description"] == "points of a parabola"


def test_catalog_unknown_entry(cli, catalog):
    r = cli("catalog", catalog, "nope")
    assert r.code == 1
    assert r.err.startswith("intake-persist: error:")
    assert "nope" in r.err and "trips" in r.err
    assert "Traceback" not in r.err
    assert r.out == ""


def test_catalog_missing_file(cli, tmp_path):
    r = cli("catalog", tmp_path / "missing.yaml")
    assert r.code == 1
    assert r.err.count("\n") == 1 and "missing.yaml" in r.err
    assert "Traceback" not in r.err


def test_catalog_bad_yaml_names_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  a:\n    driver: csv\n    args: [unclosed\n")
    r = cli("catalog", bad)
    assert r.code == 1
    assert "bad.yaml" in r.err and "line" in r.err
    assert r.err.count("\n") == 1


def test_catalog_without_sources(cli, tmp_path):
    bad = tmp_path / "nosources.yaml"
    bad.write_text("metadata: {}\n")
    r = cli("catalog", bad, "--json")
    assert r.code == 1 and r.out == ""
    assert "sources" in r.err


def test_verbose_shows_traceback(cli, tmp_path):
    r = cli("-v", "catalog", tmp_path / "missing.yaml")
    assert r.code == 1
    assert "Traceback" in r.err
    assert "intake-persist: error:" in r.err


def test_catalog_unknown_driver_listed_with_error(cli, tmp_path):
    cat = tmp_path / "odd.yaml"
    cat.write_text(
        textwrap.dedent(
            """\
            sources:
              odd:
                driver: no_such_driver
                args: {}
            """
        )
    )
    r = cli("catalog", cat, "--json")
    assert r.code == 0, r
    (entry,) = r.json()["entries"]
    assert entry["name"] == "odd" and entry["driver"] == "no_such_driver"
    assert entry["container"] is None


def test_export_writes_copy_and_prints_yaml(cli, catalog, tmp_path, store_path):
    dest = tmp_path / "exported"
    r = cli("export", catalog, "trips", dest, "-p", "year=2021")
    assert r.code == 0, r
    assert "sources:" in r.out
    assert dest.exists()
    assert not (store_path / "cat.yaml").exists()  # the store is not touched
    # the YAML is a catalog that reads the same data
    snippet = tmp_path / "exported.yaml"
    snippet.write_text(r.out)
    listed = cli("catalog", snippet, "--json")
    assert listed.code == 0, listed
    (entry,) = listed.json()["entries"]
    assert entry["container"] == "dataframe"


def test_export_json(cli, catalog, tmp_path):
    dest = tmp_path / "logs-copy"
    r = cli("export", catalog, "logs", dest, "--json", "-o", tmp_path / "logs.yaml")
    assert r.code == 0, r
    doc = r.json()
    assert doc["entry"] == "logs" and doc["path"] == str(dest)
    assert "sources:" in doc["yaml"]
    assert (tmp_path / "logs.yaml").read_text() == doc["yaml"]


def test_export_nested_entry(cli, catalog, tmp_path):
    r = cli("export", catalog, "sub.points", tmp_path / "points-copy", "--json")
    assert r.code == 0, r


def test_export_bad_parameter(cli, catalog, tmp_path):
    r = cli("export", catalog, "trips", tmp_path / "x", "-p", "year=1999")
    assert r.code == 1
    assert "year" in r.err and "1999" in r.err
    assert not (tmp_path / "x").exists()


def test_export_a_catalog_is_refused(cli, catalog, tmp_path):
    r = cli("export", catalog, "sub", tmp_path / "x")
    assert r.code == 1
    assert "catalog" in r.err


def test_export_into_a_non_empty_folder_needs_overwrite(cli, catalog, tmp_path):
    dest = tmp_path / "mine"
    (dest / "sub").mkdir(parents=True)
    (dest / "notes.txt").write_text("keep me")
    (dest / "sub" / "x.csv").write_text("a\n1\n")
    (tmp_path / "mine-too.txt").write_text("neighbour")
    r = cli("export", catalog, "logs", dest)
    assert r.code == 1
    assert str(dest) in r.err and "--overwrite" in r.err
    assert (dest / "notes.txt").read_text() == "keep me"
    assert (dest / "sub" / "x.csv").read_text() == "a\n1\n"
    r = cli("export", catalog, "logs", dest, "--overwrite", "--json")
    assert r.code == 0, r
    assert sorted(p.name for p in dest.iterdir()) == ["part.00000.jsonl"]
    assert (tmp_path / "mine-too.txt").read_text() == "neighbour"


def test_export_output_file_is_not_replaced_without_overwrite(cli, catalog, tmp_path):
    out = tmp_path / "mine.yaml"
    out.write_text("my own catalog\n")
    r = cli("export", catalog, "logs", tmp_path / "copy", "-o", out)
    assert r.code == 1
    assert str(out) in r.err and "--overwrite" in r.err
    assert out.read_text() == "my own catalog\n"
    assert not (tmp_path / "copy").exists()  # refused before writing anything
    r = cli("export", catalog, "logs", tmp_path / "copy", "-o", out, "--overwrite")
    assert r.code == 0, r
    assert "exported copy of logs" in out.read_text()
