"""persist, list, show, refresh, remove, clear, gc against a real store in tmp_path."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

ENTRY_FIELDS = {
    "key",
    "name",
    "container",
    "driver",
    "size",
    "timestamp",
    "created",
    "age",
    "ttl",
    "expired",
    "state",
    "location",
}


# ---- persist ------------------------------------------------------------------------


def test_persist_everything_then_list(cli, catalog, store_path):
    r = cli("persist", catalog)
    assert r.code == 0, r
    # a table of what was persisted, and a summary line
    for name in ("trips", "logs", "sub.points"):
        assert name in r.out
    assert "Persisted 3 entries" in r.out
    assert "sub " not in r.out.replace("sub.points", "")  # the nested catalog itself: skipped
    assert (store_path / "cat.yaml").exists()

    r = cli("list")
    assert r.code == 0, r
    for word in ("TOKEN", "NAME", "SIZE", "AGE", "TTL", "STATE", "LOCATION"):
        assert word in r.out
    for name in ("trips", "logs", "points"):
        assert name in r.out
    assert "never" in r.out and "fresh" in r.out
    assert "3 entries" in r.out


def test_persist_json_summary(cli, catalog, store_path):
    r = cli("persist", catalog, "--json", "--ttl", "3600")
    assert r.code == 0, r
    doc = r.json()
    assert doc["catalog"] == str(catalog)
    assert doc["store"] == str(store_path)
    assert doc["failed"] == [] and doc["skipped"] == []
    by_entry = {p["entry"]: p for p in doc["persisted"]}
    assert set(by_entry) == {"trips", "logs", "sub.points"}
    trips = by_entry["trips"]
    assert len(trips["key"]) == 32 and trips["container"] == "dataframe"
    assert trips["ttl"] == 3600
    (vid,) = [p for p in (store_path / trips["key"]).iterdir() if p.is_dir()]
    written = sum(p.stat().st_size for p in vid.rglob("*") if p.is_file())
    assert trips["size"] == written > 0  # the bytes of the copy's files
    assert r.err == ""  # no progress bar without a terminal


def test_persist_selected_entries_with_param(cli, catalog):
    r = cli("persist", catalog, "trips", "sub.points", "-p", "year=2021", "--json")
    assert r.code == 0, r
    assert [p["entry"] for p in r.json()["persisted"]] == ["trips", "sub.points"]
    listing = cli("list", "--json").json()["entries"]
    assert sorted(e["name"] for e in listing) == ["sub.points", "trips"]
    # the parameter changed the source, so its token differs from the default one
    default = cli("persist", catalog, "trips", "--json").json()["persisted"][0]["key"]
    assert default != r.json()["persisted"][0]["key"]
    assert len(cli("list", "--json").json()["entries"]) == 3


def test_persist_bad_parameter_value(cli, catalog, store_path):
    r = cli("persist", catalog, "-p", "year=1999")
    assert r.code == 1
    assert r.err.startswith("intake-persist: error:")
    assert "year" in r.err and "1999" in r.err
    assert "Traceback" not in r.err
    assert not (store_path / "cat.yaml").exists()  # nothing written


def test_persist_uncoercible_parameter_value(cli, catalog):
    r = cli("persist", catalog, "trips", "-p", "year=twenty")
    assert r.code == 1
    assert "year" in r.err and "twenty" in r.err


def test_persist_unknown_parameter(cli, catalog):
    r = cli("persist", catalog, "logs", "-p", "year=2020")
    assert r.code == 1
    assert "year" in r.err


def test_persist_unknown_entry(cli, catalog):
    r = cli("persist", catalog, "nope", "--json")
    assert r.code == 1
    assert r.json()["persisted"] == [] and r.json()["failed"][0]["entry"] == "nope"
    assert "nope" in r.err


def test_persist_a_catalog_entry_is_refused(cli, catalog):
    r = cli("persist", catalog, "sub")
    assert r.code == 1
    assert "sub.ENTRY" in r.err


def test_persist_unreadable_catalog(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [1, 2\n")
    r = cli("persist", bad)
    assert r.code == 1
    assert "bad.yaml" in r.err
    assert r.err.count("\n") == 1
    r = cli("persist", tmp_path / "missing.yaml")
    assert r.code == 1 and "missing.yaml" in r.err


def test_persist_continues_past_a_broken_entry(cli, tmp_path, catalog):
    cat = tmp_path / "data" / "mixed.yaml"
    cat.write_text(
        textwrap.dedent(
            """\
            sources:
              good:
                driver: csv
                args: {urlpath: '{{ CATALOG_DIR }}/points.csv'}
              gone:
                driver: csv
                args: {urlpath: '{{ CATALOG_DIR }}/does-not-exist.csv'}
              odd:
                driver: no_such_driver
                args: {}
            """
        )
    )
    r = cli("persist", cat, "--json")
    assert r.code == 1
    doc = r.json()
    assert [p["entry"] for p in doc["persisted"]] == ["good"]
    assert {f["entry"] for f in doc["failed"]} == {"gone", "odd"}
    odd = next(f for f in doc["failed"] if f["entry"] == "odd")
    assert "no_such_driver" in odd["error"]
    human = cli("persist", cat)
    assert human.code == 1
    assert "Persisted 1 entry" in human.out and "2 failed" in human.out
    assert "gone" in human.err and "odd" in human.err


def test_persist_skip_fresh(cli, catalog, persisted):
    r = cli("persist", catalog, "--skip-fresh", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["persisted"] == []
    assert {s["entry"] for s in doc["skipped"]} == {"trips", "logs", "sub.points"}


# ---- list ---------------------------------------------------------------------------


def test_list_json_schema(cli, persisted, store_path):
    before = time.time()
    doc = cli("list", "--json").json()
    after = time.time()
    assert len(doc["entries"]) == 3
    assert doc["store"] == str(store_path)
    for e in doc["entries"]:
        assert set(e) == ENTRY_FIELDS
        assert e["state"] == "fresh" and e["expired"] is False
        assert e["ttl"] is None
        assert before - e["timestamp"] <= e["age"] <= after - e["timestamp"]
        assert e["created"].endswith("Z")
    assert persisted["trips"]["container"] == "dataframe"
    assert persisted["logs"]["container"] == "python"


def test_list_filters_and_sort(cli, catalog):
    assert cli("persist", catalog, "trips", "--ttl", "0", "--json").code == 0
    assert cli("persist", catalog, "logs", "sub.points", "--json").code == 0
    time.sleep(0.05)

    expired = cli("list", "--state", "expired", "--json").json()["entries"]
    assert [e["name"] for e in expired] == ["trips"]
    assert expired[0]["expired"] is True
    fresh = cli("list", "--state", "fresh", "--json").json()["entries"]
    assert sorted(e["name"] for e in fresh) == ["logs", "sub.points"]

    assert [e["name"] for e in cli("list", "--name", "t*", "--json").json()["entries"]] == ["trips"]
    assert cli("list", "--name", "zzz*", "--json").json()["entries"] == []

    by_name = [e["name"] for e in cli("list", "--sort", "name", "--json").json()["entries"]]
    assert by_name == ["logs", "sub.points", "trips"]
    assert [e["name"] for e in cli("list", "--sort", "name", "-r", "--json").json()["entries"]] == [
        "trips",
        "sub.points",
        "logs",
    ]
    by_ttl = [e["name"] for e in cli("list", "--sort", "ttl", "--json").json()["entries"]]
    assert by_ttl[0] == "trips"  # 0 before never
    by_age = cli("list", "--sort", "age", "--json").json()["entries"]
    assert [e["age"] for e in by_age] == sorted(e["age"] for e in by_age)
    assert cli("list", "--sort", "size", "--json").code == 0

    human = cli("list", "--state", "expired")
    assert "expired" in human.out and "logs" not in human.out


def test_list_empty_configured_store(cli, store_path):
    assert not store_path.exists()
    r = cli("list")
    assert r.code == 0, r
    assert "No persisted sources" in r.out
    assert cli("list", "--json").json()["entries"] == []


def test_missing_explicit_store_is_an_error(cli, tmp_path):
    missing = tmp_path / "no-such-store"
    for args in (["list"], ["gc"], ["clear", "--yes"], ["show", "abc"], ["refresh", "--all"]):
        r = cli(*args, "--store", missing)
        assert r.code == 1, r
        expected = f"no persist store at {missing} (the location does not exist)"
        assert r.err == f"intake-persist: error: {expected}\n"
    assert not missing.exists()


def test_explicit_store_option(cli, catalog, tmp_path):
    other = tmp_path / "other-store"
    r = cli("--store", other, "persist", catalog, "logs", "--json")
    assert r.code == 0, r
    assert r.json()["store"] == str(other)
    assert [e["name"] for e in cli("list", "--store", other, "--json").json()["entries"]] == [
        "logs"
    ]
    assert cli("list", "--json").json()["entries"] == []  # the configured store is untouched


# ---- show ---------------------------------------------------------------------------


def test_show_by_prefix_and_name(cli, persisted):
    key = persisted["trips"]["key"]
    r = cli("show", key[:8])
    assert r.code == 0, r
    assert key in r.out
    assert "original source" in r.out
    assert "trips" in r.out and "csv" in r.out
    doc = cli("show", key[:8], "--json").json()
    assert ENTRY_FIELDS <= set(doc)
    assert doc["key"] == key
    assert "original_source" in doc and "persist_kwargs" in doc
    assert cli("show", "trips", "--json").json()["key"] == key


def test_show_unknown_key(cli, persisted):
    r = cli("show", "ffffffffffff")
    assert r.code == 1
    assert r.err.startswith("intake-persist: error: no entry 'ffffffffffff'")
    assert "Traceback" not in r.err


def test_show_ambiguous_prefix(cli, persisted):
    r = cli("show", "")
    assert r.code == 1


# ---- refresh ------------------------------------------------------------------------


def test_refresh_needs_a_selection(cli, persisted):
    r = cli("refresh")
    assert r.code == 2
    assert "--expired" in r.err


def test_refresh_key(cli, persisted):
    key = persisted["logs"]["key"]
    before = persisted["logs"]["timestamp"]
    time.sleep(0.05)
    r = cli("refresh", key[:10], "--json")
    assert r.code == 0, r
    (item,) = r.json()["refreshed"]
    assert item["key"] == key and item["name"] == "logs"
    after = cli("show", key, "--json").json()
    assert after["timestamp"] > before
    human = cli("refresh", "logs")
    assert human.code == 0 and "Refreshed 1 entry" in human.out


def test_refresh_expired_only(cli, catalog):
    assert cli("persist", catalog, "trips", "--ttl", "0", "--json").code == 0
    assert cli("persist", catalog, "logs", "--json").code == 0
    time.sleep(0.05)
    r = cli("refresh", "--expired", "--json")
    assert r.code == 0, r
    assert [x["name"] for x in r.json()["refreshed"]] == ["trips"]
    r = cli("refresh", "--all", "--json")
    assert sorted(x["name"] for x in r.json()["refreshed"]) == ["logs", "trips"]


def test_refresh_unknown_key(cli, persisted):
    r = cli("refresh", "0000nope")
    assert r.code == 1 and "0000nope" in r.err


def test_refresh_failure_when_original_is_gone(cli, catalog, persisted):
    (catalog.parent / "logs.jsonl").unlink()
    r = cli("refresh", "logs", "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["refreshed"] == [] and doc["failed"][0]["name"] == "logs"
    assert "logs" in r.err


# ---- remove, clear, gc ------------------------------------------------------------------


def test_remove(cli, persisted):
    key = persisted["trips"]["key"]
    r = cli("remove", key[:12], "--json")
    assert r.code == 0, r
    assert r.json()["removed"] == [{"key": key, "name": "trips"}]
    names = sorted(e["name"] for e in cli("list", "--json").json()["entries"])
    assert names == ["logs", "sub.points"]
    human = cli("remove", "logs")
    assert human.code == 0 and "removed logs" in human.out


def test_remove_unknown_key_removes_nothing(cli, persisted):
    r = cli("remove", "trips", "nope")
    assert r.code == 1 and "nope" in r.err
    assert len(cli("list", "--json").json()["entries"]) == 3


def test_clear_refuses_without_tty(cli, persisted):
    r = cli("clear", input="y\n")
    assert r.code == 1
    assert "--yes" in r.err
    assert len(cli("list", "--json").json()["entries"]) == 3


def test_clear_yes(cli, persisted):
    r = cli("clear", "--yes", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["removed"] == 3 and len(doc["keys"]) == 3
    assert cli("list", "--json").json()["entries"] == []
    r = cli("clear", "--yes")
    assert r.code == 0 and "Removed 0 entries" in r.out


def test_gc(cli, persisted, store_path):
    key = persisted["trips"]["key"]
    junk = store_path / key / "20000101T000000.000000-deadbeef"
    junk.mkdir()
    (junk / "part.0.parquet").write_bytes(b"x")
    r = cli("gc", "--dry-run", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["dry_run"] is True
    assert junk.exists()
    assert str(junk.name) in json.dumps(doc)
    r = cli("gc")
    assert r.code == 0, r
    assert not junk.exists()
    assert len(cli("list", "--json").json()["entries"]) == 3
    r = cli("gc", "--json")
    assert r.json()["dry_run"] is False


def test_removed_with_keep_files_stays_removed_until_gc_delete_detached(cli, persisted,
                                                                        store_path):
    key = persisted["trips"]["key"]
    (vid,) = [p.name for p in (store_path / key).iterdir() if p.is_dir()]
    assert cli("remove", "trips", "--keep-files").code == 0
    kept = sorted(p.name for p in (store_path / key).iterdir())
    assert kept == [vid, f"{vid}.meta.yaml", f"{vid}.removed"]
    r = cli("gc", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["reindexed"] == [] and doc["removed"] == []
    assert doc["detached"] == [str(store_path / key / vid)]
    human = cli("gc")
    assert human.code == 0, human
    assert (f"kept (removed from the index; --delete-detached deletes it) "
            f"{store_path / key / vid}") in human.out
    names = sorted(e["name"] for e in cli("list", "--json").json()["entries"])
    assert names == ["logs", "sub.points"]
    assert sorted(p.name for p in (store_path / key).iterdir()) == kept
    r = cli("gc", "--delete-detached", "--json")
    assert r.code == 0, r
    assert sorted(r.json()["removed"]) == sorted(
        str(store_path / key / n) for n in kept)
    assert not (store_path / key).exists()
    assert len(cli("list", "--json").json()["entries"]) == 2


@pytest.mark.parametrize("cmd", [["list"], ["gc", "--dry-run"]])
def test_empty_configured_store_commands(cli, cmd):
    r = cli(*cmd, "--json")
    assert r.code == 0, r


def test_clear_asks_on_a_terminal(cli_env, persisted, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    def run_with_tty(answer: str):
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "intake_persist", "clear"],
                stdin=slave,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=cli_env,
                cwd=str(tmp_path),
                text=True,
            )
            os.write(master, answer.encode())
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        return proc.returncode, out, err

    code, out, err = run_with_tty("n\n")
    assert code == 1
    assert "[y/N]" in err and "not confirmed" in err
    code, out, err = run_with_tty("y\n")
    assert code == 0, err
    assert "Removed 3 entries" in out


def test_verbose_logs_debug(cli, persisted):
    r = cli("-v", "list")
    assert r.code == 0, r
    assert "DEBUG" in r.err and "using store" in r.err


def test_readme_demo_on_the_example_catalog(cli):
    """``intake-persist persist catalogs/example.yaml && intake-persist list``."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "catalogs" / "example.yaml"
    assert example.exists(), example  # shipped with the project
    described = cli("catalog", example, "--json")
    assert described.code == 0, described
    expected = {e["name"] for e in described.json()["entries"] if e["container"] != "catalog"}
    assert expected

    r = cli("persist", example)
    assert r.code == 0, r
    assert f"Persisted {len(expected)} entries" in r.out
    for name in expected:
        assert name in r.out
    listing = cli("list", "--json").json()["entries"]
    assert len(listing) == len(expected)
    assert all(e["state"] == "fresh" for e in listing)
    human = cli("list")
    assert human.code == 0 and f"{len(expected)} entries" in human.out


