"""The central index: layout, fast lookups, hand edits, damage and rebuild.

Tests taking ``store`` run on local disk and on S3 (``conftest.py``); the lookup-cost
tests are about the local fast path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml
from store_helpers import FrameSource, index_bytes, ls, put_index, subprocess_env

from intake_persist.store.index import Index
from intake_persist.store.index_file import Snapshot, encode_entry, render
from intake_persist.store.persist_store import PersistStore

WEIRD = {
    "floats": [1e20, 1e-05, 5e-324, -0.0, 1.5, 1e300],
    "text": ["plain", "quote \" back \\ slash", "line\nbreak\ttab", "unicode é ü 中文 😀",
             "\x85nel\u2028ls\u2029ps\ufeffbom\x7fdel\x01ctl", "'single'", "- dash", "a: b",
             "{{ CATALOG_DIR }}", "", "null", "true", "1e3", "0x10", "~"],
    "ints": [0, -1, 2**70],
    "nested": {"a": {"b": [None, True, False]}, "1": "int key"},
}


def test_encoding_reads_the_same_in_json_and_yaml():
    raw = encode_entry(WEIRD)
    assert b"\n" not in raw
    assert json.loads(raw) == WEIRD
    assert yaml.safe_load(raw) == WEIRD


def test_non_finite_floats_fall_back_to_yaml(tmp_path):
    text = render({"version": 1}, [("a" * 32, encode_entry({"x": float("inf"), "y": [1]}))])
    snap = Snapshot(text, "t")
    assert snap.lines_mode
    assert snap.get("a" * 32) == {"x": float("inf"), "y": [1]}


def test_layout(store):
    srcs = [FrameSource(seed=i) for i in range(3)]
    for s in srcs:
        store.persist(s)
    lines = index_bytes(store).decode().splitlines()
    assert lines[0].startswith("# intake_persist store index")
    assert lines[2] == "sources:"
    assert len(lines) == 3 + 3 + 1
    assert lines[-1].startswith("# end of index: 3 entries in ")
    for line, s in zip(lines[3:6], srcs, strict=False):
        assert line.startswith(f'  "{s.token}": {{')


def test_empty_store_lookup_is_a_stat(store):
    assert ls(store) == []
    assert FrameSource() not in store
    assert list(store) == [] and len(store) == 0
    assert ls(store) == []  # looking does not create anything
    if store.backend.local_paths:
        assert not os.path.exists(store.path)


def test_lookup_parses_one_line(tmp_path):
    """10,000 entries: a lookup neither parses the whole file nor builds a table."""
    items = [(f"{i:032x}", encode_entry({"driver": "parquet", "args": {"urlpath": f"x/{i}"},
                                          "metadata": {"original_tok": f"{i:032x}", "i": i}}))
             for i in range(10_000)]
    os.makedirs(tmp_path / "s")
    (tmp_path / "s" / "cat.yaml").write_bytes(render({"version": 1}, items))
    index = Index(PersistStore(str(tmp_path / "s")).backend)
    assert index.lookup(f"{9_999:032x}")["metadata"]["i"] == 9_999
    assert index.lookup("f" * 32) is None
    snap = index._snap
    assert snap.lines_mode and snap._parsed is None and snap._offsets is None
    assert len(index.entries()) == 10_000


def test_cold_lookup_speed_is_reported(tmp_path):
    """Not an assertion on time: prints the fresh-process lookup cost (see report)."""
    items = [(f"{i:032x}", encode_entry({"driver": "parquet", "args": {"urlpath": f"x/{i}"},
                                          "metadata": {"original_tok": f"{i:032x}",
                                                       "pad": "p" * 400}}))
             for i in range(10_000)]
    os.makedirs(tmp_path / "s")
    (tmp_path / "s" / "cat.yaml").write_bytes(render({"version": 1}, items))
    code = textwrap.dedent(f"""
        import sys, time
        t0 = time.perf_counter()
        from intake_persist.store.persist_store import PersistStore
        st = PersistStore({str(tmp_path / "s")!r})
        t1 = time.perf_counter()
        e = st.index.lookup("{5000:032x}")
        t2 = time.perf_counter()
        for _ in range(1000):
            st.index.lookup("{5000:032x}")
        t3 = time.perf_counter()
        assert e is not None
        bad = [m for m in ("fsspec", "dask", "pandas") if m in sys.modules]
        print(f"import {{(t1-t0)*1e3:.1f}} ms, cold lookup {{(t2-t1)*1e3:.2f}} ms, "
              f"warm {{(t3-t2)*1e3:.2f}} us, heavy modules: {{bad}}")
        assert not bad, bad
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env())
    assert out.returncode == 0, out.stderr
    print(out.stdout)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "no-trailer", "bad-line"])
