"""``versions KEY``, ``show KEY --as-of TIME`` and ``gc --keep N``."""

from __future__ import annotations

import pytest

from intake_persist import open_catalog
from intake_persist.store.persist_store import PersistStore
from intake_persist.store.versions import iso


@pytest.fixture
def three_copies(catalog, store_path, monkeypatch):
    """The ``logs`` entry persisted three times (keep=3); its copies, oldest first."""
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(store_path))
    cat = open_catalog(str(catalog))
    return [cat.logs.persist(keep=3, ttl=600) for _ in range(3)]


def test_versions_lists_the_copies(cli, three_copies, store_path):
    key = three_copies[0].metadata["original_tok"]
    doc = cli("versions", "logs", "--json").json()
    assert doc["key"] == key and doc["name"] == "logs"
    rows = doc["versions"]
    assert [r["version"] for r in rows] == [c.metadata["version"] for c in three_copies[::-1]]
    assert [r["current"] for r in rows] == [True, False, False]
    assert rows[2]["created"] == iso(three_copies[0].metadata["timestamp"])
    assert rows[0]["location"] == f"{store_path}/{key}/{rows[0]['version']}"
    assert rows[0]["size"] > 0 and rows[0]["ttl"] == 600 and rows[0]["keep"] == 3
    table = cli("versions", key[:6])
    assert table.code == 0, table
    lines = table.out.splitlines()
    assert lines[0].split()[:3] == ["VERSION", "CREATED", "SIZE"]
    assert rows[0]["version"] in lines[2] and "current" in lines[2]
    assert rows[2]["version"] in lines[4] and "current" not in lines[4]
    assert "3 kept copies of logs" in table.out


def test_show_as_of(cli, three_copies):
    middle = three_copies[1].metadata
    doc = cli("show", "logs", "--as-of", iso(middle["timestamp"]), "--json").json()
    assert doc["version"] == middle["version"] and doc["current"] is False
    assert doc["as_of"] == iso(middle["timestamp"])
    just_before = iso(middle["timestamp"] - 1e-6)
    doc = cli("show", "logs", "--as-of", just_before, "--json").json()
    assert doc["version"] == three_copies[0].metadata["version"]
    r = cli("show", "logs", "--as-of", "2001-01-01")
    assert r.code == 1 and "Traceback" not in r.err
    oldest = iso(three_copies[0].metadata["timestamp"])
    assert f"made at or before 2001-01-01T00:00:00Z: the oldest kept copy was made at " \
           f"{oldest}" in r.err
    r = cli("show", "logs", "--as-of", "last tuesday")
    assert r.code == 2 and "--as-of" in r.err and "'last tuesday'" in r.err


def test_gc_keep(cli, three_copies, store_path):
    key = three_copies[0].metadata["original_tok"]
    vids = [c.metadata["version"] for c in three_copies]
    dry = cli("gc", "--keep", "1", "--dry-run", "--json").json()
    assert sorted(dry["retired"]) == sorted(f"{store_path}/{key}/{v}" for v in vids[:2])
    assert len(PersistStore(str(store_path)).versions(key)) == 3  # nothing changed
    done = cli("gc", "--keep", "2", "--grace", "0", "--json").json()
    assert done["retired"] == [f"{store_path}/{key}/{vids[0]}"]
    assert f"{store_path}/{key}/{vids[0]}" in done["removed"]  # no grace: deleted now
    assert [v.vid for v in PersistStore(str(store_path)).versions(key)] == vids[:0:-1]
    assert not (store_path / key / vids[0]).exists() and (store_path / key / vids[1]).exists()
    r = cli("gc", "--keep", "0")
    assert r.code == 2 and "--keep" in r.err and "'0'" in r.err
