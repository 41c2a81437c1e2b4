"""The index journal (store/journal.py): records merged over cat.yaml, folds, hand
edits, removals, rebuilds, and writers racing or killed while they write it."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time

import pytest
import yaml
from races import finish_workers, run_threads, start_workers
from store_helpers import FrameSource, index_bytes, put_index

from intake_persist.store import journal, layout
from intake_persist.store.backends import backend_for
from intake_persist.store.index import Index
from intake_persist.store.index_file import INDEX_METADATA, render
from intake_persist.store.persist_store import PersistStore


def tok(i: int) -> str:
    return f"{i:032x}"


def entry(i: int, **md) -> dict:
    return {"driver": "parquet", "args": {"urlpath": f"u{i}"}, "metadata": {"i": i, **md}}


def journaled(url: str) -> None:
    """Start ``url`` as a journaled index (as a large one switches to)."""
    backend_for(url).write(render({**INDEX_METADATA, "journal": 0}, []), None)


def index(url: str, fold_records: int = 3) -> Index:
    ix = Index(backend_for(url))
    ix.fold_records = fold_records
    return ix


def setter(i: int, **md):
    def fn(entries):
        entries[tok(i)] = entry(i, **md)
    return fn


def file_sources(url: str) -> dict:
    """What a YAML parser of its own finds in cat.yaml."""
    b = backend_for(url)
    return yaml.safe_load(b.read()[0])["sources"] or {}


def record_names(url: str) -> list[str]:
    b = backend_for(url)
    return sorted(f"{g.name}/{s.name}" for g in b.listdir(journal.JOURNAL) if g.isdir
                  for s in b.listdir(f"{journal.JOURNAL}/{g.name}"))


# ---- switching and folding ----------------------------------------------------------
def test_a_large_index_switches_to_the_journal_and_stops_rewriting_cat_yaml(tmp_path):
    url = str(tmp_path / "s")
    ix = Index(backend_for(url))
    ix.journal_from = 600
    ix.fold_records = 4
    n = 0
    while "journal" not in yaml.safe_load(backend_for(url).read()[0] or b"metadata: {}")[
            "metadata"]:
        assert n < 20
        ix.update(setter(n))
        n += 1
    # the rewrite that passed 600 bytes switched: it holds every entry so far
    assert len(backend_for(url).read()[0]) >= 600 > len(render(INDEX_METADATA, [
        (tok(i), b"x" * 60) for i in range(n - 2)]))
    assert yaml.safe_load(backend_for(url).read()[0])["metadata"]["journal"] == 0
    assert len(file_sources(url)) == n
    before = backend_for(url).read()
    ix.update(setter(n))
    ix.update(setter(n + 1, note="x"))
    assert backend_for(url).read() == before  # the index file was not rewritten
    assert record_names(url) == ["0000000000/0000000001", "0000000000/0000000002"]
    assert set(Index(backend_for(url)).entries()) == {tok(i) for i in range(n + 2)}
    assert Index(backend_for(url)).lookup(tok(n + 1))["metadata"]["note"] == "x"
    ix.update(setter(n + 2))
    ix.update(setter(n + 3))  # the 4th record closes generation 0 and folds it
    assert len(file_sources(url)) == n + 4
    assert yaml.safe_load(backend_for(url).read()[0])["metadata"]["journal"] == 1
    assert record_names(url) == ["0000000000/0000000004"]  # the close record stays


def test_a_record_does_not_grow_with_the_index(tmp_path):
    sizes = []
    for n in (5, 400):
        url = str(tmp_path / f"s{n}")
        backend_for(url).write(render({**INDEX_METADATA, "journal": 0},
                                      [(tok(i), b'{"driver": "x"}') for i in range(n)]), None)
        ix = index(url, fold_records=100)
        ix.update(setter(10**6))
        names = record_names(url)
        assert len(names) == 1
        sizes.append(len(backend_for(url).read_bytes(f"journal/{names[0]}")))
    assert abs(sizes[0] - sizes[1]) <= 2  # the time stamp may lose a trailing digit


def test_fold_with_close_puts_everything_in_cat_yaml(tmp_path):
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url, fold_records=50)
    for i in range(5):
        ix.update(setter(i))
    ix.update(lambda e: e.pop(tok(2)))
    assert file_sources(url) == {}
    assert Index(backend_for(url)).fold(close=True)
    assert set(file_sources(url)) == {tok(i) for i in (0, 1, 3, 4)}
    assert file_sources(url)[tok(4)] == entry(4)
    assert not Index(backend_for(url)).fold()  # nothing left to fold


def test_an_update_that_changes_nothing_writes_nothing(tmp_path):
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url)
    ix.update(setter(1))
    ix.update(setter(1))  # same entry again
    ix.update(lambda e: e.get(tok(1)))  # read only
    assert len(record_names(url)) == 1


# ---- hand edits and removals -------------------------------------------------------
def _edit(url: str, token: str, **md) -> None:
    b = backend_for(url)
    data, _ = b.read()
    doc = yaml.safe_load(data)
    doc["sources"][token]["metadata"].update(md)
    b.put(layout.INDEX, yaml.safe_dump(doc).encode())


def test_a_hand_edit_wins_over_records_written_before_it(tmp_path):
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url, fold_records=50)
    ix.update(setter(1, ttl=5))
    ix.update(setter(2, ttl=5))
    ix.fold(close=True)
    ix.update(setter(1, ttl=60))  # a record written before the edit
    ix.update(setter(3, ttl=1))  # a token the edit does not touch
    assert Index(backend_for(url)).lookup(tok(1))["metadata"]["ttl"] == 60
    _edit(url, tok(1), ttl=None)  # reformatted by hand, as a person would save it
    fresh = index(url, fold_records=50)
    assert fresh.lookup(tok(1))["metadata"]["ttl"] is None
    assert fresh.lookup(tok(3))["metadata"]["ttl"] == 1
    fresh.update(setter(2, ttl=7))  # written after the edit: applies
    assert index(url).lookup(tok(2))["metadata"]["ttl"] == 7
    index(url).fold(close=True)
    got = file_sources(url)
    assert got[tok(1)]["metadata"]["ttl"] is None
    assert got[tok(2)]["metadata"]["ttl"] == 7 and got[tok(3)]["metadata"]["ttl"] == 1
    # the edit holds for the next updates of that token too
    fresh.update(lambda e: e[tok(1)]["metadata"].update(seen=True))
    assert index(url).lookup(tok(1))["metadata"] == {"i": 1, "ttl": None, "seen": True}


def test_a_removed_entry_stays_removed_across_folds(tmp_path):
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url, fold_records=2)
    ix.update(setter(1))
    ix.update(setter(2))  # closes and folds: tok(1) is in cat.yaml
    assert tok(1) in file_sources(url)
    ix.update(lambda e: e.pop(tok(1)))
    assert tok(1) not in index(url).entries()
    for i in range(3, 8):  # more folds
        ix.update(setter(i))
    ix.fold(close=True)
    assert tok(1) not in file_sources(url) and tok(1) not in index(url).entries()
    assert set(file_sources(url)) == {tok(i) for i in range(2, 8)}


def test_records_of_folded_generations_are_ignored(tmp_path):
    """A record left in a folded generation (a writer that found its slot deleted and
    wrote it again) is not read, and gc deletes it."""
    url = str(tmp_path / "store")
    journaled(url)
    ix = index(url, fold_records=2)
    ix.update(setter(1))
    ix.update(setter(2))  # generation 0 is folded
    stale = journal.Record.new({tok(1): None}, {tok(1): journal.digest(entry(1))})
    backend_for(url).create_only(journal.slot_rel(0, 1), stale.encode())
    assert index(url).lookup(tok(1)) == entry(1)
    report = PersistStore(url).gc(grace=0)
    assert backend_for(url).url(journal.slot_rel(0, 1)) in report["removed"]
    assert index(url).lookup(tok(1)) == entry(1)


# ---- the store on a journaled index -----------------------------------------------
def test_store_on_a_journal_remove_gc_and_rebuild(store_url):
    journaled(store_url)
    st = PersistStore(store_url)
    st.index.fold_records = 3
    srcs = [FrameSource(nparts=1, rows=3, seed=s) for s in range(3)]
    for s in srcs:
        st.persist(s)
    st.remove(srcs[1])
    assert srcs[1].token not in st and len(st) == 2
    st.gc(grace=0)  # folds; the removed entry does not come back
    assert srcs[1].token not in PersistStore(store_url)
    assert srcs[1].token not in yaml.safe_load(index_bytes(st))["sources"]
    st.persist(FrameSource(nparts=1, rows=3, seed=9))  # a record on the folded index
    # a damaged cat.yaml is rebuilt from the meta files; the journal still applies
    put_index(st, index_bytes(st)[:-30])
    fresh = PersistStore(store_url)
    with pytest.warns(RuntimeWarning, match="rebuilt"):
        keys = set(fresh)
    assert keys == {s.token for s in srcs if s is not srcs[1]} | {
        FrameSource(nparts=1, rows=3, seed=9).token}
    assert fresh[srcs[0].token].read().shape == (3, 3)
    fresh.clear()  # a journaled index goes too, journal and all
    assert len(PersistStore(store_url)) == 0
    assert not backend_for(store_url).exists(layout.INDEX)
    assert backend_for(store_url).listdir(journal.JOURNAL) == []


# ---- concurrency --------------------------------------------------------------------
def test_threads_racing_and_folding_lose_nothing(store_url):
    journaled(store_url)
    writers, per_writer = (4, 6) if "://" not in store_url else (3, 3)
    barrier = threading.Barrier(writers)

    def go(w):
        ix = index(store_url, fold_records=2)  # every other record folds
        barrier.wait(timeout=30)
        for r in range(per_writer):
            ix.update(setter(w * 100 + r))
            if r == per_writer - 1:
                ix.update(lambda e, w=w: e.pop(tok(w * 100)))

    errors = run_threads(go, writers, timeout=120)
    assert not errors
    want = {tok(w * 100 + r) for w in range(writers) for r in range(1, per_writer)}
    assert set(index(store_url).entries()) == want
    index(store_url).fold(close=True)
    assert set(file_sources(store_url)) == want


WORKER = textwrap.dedent("""
    import sys
    from intake_persist.store.backends import backend_for
    from intake_persist.store.index import Index
    url, wid, n, fold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    ix = Index(backend_for(url))
    ix.fold_records = fold
    for r in range(n):
        key = f"{wid * 1000 + r:032x}"
        def fn(entries, key=key):
            entries[key] = {"driver": "parquet", "args": {}, "metadata": {"w": wid}}
        ix.update(fn)
        print(key, flush=True)
