"""Versions: the kept copies of an entry, picking one by time
(``as_of``) on both sides of each boundary, ``keep=N`` pruning only after the new
copy is published and never under a reader of this process, and concurrent
persists of one source with ``keep > 1``."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import threading

import pandas as pd
import pytest
from races import finish_workers, start_workers
from store_helpers import FrameSource, exists, ls

from intake_persist.errors import NotPersistedError, NoVersionError
from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore
from intake_persist.store.versions import iso, to_micros

UTC = dt.timezone.utc
MICRO = 1e-6


def vid_of(copy) -> str:
    return copy.metadata["version"]


def ts_of(copy) -> float:
    return copy.metadata["timestamp"]


# ---------------------------------------------------------------- listing


def test_versions_lists_the_kept_copies_newest_first(store):
    src = FrameSource(nparts=2, rows=4, seed=1)
    copies = [store.persist(src, ttl=60, keep=3, compression="gzip") for _ in range(4)]
    versions = store.versions(src)
    assert [v.vid for v in versions] == [vid_of(c) for c in copies[:0:-1]]
    assert versions == store.versions(src.token) == store.versions(copies[2])
    assert [v.current for v in versions] == [True, False, False]
    for v, c in zip(versions, copies[:0:-1], strict=True):
        assert v.key == src.token
        assert v.timestamp == ts_of(c)
        assert v.time.tzinfo == UTC and abs(v.time.timestamp() - ts_of(c)) < MICRO
        assert v.size == store.backend.du(layout.data_rel(src.token, v.vid)) > 0
        assert v.location == store.backend.url(layout.data_rel(src.token, v.vid))
        assert v.persist_kwargs == {"compression": "gzip"}
        assert (v.ttl, v.keep) == (60, 3)
        assert v.persist_args == {"ttl": 60, "keep": 3, "compression": "gzip"}
    with pytest.raises(NotPersistedError, match=FrameSource(seed=2).token):
        store.versions(FrameSource(seed=2))


def test_versions_follow_a_hand_edit_of_the_current_entry(local_store):
    src = FrameSource(nparts=1, rows=2, seed=3)
    local_store.persist(src, keep=2, ttl=5)
    local_store.persist(src, keep=2, ttl=5)
    text = local_store.backend.read_bytes("cat.yaml").decode()
    local_store.backend.put("cat.yaml", text.replace("\"ttl\": 5", "\"ttl\": null").encode())
    ttls = [v.ttl for v in PersistStore(local_store.path).versions(src)]
    assert ttls == [None, 5]  # the index for the current copy, its own record for the older


# ---------------------------------------------------------------- as_of


def test_as_of_on_both_sides_of_each_boundary(local_store):
    st = local_store
    src = FrameSource(nparts=1, rows=3, seed=4)
    copies = [st.persist(src, keep=3) for _ in range(3)]
    times = [ts_of(c) for c in copies]
    assert times == sorted(set(times))
    for i, t in enumerate(times):
        when = dt.datetime.fromtimestamp(t, UTC)
        for spelling in (t, iso(t), when, when.replace(tzinfo=None),
                         when.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()):
            assert vid_of(st.as_of(src, spelling)) == vid_of(copies[i]), spelling
            assert vid_of(st.get(src.token, as_of=spelling)) == vid_of(copies[i])
        if i + 1 < len(times):  # just before the next copy: still this one
            assert vid_of(st.as_of(src, times[i + 1] - MICRO)) == vid_of(copies[i])
        if i:  # just before this copy: the one before
            assert vid_of(st.as_of(src, iso(t - MICRO))) == vid_of(copies[i - 1])
    assert vid_of(st.as_of(src, "2999-01-01")) == vid_of(copies[-1])
    with pytest.raises(NoVersionError) as err:
        st.as_of(src, times[0] - MICRO)
    assert isinstance(err.value, KeyError) and err.value.oldest == times[0]
    assert err.value.key == src.token and err.value.as_of == pytest.approx(times[0] - MICRO)
    assert f"the oldest kept copy was made at {iso(times[0])}" in str(err.value)
    assert iso(times[0] - MICRO) in str(err.value) and st.path in str(err.value)
    # the copy pruned by keep=3 is no longer a choice: the oldest is the next one
    st.persist(src, keep=3)
    with pytest.raises(NoVersionError, match=f"oldest kept copy was made at {iso(times[1])}"):
        st.as_of(src, times[0])
    assert vid_of(st.as_of(src, times[1])) == vid_of(copies[1])
    assert st.get(FrameSource(seed=99).token, 5, as_of=times[0]) == 5
    pd.testing.assert_frame_equal(st.as_of(src, times[1]).read(), src.read())


@pytest.mark.parametrize("bad", ["yesterday", "", True, float("nan"), [2026]])
def test_as_of_refuses_what_is_not_a_time(local_store, bad):
    src = FrameSource(nparts=1, rows=1, seed=5)
    local_store.persist(src)
    with pytest.raises(ValueError, match=r"as_of must be a datetime.*" + re.escape(repr(bad))):
        local_store.as_of(src, bad)


def test_to_micros():
    assert to_micros("1970-01-01T00:00:01Z") == 1_000_000
    assert to_micros("1970-01-01T01:00:00+01:00") == 0
    assert to_micros(dt.date(1970, 1, 2)) == 86_400_000_000
    assert to_micros("1970-01-02") == 86_400_000_000
    assert to_micros(dt.datetime(1970, 1, 1, 0, 0, 0, 7)) == 7
    assert to_micros(1.0000015) == 1_000_002  # rounded to the microsecond, as recorded
    assert iso(1.5) == "1970-01-01T00:00:01.500000Z" and iso(0) == "1970-01-01T00:00:00Z"


def test_catalog_entry_as_of(tmp_path, monkeypatch):
    from intake_persist import open_catalog

    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "store"))
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    (tmp_path / "cat.yaml").write_text(textwrap.dedent("""
        sources:
          data:
            driver: csv
            args: {urlpath: "{{ CATALOG_DIR }}/data.csv"}
          other:
            driver: csv
            args: {urlpath: "{{ CATALOG_DIR }}/data.csv", csv_kwargs: {sep: ";"}}
    """))
    cat = open_catalog(str(tmp_path / "cat.yaml"))
    first = cat.data.persist(keep=2)
    data.write_text("a\n2\n")
    second = cat.data.persist(keep=2)
    assert cat.data(as_of=ts_of(first)).read()["a"].tolist() == [1]
    assert cat.data(as_of=iso(ts_of(second))).read()["a"].tolist() == [2]
    assert cat["data"](as_of=iso(ts_of(second) - MICRO)).read()["a"].tolist() == [1]
    again = cat.data(as_of=ts_of(first))
    assert again.is_persisted and again(as_of=ts_of(second)).read()["a"].tolist() == [2]
    with pytest.raises(NoVersionError, match=f"made at {iso(ts_of(first))}"):
        cat.data(as_of=ts_of(first) - 1)
    with pytest.raises(NotPersistedError, match="entry 'other'.*no persisted copy"):
        cat.other(as_of=ts_of(second))
    plain = FrameSource(nparts=1, rows=2, seed=6)
    copy = plain.persist()
    assert vid_of(plain(as_of=ts_of(copy))) == vid_of(copy)


# ---------------------------------------------------------------- keep and pruning


class Toggled(FrameSource):
    """Frames whose reading fails while ``FAIL`` is set (not part of the token)."""

    name = "test_toggled"
    FAIL = False

    def _get_partition(self, i: int) -> pd.DataFrame:
        if Toggled.FAIL:
            raise OSError("cannot read the original now")
        return super()._get_partition(i)


def test_keep_prunes_at_its_boundary_and_only_after_publishing(local_store):
    st = local_store
    src = Toggled(nparts=1, rows=2, seed=7)
    a, b = st.persist(src, keep=2), st.persist(src, keep=2)
    assert [v.vid for v in st.versions(src)] == [vid_of(b), vid_of(a)]
    assert not any(n.endswith(".retired") for n in ls(st, src.token))
    Toggled.FAIL = True
    try:
        with pytest.raises(OSError, match="cannot read the original"):
            st.persist(src, keep=1)
    finally:
        Toggled.FAIL = False
    # the failed copy pruned nothing: both copies listed, none retired
    assert [v.vid for v in st.versions(src)] == [vid_of(b), vid_of(a)]
    assert not any(n.endswith(".retired") for n in ls(st, src.token))
    c = st.persist(src, keep=2)  # the third copy: the first falls out
    assert [v.vid for v in st.versions(src)] == [vid_of(c), vid_of(b)]
    assert f"{vid_of(a)}.retired" in ls(st, src.token)
    assert f"{vid_of(b)}.retired" not in ls(st, src.token)
    d = st.persist(src, keep=1)  # keep lowered: only the new copy stays listed
    assert [v.vid for v in st.versions(src)] == [vid_of(d)]
    assert {f"{vid_of(x)}.retired" for x in (a, b, c)} <= set(ls(st, src.token))


@pytest.fixture
def no_grace_store(store_url):
    return PersistStore(store_url, grace=0)


def test_reader_of_a_just_pruned_copy_still_reads(no_grace_store):
    st = no_grace_store
    src = FrameSource(nparts=3, rows=4, seed=8)
    old = st.persist(src, keep=1)
    first = old.read_partition(0)  # a reader in this process holds the copy open
    new = st.persist(src, keep=1)  # prunes it, with no grace at all
    assert vid_of(old) not in [v.vid for v in st.versions(src)]
    assert exists(st, layout.meta_rel(src.token, vid_of(old)))
    pd.testing.assert_frame_equal(first, src.read_partition(0))
    pd.testing.assert_frame_equal(old.read_partition(2), src.read_partition(2))
    pd.testing.assert_frame_equal(old.read(), src.read())
    assert old._ip_guard.replacement is None  # read from its own copy, not recovered
    old.close()  # done with it: the next prune deletes it
    newest = st.persist(src, keep=1)
    assert not exists(st, layout.meta_rel(src.token, vid_of(old)))
    assert not exists(st, layout.meta_rel(src.token, vid_of(new)))  # never read
    newest.read()
    st.persist(src, keep=1)
    assert exists(st, layout.meta_rel(src.token, vid_of(newest)))
    st.gc()  # gc goes by the grace period alone (none here): even under a reader
    assert not exists(st, layout.meta_rel(src.token, vid_of(newest)))


# ---------------------------------------------------------------- concurrency


class Gated(FrameSource):
    """Frames whose reading waits for ``GATE`` when the instance is marked ``gated``
    (an attribute, not an argument: the token stays that of the ungated twin; the
    store may read in a thread of its own)."""

    name = "test_gated"
    GATE = threading.Event()
    gated = False

    def _get_partition(self, i: int) -> pd.DataFrame:
        if self.gated:
            assert Gated.GATE.wait(30)
        return super()._get_partition(i)


class _AfterUpdate:
    """Index hook of one store (delegating to the store's own) that runs ``then``
    once after that store's next index update, before the persist prunes."""

    def __init__(self, inner, then):
        self.inner, self.then = inner, then

    def collect(self):
        return self.inner.collect()

    def apply(self, entries, state):
        self.inner.apply(entries, state)

    def done(self, state):
        self.inner.done(state)
        then, self.then = self.then, None
        if then is not None:
            then()


def test_prune_keeps_an_older_copy_published_meanwhile(tmp_path):
    """Writer ``slow`` starts first (older version id) and publishes its copy while
    the other writer is between its index update and its prune (no grace): the
    older copy is not retired nor deleted, and ends up listed (keep=3)."""
    path = str(tmp_path / "store")
    src, slow_src = Gated(nparts=1, rows=3, seed=9), Gated(nparts=1, rows=3, seed=9)
    slow_src.gated = True
    assert slow_src.token == src.token
    Gated.GATE.clear()
    slow_store, fast = PersistStore(path, grace=0), PersistStore(path, grace=0)
    result = {}
    slow = threading.Thread(name="slow", target=lambda: result.update(
        copy=slow_store.persist(slow_src, keep=3)))
    slow.start()
    try:
        while not any(n.endswith(".writing") for n in ls(fast, src.token)):
            threading.Event().wait(0.005)  # the slow copy is claimed: older vid
        slow_vid = next(n for n in ls(fast, src.token) if n.endswith(".writing"))[:-8]

        def publish_slow_copy() -> None:
            # runs under the index lock: the slow writer publishes its copy, then
            # waits for the lock to index it
            Gated.GATE.set()
            for _ in range(3000):
                if exists(fast, layout.meta_rel(src.token, slow_vid)):
                    return
                threading.Event().wait(0.01)

        fast.index.hook = _AfterUpdate(fast.index.hook, publish_slow_copy)
        newer = fast.persist(src, keep=3)
    finally:
        Gated.GATE.set()
        slow.join(30)
    # the slow writer's persist hands back the current copy: the newer one
    assert vid_of(result["copy"]) == vid_of(newer)
    names = ls(fast, src.token)
    made = sorted(n for n in names if layout.is_vid(n))
    assert made == [slow_vid, vid_of(newer)]
    older = made[0]
    versions = fast.versions(src)
    assert [v.vid for v in versions] == [vid_of(newer), older]
    assert f"{older}.retired" not in names
    pd.testing.assert_frame_equal(PersistStore(path).as_of(src, versions[1].timestamp).read(),
                                  src.read())


WORKER = textwrap.dedent("""
    import json, sys
    from store_helpers import FrameSource
    from intake_persist.store.persist_store import PersistStore
    path, rounds, keep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    st = PersistStore(path)
    for _ in range(rounds):
        st.persist(FrameSource(nparts=2, rows=6, seed=11), keep=keep)
    print("ok")
""")


@pytest.mark.parametrize("keep", [4])
def test_concurrent_persists_with_keep_lose_nothing(tmp_path, keep):
    path = str(tmp_path / "store")
    procs = start_workers(WORKER, [(path, 3, keep)] * 3)
    for out in finish_workers(procs, timeout=240):
        assert out.strip() == "ok"
    st = PersistStore(path)
    src = FrameSource(nparts=2, rows=6, seed=11)
    made = [n for n in ls(st, src.token) if layout.is_vid(n)]
    assert len(made) == 9  # every persist made its own copy; none deleted (grace)
    listed = [v.vid for v in st.versions(src)]
    assert listed == sorted(made, reverse=True)[:keep]  # the newest, none lost
    names = set(ls(st, src.token))
    for vid in made:  # every copy whole; the listed ones not retired
        assert vid in names and f"{vid}.meta.yaml" in names
        assert (f"{vid}.retired" in names) == (vid not in listed), vid
    for v in st.versions(src):
        pd.testing.assert_frame_equal(st.as_of(src, v.timestamp).read(), src.read())
    report = st.gc(grace=0)
    assert all(any(vid in url for vid in made if vid not in listed)
               for url in report["removed"])
    assert [v.vid for v in st.versions(src)] == listed