def test_store_that_is_a_file(cli, tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    r = cli("list", "--store", f)
    assert r.code == 1
    assert r.err == f"intake-persist: error: the persist store {f} is not a directory\n"


def test_options_after_the_command(cli, persisted):
    r = cli("list", "-v", "--json")
    assert r.code == 0, r
    assert "DEBUG" in r.err
    assert len(r.json()["entries"]) == 3


def test_human_gc_and_show_output(cli, persisted, store_path):
    key = persisted["sub.points"]["key"]
    junk = store_path / key / "20000101T000000.000000-deadbeef"
    junk.mkdir()
    r = cli("gc", "--dry-run")
    assert r.code == 0, r
    assert f"would remove {junk}" in r.out
    assert "1 removed" in r.out
    r = cli("gc")
    assert f"removed {junk}" in r.out
    r = cli("gc")
    assert "nothing to do" in r.out
    r = cli("show", "sub.points")
    assert r.code == 0, r
    assert "original source" in r.out and "points.csv" in r.out
    assert "never" in r.out and "fresh" in r.out


def test_main_in_process_returns_exit_code(tmp_path, capsys):
    from intake_persist.cli import main

    assert main(["catalog", str(tmp_path / "missing.yaml")]) == 1
    assert "intake-persist: error:" in capsys.readouterr().err


def test_persist_reports_a_broken_nested_catalog(cli, catalog):
    (catalog.parent / "sub.yaml").unlink()
    r = cli("persist", catalog, "--json")
    assert r.code == 1
    doc = r.json()
    assert {p["entry"] for p in doc["persisted"]} == {"trips", "logs"}
    (failure,) = doc["failed"]
    assert failure["entry"] == "sub.*" and "sub.yaml" in failure["error"]
    listed = cli("catalog", catalog, "--json")
    assert listed.code == 0
    broken = [e for e in listed.json()["entries"] if e["error"]]
    assert [e["name"] for e in broken] == ["sub.*"]


def test_gc_grace(cli, persisted, store_path):
    """A refreshed copy is retired, not deleted: gc keeps it for the grace period,
    ``gc --grace 0`` deletes it now."""
    key = persisted["logs"]["key"]
    (old,) = [p.name for p in (store_path / key).iterdir() if p.is_dir()]
    assert cli("refresh", "logs").code == 0
    assert (store_path / key / f"{old}.retired").exists()
    r = cli("gc", "--json")
    assert r.code == 0, r
    assert r.json()["removed"] == [] and (store_path / key / old).exists()
    r = cli("gc", "--grace", "0", "--json")
    assert r.code == 0, r
    assert str(store_path / key / old) in r.json()["removed"]
    assert not (store_path / key / old).exists()
    assert len(cli("list", "--json").json()["entries"]) == 3
    bad = cli("gc", "--grace", "-5")
    assert bad.code == 2 and "'-5'" in bad.err
