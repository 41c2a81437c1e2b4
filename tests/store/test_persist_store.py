"""PersistStore: persisting, the mapping interface, refresh, backtrack, remove.

Tests taking ``store`` run on local disk and on S3 (moto): see ``conftest.py``."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from store_helpers import (
    FrameSource,
    ItemsSource,
    PartFailSource,
    array_source,
    csv_source,
    exists,
    index_bytes,
    jsonl_source,
    ls,
    put_index,
    rel_of,
    subprocess_env,
    write_csv,
    write_jsonl,
)

from intake_persist.store import get_store, reset_store
from intake_persist.store.persist_store import NotPersistedError, PersistStore

# ---------------------------------------------------------------- round trips


def test_persist_csv_round_trip(store, tmp_path):
    df = write_csv(str(tmp_path / "t.csv"), rows=300)
    src = csv_source(str(tmp_path / "t.csv"), blocksize=800)
    assert src.npartitions > 1
    copy = store.persist(src)
    assert copy.is_persisted and not src.is_persisted
    assert copy.container == "dataframe"
    pd.testing.assert_frame_equal(copy.read().reset_index(drop=True), df)
    assert src.token in store and copy in store and src in store
    assert store.get_tok(copy) == store.get_tok(src) == src.token
    assert list(store) == [src.token] and len(store) == 1
    again = store[src.token]
    assert again.is_persisted and again.metadata["original_tok"] == src.token
    # the data live under <token>/<vid>/
    md = again.metadata
    assert ls(store, src.token) == [md["version"], md["version"] + ".meta.yaml"]
    assert ls(store, f"{src.token}/{md['version']}")  # the parquet files


def test_persist_generated_frames(store):
    src = FrameSource(nparts=4, rows=7)
    copy = store.persist(src)
    pd.testing.assert_frame_equal(copy.read().reset_index(drop=True),
                                  src.read().reset_index(drop=True))
    assert copy.npartitions == 4


def test_persist_jsonl_round_trip(store, tmp_path):
    items = write_jsonl(str(tmp_path / "r.jsonl"))
    src = jsonl_source(str(tmp_path / "r.jsonl"))
    copy = store.persist(src)
    assert copy.container == "python"
    assert copy.read() == items


def test_persist_python_items(store):
    src = ItemsSource()
    assert store.persist(src).read() == src.read()


def test_persist_ndarray_round_trip(store, tmp_path):
    src, arr = array_source(str(tmp_path))
    copy = store.persist(src)
    assert copy.container == "ndarray"
    np.testing.assert_array_equal(copy.read(), arr)


def test_source_persist_uses_configured_store(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "one"))
    src = FrameSource()
    copy = src.persist(ttl=100)
    assert src.has_been_persisted and copy.is_persisted
    assert os.path.exists(tmp_path / "one" / "cat.yaml")
    # a change of INTAKE_PERSIST_PATH is honoured by get_store()
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "two"))
    assert get_store().path == str(tmp_path / "two")
    assert not src.has_been_persisted
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "one"))
    assert src.has_been_persisted
    assert get_store() is get_store()
    reset_store()


def test_conf_yaml_persist_path(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "conf.yaml").write_text(f"persist_path: {tmp_path / 'fromconf'}\n")
    monkeypatch.setenv("INTAKE_CONF_DIR", str(conf))
    monkeypatch.delenv("INTAKE_PERSIST_PATH")
    assert get_store().path == str(tmp_path / "fromconf")
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "env"))
    assert get_store().path == str(tmp_path / "env")
    monkeypatch.delenv("INTAKE_PERSIST_PATH")
    (conf / "conf.yaml").unlink()
    assert get_store().path == str(conf / "persisted")


# ---------------------------------------------------------------- the index file


def test_index_is_a_catalog(store, tmp_path):
    src = FrameSource(nparts=2, rows=4, metadata={"owner": "me"})
    src.entry_name = "frames"
    src.description = "generated"
    store.persist(src, ttl=60, compression="snappy")
    doc = yaml.safe_load(index_bytes(store))
    assert set(doc) == {"metadata", "sources"}
    entry = doc["sources"][src.token]
    assert entry["driver"] == "parquet"
    assert entry["args"]["urlpath"].startswith("{{ CATALOG_DIR }}/" + src.token + "/")
    md = entry["metadata"]
    assert md["original_tok"] == src.token
    assert md["original_name"] == "frames"
    assert md["original_metadata"] == {"owner": "me"}
    # the arguments the source was made with, exactly (metadata is recorded on its own)
    assert md["original_source"] == {"driver": "store_helpers.FrameSource",
                                     "args": {"nparts": 2, "rows": 4}, "description": "generated",
                                     "metadata": {"owner": "me"}}
    assert md["ttl"] == 60 and md["persist_kwargs"] == {"compression": "snappy"}
    assert isinstance(md["timestamp"], float)
    assert md["container"] == "dataframe" and md["version"]
    assert md["size"] == store.backend.du(f"{src.token}/{md['version']}")  # bytes written

    from intake_persist import open_catalog

    cat = open_catalog(store.backend.url("cat.yaml"))  # a local path or s3:// URL
    assert list(cat) == [src.token]
    pd.testing.assert_frame_equal(cat[src.token].read().reset_index(drop=True),
                                  src.read().reset_index(drop=True))


def test_hand_edited_ttl_is_honoured(store):
    src = FrameSource()
    store.persist(src, ttl=0)
    assert store.needs_refresh(src)
    text = index_bytes(store).decode()
    assert '"ttl": 0' in text
    put_index(store, text.replace('"ttl": 0', '"ttl": null'))
    assert not store.needs_refresh(src)
    assert store.info(src)["ttl"] is None and not store.info(src)["expired"]


def test_hand_reformatted_block_style_is_honoured(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    store.persist(a, ttl=0)
    store.persist(b, ttl=5)
    doc = yaml.safe_load(index_bytes(store))
    doc["sources"][a.token]["metadata"]["ttl"] = None
    put_index(store, yaml.safe_dump(doc, default_flow_style=False))  # block style, no trailer
    fresh = PersistStore(store.path)
    assert sorted(fresh) == sorted([a.token, b.token])
    assert not fresh.needs_refresh(a)
    pd.testing.assert_frame_equal(fresh[a.token].read(), a.read())
    # the next update writes the line layout again, keeping the edit
    c = FrameSource(seed=3)
    fresh.persist(c)
    assert index_bytes(store).startswith(b"# intake_persist store index")
    assert PersistStore(store.path).info(a)["ttl"] is None


# ---------------------------------------------------------------- versions, remove, clear


def test_repersist_replaces_and_prunes(store):
    src = FrameSource()
    first = store.persist(src)
    v1 = first.metadata["version"]
    second = store.persist(src)
    v2 = second.metadata["version"]
    assert v2 > v1
    # the first copy left the index; it stays for its readers until the grace is over
    assert ls(store, src.token) == [v1, v1 + ".meta.yaml", v1 + ".retired", v2,
                                    v2 + ".meta.yaml"]
    pd.testing.assert_frame_equal(first.read(), src.read())
    assert len(store) == 1 and store.info(src)["versions"] == [v2]
    assert store.gc()["removed"] == []  # default grace: minutes
    store.gc(grace=0)
    assert ls(store, src.token) == [v2, v2 + ".meta.yaml"]


def test_keep_versions(store):
    src = FrameSource()
    vids = [store.persist(src, keep=2).metadata["version"] for _ in range(3)]
    info = store.info(src)
    assert info["versions"] == [vids[2], vids[1]]
    assert {n for n in ls(store, src.token) if not n.endswith(".yaml")} == {
        vids[0], vids[0] + ".retired", vids[1], vids[2]}
    store.gc(grace=0)
    assert {n for n in ls(store, src.token) if not n.endswith(".yaml")} == {vids[1], vids[2]}


def test_remove_and_clear(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    store.persist(a)
    copy_b = store.persist(b)
    store.remove(a)
    assert a.token not in store and b.token in store
    assert [n for n in ls(store, a.token) if n.endswith(".removed")]  # gone after the grace
    with pytest.raises(KeyError, match="no persisted copy"):
        store.remove(a)
    with pytest.raises(NotPersistedError, match=a.token):
        store[a.token]
    store.remove(copy_b, delfiles=False)
    assert b.token not in store
    vid = copy_b.metadata["version"]
    assert ls(store, b.token) == [vid, f"{vid}.meta.yaml", f"{vid}.removed"]
    report = store.gc(grace=0)  # the removal sticks; the kept files are listed as detached
    # (a's files, removed with delfiles=True, go now that the grace is forced to 0)
    assert report["reindexed"] == []
    assert {u.rsplit("/", 2)[-2] for u in report["removed"]} == {a.token}
    assert report["detached"] == [store.backend.url(f"{b.token}/{vid}")]
    assert b.token not in store and b.token not in PersistStore(store.path)
    store.persist(a)
    store.clear()
    assert len(store) == 0 and list(store) == []
    assert [n for n in ls(store) if not n.startswith("cat.yaml")] == []


def test_backtrack_and_refresh(store, tmp_path):
    write_csv(str(tmp_path / "t.csv"))
    src = csv_source(str(tmp_path / "t.csv"), name="tbl")
    src.metadata["team"] = "x"
    copy = store.persist(src, ttl=30, compression="gzip")
    orig = store.backtrack(copy)
    assert orig.token == src.token and not orig.is_persisted
    assert orig.entry_name == "tbl" and orig.metadata == {"team": "x"}
    assert store.backtrack(src.token).token == src.token
    write_csv(str(tmp_path / "t.csv"), rows=50, seed=9)  # the original changes
    new = store.refresh(src.token)
    assert new.metadata["version"] > copy.metadata["version"]
    assert new.metadata["ttl"] == 30 and new.metadata["persist_kwargs"] == {"compression": "gzip"}
    assert len(new.read()) == 50


def test_add_records_an_outside_copy(store, tmp_path):
    src = FrameSource()
    other = PersistStore(str(tmp_path / "other"))
    copy = other.persist(src)
    store.add(src.token, copy)
    assert src.token in store
    pd.testing.assert_frame_equal(store[src.token].read(), src.read())
    assert store.gc(grace=0)["dropped"] == []  # not ours to drop: no version here


def test_entries_and_info(store):
    src = FrameSource()
    src.entry_name = "frames"
    store.persist(src, ttl=1000)
    (info,) = store.entries()
    single = store.info(src.token)
    assert {k: v for k, v in info.items() if k != "age"} == \
        {k: v for k, v in single.items() if k != "age"}
    for k in ("key", "name", "container", "driver", "size", "timestamp", "age", "ttl",
              "expired", "location", "persist_kwargs", "original_source"):
        assert k in info
    assert info["key"] == src.token and info["name"] == "frames"
    assert info["container"] == "dataframe" and info["driver"] == "parquet"
    assert info["size"] == store.backend.du(f"{src.token}/{info['versions'][0]}") > 0
    assert info["ttl"] == 1000 and info["expired"] is False
    assert info["location"].startswith(store.path) and ls(store, rel_of(store, info["location"]))
    assert 0 <= info["age"] < 1000


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("ttl", [-1, -0.5, "10", True, False, [], {}, float("nan"), 1j])
def test_bad_ttl(local_store, ttl):
    with pytest.raises(ValueError, match="ttl must be None") as err:
        local_store.persist(FrameSource(), ttl=ttl)
    assert repr(ttl) in str(err.value)
    assert len(local_store) == 0


def test_bad_ttl_through_source(local_store):
    with pytest.raises(ValueError, match=r"got '1h'"):
        FrameSource().persist(ttl="1h", store=local_store)


@pytest.mark.parametrize("ttl", [0, 0.0, 5, 2.5, np.float64(3.0), np.int32(7), 10**9])
def test_good_ttl(local_store, ttl):
    copy = local_store.persist(FrameSource(), ttl=ttl)
    assert copy.metadata["ttl"] == ttl


def test_infinite_ttl_never_expires(local_store):
    src = FrameSource()
    local_store.persist(src, ttl=math.inf)
    assert local_store.info(src)["ttl"] is None and not local_store.needs_refresh(src)


@pytest.mark.parametrize("keep", [0, -1, 1.5, True, "2"])
def test_bad_keep(local_store, keep):
    with pytest.raises(ValueError, match="keep must be an integer"):
        local_store.persist(FrameSource(), keep=keep)


def test_failed_write_leaves_nothing(store):
    src = FrameSource(fail=True)
    with pytest.raises(OSError, match="gone"):
        store.persist(src)
    assert src.token not in store
    assert ls(store, src.token) == []
    assert store.gc(grace=0)["removed"] == []


def test_intake_persist_store_is_the_shared_store(store_url, monkeypatch):
    import intake_persist

    monkeypatch.setenv("INTAKE_PERSIST_PATH", store_url)
    st = intake_persist.store
    src = FrameSource()
    assert src not in st and len(st) == 0
    copy = st.persist(src, ttl=5)
    assert src in st and list(st) == [src.token] and len(st) == 1
    pd.testing.assert_frame_equal(st[src.token].read(), copy.read())
    assert st.path == store_url
    assert st.gc()["removed"] == []


def test_versions_and_as_of(store):
    src = FrameSource()
    copies = [store.persist(src, keep=3) for _ in range(3)]
    vs = store.versions(src)
    assert [v.vid for v in vs] == [c.metadata["version"] for c in copies][::-1]
    middle = copies[1].metadata
    got = store.as_of(src, middle["timestamp"])
    assert got.metadata["version"] == middle["version"]
    assert store.as_of(src.token, 10**12).metadata["version"] == copies[2].metadata["version"]
    with pytest.raises(KeyError, match="at or before"):
        store.as_of(src, 0)


# ---------------------------------------------------------------- failures part-way


def test_write_failing_part_way_leaves_nothing_visible(store):
    src = PartFailSource(nparts=4, fail_at=2)
    with pytest.raises(OSError, match="partition 2"):
        store.persist(src)
    assert src.token not in store and src.token not in PersistStore(store.path)
    assert ls(store, src.token) == []  # the partial copy and its marker are gone
    assert store.gc(grace=0)["removed"] == []


def test_writer_killed_part_way_is_collected(store):
    """The writer dies in partition 2 (no cleanup at all): nothing is visible, and
    gc (no grace needed: the writer of this machine is gone) leaves no partial copy."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        from store_helpers import PartFailSource
        from intake_persist.store.persist_store import PersistStore
        PersistStore({store.path!r}).persist(PartFailSource(nparts=4, fail_at=2, crash=True))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 17, out.stderr
    src = PartFailSource(nparts=4, fail_at=2, crash=True)
    assert src.token not in PersistStore(store.path)
    names = ls(store, src.token)
    assert any(n.endswith(".writing") for n in names), names  # left behind by the crash
    marker = [n for n in ls(store, "pending") if n.startswith(src.token)]
    assert len(marker) == 1  # put while the data was written
    report = store.gc()
    assert len(report["removed"]) == len(names) + 1 and report["reindexed"] == []
    assert ls(store, src.token) == [] and not exists(store, f"pending/{marker[0]}")
