"""Many writers at once, and writers killed with SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import signal
import textwrap
import time

import pandas as pd
import pytest
from races import finish_workers, run_threads, start_workers
from store_helpers import FrameSource

from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore

WORKER = textwrap.dedent("""
    import sys
    from store_helpers import FrameSource
    from intake_persist.store.persist_store import PersistStore
    path, wid, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    st = PersistStore(path)
    for r in range(rounds):
        st.persist(FrameSource(nparts=2, rows=20, seed=wid * 100 + r), ttl=3600)
        st.persist(FrameSource(nparts=2, rows=5, seed=-1), ttl=None)  # one shared token
        if r % 2:
            st.remove(FrameSource(nparts=2, rows=20, seed=wid * 100 + r))
    print("ok")
""")


def _check_consistent(st: PersistStore) -> None:
    """Every index entry reads the same data as its original; no torn copies."""
    for key in st:
        copy = st[key]
        original = st.backtrack(key)
        assert original.token == key
        pd.testing.assert_frame_equal(copy.read(), original.read())


def _gc_deletes_only_retired(st: PersistStore) -> None:
    """gc(grace=0) deletes the copies that left the index (re-persisted or removed:
    they wait for the grace period), nothing the index lists; a second run finds
    nothing more to do."""
    listed = set()
    for key, entry in st.index.entries().items():
        md = entry.get("metadata") or {}
        listed.update(f"{key}/{v}" for v in md.get("versions") or [md.get("version")])
    report = st.gc(grace=0)
    assert report["reindexed"] == [] and report["dropped"] == []
    for url in report["removed"]:
        rel = url[len(st.path) + 1:]
        for suffix in (".meta.yaml", ".retired", ".removed"):
            rel = rel.removesuffix(suffix)
        assert rel not in listed, url
    again = st.gc(grace=0)
    assert again["removed"] == [] and again["retired"] == [] and again["reindexed"] == []


def _leftovers(path: str) -> list[str]:
    out = []
    for tok in os.listdir(path):
        d = os.path.join(path, tok)
        if not (os.path.isdir(d) and layout.is_token(tok)):
            if layout.TMP_MARK in tok:
                out.append(tok)
            continue
        names = set(os.listdir(d))
        for n in names:
            if n.endswith(".writing") or layout.TMP_MARK in n:
                out.append(f"{tok}/{n}")
            elif layout.is_vid(n) and n + ".meta.yaml" not in names:
                out.append(f"{tok}/{n}")
    return out


def _interrupted(path: str) -> set[str]:
    """What a kill interrupted, from what it left (look before ``gc``): ``persist`` (a
    copy's ``.writing`` marker: its data or meta file were being written), ``index``
    (a temporary file of ``cat.yaml``), ``prune`` (a data folder without its meta
    file and without a marker: an old copy was being deleted). A published copy the
    index does not list yet (gc reports it ``reindexed``) is an index write too."""
    landed = set()
    for name in os.listdir(path):
        if name.startswith(layout.INDEX) and layout.TMP_MARK in name:
            landed.add("index")
        d = os.path.join(path, name)
        if not (os.path.isdir(d) and layout.is_token(name)):
            continue
        names = set(os.listdir(d))
        for n in names:
            if n.endswith(layout.WRITING_SUFFIX):
                landed.add("persist")
        for n in names:
            if (layout.is_vid(n) and n + layout.META_SUFFIX not in names
                    and n + layout.WRITING_SUFFIX not in names):
                landed.add("prune")
    return landed


@pytest.mark.slow
def test_many_processes(tmp_path):
    path = str(tmp_path / "store")
    nproc, rounds = 8, 4
    procs = start_workers(WORKER, [(path, w, rounds) for w in range(nproc)])
    finish_workers(procs, timeout=300)
    st = PersistStore(path)
    expected = {FrameSource(nparts=2, rows=20, seed=w * 100 + r).token
                for w in range(nproc) for r in range(rounds) if not r % 2}
    expected.add(FrameSource(nparts=2, rows=5, seed=-1).token)
    assert set(st) == expected
    _check_consistent(st)
    assert _leftovers(path) == []
    _gc_deletes_only_retired(st)
    # the shared token kept one copy only
    shared = FrameSource(nparts=2, rows=5, seed=-1).token
    assert len([n for n in os.listdir(os.path.join(path, shared)) if layout.is_vid(n)]) == 1


def test_many_threads(store):
    """Threads with their own store objects (local disk and S3: fewer there, the
    multi-process test on SeaweedFS is in tests/integration)."""
    st = store
    nthreads, rounds = (8, 3) if st.backend.local_paths else (4, 2)

    def work(i):
        for r in range(rounds):
            PersistStore(st.path).persist(FrameSource(nparts=1, rows=5, seed=i * 10 + r))
            st.persist(FrameSource(nparts=1, rows=3, seed=-5))

    errors = run_threads(work, nthreads)
    assert not errors
    assert len(st) == nthreads * rounds + 1
    _check_consistent(st)
    _gc_deletes_only_retired(st)


CRASHER = textwrap.dedent("""
    import sys
    from store_helpers import FrameSource
    from intake_persist.store.persist_store import PersistStore
    st = PersistStore(sys.argv[1])
    seed = int(sys.argv[2])
    print("start", flush=True)
    st.persist(FrameSource(nparts=30, rows=15_000, seed=0), ttl=0)
    for i in range(1000):
        st.persist(FrameSource(nparts=1, rows=10, seed=seed * 1000 + i))
        if i % 3 == 0:
            st.persist(FrameSource(nparts=30, rows=15_000, seed=0), ttl=0)
""")


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path):
    path = str(tmp_path / "store")
    rng = random.Random(1234)
    big = FrameSource(nparts=30, rows=15_000, seed=0)
    landed = []  # per trial: what the kill interrupted
    for trial in range(6):
        (p,) = start_workers(CRASHER, [(path, trial)])
        assert p.stdout.readline().strip() == "start"
        time.sleep(rng.uniform(0.0, 2.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        st = PersistStore(path)
        _check_consistent(st)  # the store opens and no entry is torn
        interrupted = _interrupted(path)
        report = st.gc()  # the dead writer's leftovers go, without any grace period
        landed.append(interrupted | ({"index"} if report["reindexed"] else set()))
        assert _leftovers(path) == [], (trial, report)
        print(trial, sorted(landed[-1]), len(st),
              {k: len(v) for k, v in report.items() if k != "dry_run"})
        _check_consistent(st)
    # the kills fell inside writes, not only between them: else this test proves little
    assert sum(bool(x) for x in landed) > len(landed) // 2, landed
    assert any("persist" in x for x in landed), landed
    st = PersistStore(path)
    copy = st.persist(big, ttl=None)  # persisting again works
    pd.testing.assert_frame_equal(copy.read(), big.read())
    assert st.gc()["removed"] == []