def test_damaged_index_is_rebuilt(store, damage):
    srcs = [FrameSource(seed=i) for i in range(4)]
    for s in srcs:
        store.persist(s, ttl=60)
    text = index_bytes(store)
    if damage == "truncate":
        bad = text[: len(text) // 2]
    elif damage == "garbage":
        bad = b"\x00\xff{{{ not: [yaml"
    elif damage == "empty":
        bad = b""
    elif damage == "no-trailer":
        bad = text[: text.rindex(b"# end of index")]
    else:
        bad = text.replace(b'{"driver"', b'{"driver" [[', 1)
    put_index(store, bad)
    fresh = PersistStore(store.path)
    with pytest.warns(RuntimeWarning, match="damaged.*rebuilt.*4 entries"):
        for s in srcs:
            pd.testing.assert_frame_equal(fresh[s.token].read(), s.read())
            assert fresh.info(s)["ttl"] == 60
    assert sorted(fresh) == sorted(s.token for s in srcs)
    kept = [n for n in ls(store) if n.startswith("cat.yaml.damaged-")]
    if bad:
        assert len(kept) == 1
        assert store.backend.read_bytes(kept[0]) == bad
    assert b"# end of index: 4 entries in " in index_bytes(store)


def test_rebuild_keeps_salvageable_hand_edits(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    store.persist(a, ttl=5)
    store.persist(b, ttl=5)
    text = index_bytes(store).decode().replace('"ttl": 5', '"ttl": 77', 1)
    put_index(store, text[: text.rindex("# end")])  # trailer lost
    with pytest.warns(RuntimeWarning, match="damaged"):
        infos = {i["key"]: i for i in PersistStore(store.path).entries()}
    assert infos[a.token]["ttl"] == 77 and infos[b.token]["ttl"] == 5


def test_damage_with_no_data_gives_empty_index(tmp_path):
    os.makedirs(tmp_path / "s")
    (tmp_path / "s" / "cat.yaml").write_text("sources: [1, 2")
    st = PersistStore(str(tmp_path / "s"))
    with pytest.warns(RuntimeWarning, match="damaged.*0 entries"):
        assert list(st) == []


def test_update_on_damaged_index_rebuilds_first(store):
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    store.persist(a)
    put_index(store, "garbage: [")
    with pytest.warns(RuntimeWarning, match="damaged"):
        store.persist(b)
    assert sorted(PersistStore(store.path)) == sorted([a.token, b.token])


def test_foreign_catalog_without_header_is_honoured(store):
    src = FrameSource()
    store.persist(src)
    doc = yaml.safe_load(index_bytes(store))
    put_index(store, yaml.safe_dump(doc, default_flow_style=False))
    assert list(PersistStore(store.path)) == [src.token]


def test_lookup_costs_in_a_fresh_process(tmp_path):
    """Nothing persisted: resolve imports neither fsspec nor dask (nor pandas, yaml).
    Then, with a copy persisted, warm lookups stay light. Times are printed only."""
    code = textwrap.dedent(f"""
        import os, sys, time
        os.environ["INTAKE_PERSIST_PATH"] = {str(tmp_path / "store")!r}
        os.environ["INTAKE_CONF_DIR"] = {str(tmp_path / "conf")!r}
        from intake_persist.sources.base import DataSource, Schema
        from intake_persist.store import get_store

        class Tiny(DataSource):
            container = "python"
            name = "tiny"
            def __init__(self, n=3, metadata=None):
                super().__init__(metadata=metadata)
                self.n = n
            def _get_schema(self):
                return Schema(npartitions=1, shape=(self.n,))
            def _get_partition(self, i):
                return list(range(self.n))

        src = Tiny(n=3)
        t = time.perf_counter()
        for _ in range(1000):
            assert get_store().resolve(src, "default") is src
        per = (time.perf_counter() - t) * 1e3
        heavy = [m for m in ("fsspec", "dask", "pandas", "yaml", "pyarrow") if m in sys.modules]
        assert not heavy, heavy
        print(f"not persisted: {{per:.1f}} us per resolve")
        src.persist(ttl=100)
        get_store().resolve(src, "default")
        t = time.perf_counter()
        for _ in range(1000):
            assert get_store().resolve(src, "default").is_persisted
        per = (time.perf_counter() - t) * 1e3
        print(f"persisted, warm: {{per:.1f}} us per resolve")
        assert "dask" not in sys.modules
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env())
    assert out.returncode == 0, out.stderr
    print(out.stdout)