""")


def test_processes_racing_and_folding_lose_nothing(store_url):
    url = store_url
    journaled(url)
    nproc, n = (3, 8) if "://" not in url else (2, 4)
    procs = start_workers(WORKER, [(url, w, n, 3) for w in range(nproc)])
    done = set()
    for out in finish_workers(procs, timeout=120):
        done.update(out.split())
    assert len(done) == nproc * n
    assert set(index(url).entries()) == done
    index(url).fold(close=True)
    assert set(file_sources(url)) == done


def test_writers_killed_mid_journal_lose_no_acknowledged_update(tmp_path):
    """Writers SIGKILLed at random moments (while writing a record, closing or
    folding a generation): every update a writer reported done is in the index, the
    index stays readable, and the next writer folds what was left."""
    url = str(tmp_path / "s")
    journaled(url)
    done: set[str] = set()
    for rnd in range(2):
        # read here line by line, then killed: nothing would read a stderr pipe
        procs = start_workers(WORKER, [(url, rnd * 10 + w, 200, 2) for w in range(2)],
                              stderr=None)
        for p in procs:  # each has started updating
            done.add(p.stdout.readline().strip())
        time.sleep(0.05 + 0.1 * rnd)
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            done.update(p.stdout.read().split())  # what readline buffered too
            p.wait(timeout=60)
            p.stdout.close()
        assert done <= set(index(url).entries())
    done.discard("")
    assert len(done) >= 4  # the writers got somewhere before being killed
    index(url).update(setter(10**6))
    index(url).fold(close=True)
    got = set(index(url).entries())
    # plus at most one update per killed writer that landed before it could say so
    assert done | {tok(10**6)} <= got and len(got - done) <= 1 + 4
    assert set(file_sources(url)) == got


def test_store_threads_on_a_journal(tmp_path, monkeypatch):
    """persist from several threads, each with its own store object, on a journaled
    index that folds every other record (S3: the index-level races above)."""
    monkeypatch.setattr(Index, "fold_records", 2)
    store_url = str(tmp_path / "store")
    journaled(store_url)
    nthreads, rounds = 4, 2

    def work(i):
        for r in range(rounds):
            st = PersistStore(store_url)
            st.persist(FrameSource(nparts=1, rows=3, seed=i * 10 + r))
            st.persist(FrameSource(nparts=1, rows=2, seed=-5))

    errors = run_threads(work, nthreads, timeout=180)
    assert not errors
    st = PersistStore(store_url)
    want = {FrameSource(nparts=1, rows=3, seed=i * 10 + r).token
            for i in range(nthreads) for r in range(rounds)}
    want.add(FrameSource(nparts=1, rows=2, seed=-5).token)
    assert set(st) == want
    for key in want:
        assert st[key].read().shape[0] in (2, 3)
    report = st.gc(grace=0)
    assert report["reindexed"] == [] and report["dropped"] == []
    assert set(yaml.safe_load(index_bytes(st))["sources"]) == want


def test_an_update_racing_a_hand_edit_is_written_again(tmp_path):
    """A person saves cat.yaml while an update runs: the update's record, written
    against the entry before the edit, would not apply; the writer sees that and
    writes it again on the edited entry, so both the edit and the update hold."""
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url, fold_records=50)
    ix.update(setter(1, ttl=5))
    ix.fold(close=True)
    calls = []

    def fn(entries):
        if not calls:
            _edit(url, tok(1), ttl=None)
        calls.append(dict(entries[tok(1)]["metadata"]))
        entries[tok(1)]["metadata"]["seen"] = True

    ix.update(fn)
    assert calls == [{"i": 1, "ttl": 5}, {"i": 1, "ttl": None}]
    assert index(url).lookup(tok(1))["metadata"] == {"i": 1, "ttl": None, "seen": True}


# ---- the offsets cache of a large local index -------------------------------------
def _folded_store(tmp_path, n=40):
    url = str(tmp_path / "s")
    journaled(url)
    ix = index(url, fold_records=500)
    for i in range(n):
        ix.update(setter(i, pad="é" * (i % 3)))
    ix.fold(close=True)
    return url


def test_lookups_read_entries_through_the_offsets_cache(tmp_path):
    from intake_persist.store.offsets import OffsetsBase

    url = _folded_store(tmp_path)
    assert os.path.exists(os.path.join(url, "journal", "offsets"))
    ix = index(url)
    for i in (0, 17, 39):
        assert ix.lookup(tok(i)) == entry(i, pad="é" * (i % 3))
    assert ix.lookup(tok(99)) is None
    assert isinstance(ix._snap, OffsetsBase) and ix._snap._full is None  # nothing read in full
    assert set(ix.entries()) == {tok(i) for i in range(40)}
    ix.update(setter(5, note="after"))  # a record over the cached version
    assert index(url).lookup(tok(5))["metadata"]["note"] == "after"


def test_a_stale_or_wrong_offsets_cache_is_not_believed(tmp_path):
    url = _folded_store(tmp_path)
    cache = os.path.join(url, "journal", "offsets")
    with open(cache, "rb") as f:
        head, _, table = f.read().partition(b"\n")
    rows = [table[i:i + 20] for i in range(0, len(table), 20)]
    # every row points at the next entry's line
    shifted = [r[:8] + rows[(k + 1) % len(rows)][8:] for k, r in enumerate(rows)]
    with open(cache, "wb") as f:
        f.write(head + b"\n" + b"".join(shifted))
    ix = index(url)
    assert all(ix.lookup(tok(i)) == entry(i, pad="é" * (i % 3)) for i in range(40))
    # a hand edit makes the cache describe another version: not used
    _edit(url, tok(3), ttl=None)
    with open(cache, "wb") as f:
        f.write(head + b"\n" + table)
    assert index(url).lookup(tok(3))["metadata"]["ttl"] is None


def test_a_fold_splices_the_changed_lines_into_the_same_file_a_full_rewrite_makes(tmp_path):
    """Folding over the offsets cache changes only the lines that changed; the file
    is byte for byte the one a full rewrite gives, and its new cache finds every
    entry."""
    from intake_persist.store import offsets
    from intake_persist.store.index_file import Snapshot, encode_entry, encode_value

    url = _folded_store(tmp_path, n=30)
    ix = index(url, fold_records=500)
    ix.update(lambda e: e.pop(tok(0)))  # the first line
    ix.update(lambda e: e.pop(tok(29)))  # the last line
    ix.update(setter(7, grown="x" * 50))  # longer
    ix.update(setter(8))  # shorter (no pad)
    ix.update(setter(100, new=True))  # appended
    ix.update(lambda e: e.pop(tok(12)))
    ix.update(setter(12, back=True))  # deleted, then back: appended again
    base = ix._base()
    assert isinstance(base, offsets.OffsetsBase)
    view = ix.snapshot()
    md = {**base.metadata, "journal": 99}
    changes = {t: None if view.get(t) is None else encode_entry(view.get(t))
               for t in view.touched()}
    spliced, rows = base.splice(changes, md)
    items = view.raw_items()
    assert spliced == render(md, items)
    spans = offsets.value_spans(encode_value(md).encode(), items)
    assert sorted(rows) == sorted(offsets.table(spans))
    ix.fold(close=True)
    want = {t: v for t, v in Snapshot(backend_for(url).read()[0], None).all().items()}
    assert tok(0) not in want and tok(29) not in want and want[tok(12)]["metadata"]["back"]
    fresh = index(url)
    assert isinstance(fresh._base(), offsets.OffsetsBase)
    assert {t: fresh.lookup(t) for t in want} == want


def test_an_index_made_small_again_by_hand_ignores_and_drops_the_journal(tmp_path):
    url = str(tmp_path / "store")
    journaled(url)
    ix = index(url, fold_records=3)
    for i in range(4):  # a fold (offsets written), then one record left
        ix.update(setter(i))
    b = backend_for(url)
    doc = yaml.safe_load(b.read()[0])
    del doc["metadata"]["journal"]  # a person removes the key
    b.put(layout.INDEX, yaml.safe_dump(doc).encode())
    assert set(index(url).entries()) == {tok(i) for i in range(3)}  # the record is ignored
    PersistStore(url).gc(grace=0)
    assert b.listdir(journal.JOURNAL) == []
    index(url).update(setter(9))  # small again: cat.yaml rewritten, no journal
    assert set(file_sources(url)) == {tok(i) for i in (0, 1, 2, 9)}
    assert b.listdir(journal.JOURNAL) == []


def test_an_offsets_cache_of_another_format_is_not_read(tmp_path):
    """A cache whose keys were made another way (an older version) would not find
    entries that are there: its format must match."""
    import json as _json

    from intake_persist.store import offsets

    url = _folded_store(tmp_path, n=5)
    cache = os.path.join(url, "journal", "offsets")
    with open(cache, "rb") as f:
        head, _, table = f.read().partition(b"\n")
    rows = [table[i:i + 20] for i in range(0, len(table), 20)]
    other = b"".join(sorted(bytes(8) + r[8:] for r in rows))  # keys made otherwise
    meta = _json.loads(head)
    meta["format"] = offsets.FORMAT - 1
    with open(cache, "wb") as f:
        f.write(_json.dumps(meta).encode() + b"\n" + other)
    assert index(url).lookup(tok(3)) == entry(3, pad="")
