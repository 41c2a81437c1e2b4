"""The index module, exactly: file layout byte for byte, the YAML fallback and its
errors, value encoding, the update retry schedule, repair and rebuild.

Written against what mutation testing (docs/contributing.rst) found unpinned.
Local stores in tmp_path; a conflict is made from outside, by rewriting
``cat.yaml`` while an update runs, as another writer would."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import warnings

import numpy as np
import pytest

from intake_persist.errors import IndexConflict, IndexDamaged
from intake_persist.store import index as ix
from intake_persist.store import index_file as ixf
from intake_persist.store.index import Index, merge_versions
from intake_persist.store.index_file import (
    INDEX_METADATA,
    Entries,
    Snapshot,
    encode_entry,
    render,
)
from intake_persist.store.persist_store import PersistStore

TOK_A, TOK_B = "a" * 32, "b" * 32
VID1, VID2 = "20260101T000000.000000-00000001", "20260102T000000.000000-00000002"


def _index(tmp_path) -> Index:
    return Index(PersistStore(str(tmp_path / "s")).backend)


# ---- render ------------------------------------------------------------------------
def test_render_exact_bytes():
    empty = render({"version": 1}, [])
    body = (ixf.HEADER + b'metadata: {"version": 1}\nsources: {}\n')
    tail = b"# end of index: 0 entries in %d bytes\n" % len(empty)
    assert empty == body + tail
    one = render({}, [(TOK_A, b'{"x": 1}')])
    assert one == (ixf.HEADER + b"metadata: {}\nsources:\n" + b'  "' + TOK_A.encode()
                   + b'": {"x": 1}\n' + b"# end of index: 1 entry in %d bytes\n" % len(one))
    two = render({}, [(TOK_A, b"{}"), (TOK_B, b"{}")])
    assert two.endswith(b"# end of index: 2 entries in %d bytes\n" % len(two))
    # the recorded size is the file's size also when the number gains a digit
    for n in range(1, 60):
        data = render({}, [(f"{i:032x}", b"{}") for i in range(n)])
        assert data.endswith(b" in %d bytes\n" % len(data))


# ---- Snapshot: layouts ---------------------------------------------------------------
def test_absent_index_is_empty_with_default_metadata():
    snap = Snapshot(None, None)
    assert snap.keys() == [] and snap.all() == {} and snap.metadata == INDEX_METADATA
    assert snap.metadata is not INDEX_METADATA


def test_lines_mode_is_detected_exactly():
    data = render({"k": 1}, [(TOK_A, b'{"x": 1}'), (TOK_B, b'{"x": 2}')])
    snap = Snapshot(data.decode(), "t")  # text is accepted too
    assert snap.lines_mode and snap.tag == "t" and snap.data == data
    assert snap.get(TOK_B) == {"x": 2} and snap.metadata == {"k": 1}
    assert TOK_A in snap and "f" * 32 not in snap and TOK_B in snap
    assert snap.keys() == [TOK_A, TOK_B] and len(snap) == 2
    # no size in the trailer: the line count decides
    nosize = data[: data.rindex(b" in ")] + b"\n"
    snap = Snapshot(nosize, None)
    assert snap.lines_mode and snap.keys() == [TOK_A, TOK_B]
    # a count that does not match: parsed as YAML, still honoured
    wrong = nosize.replace(b"2 entries", b"3 entries")
    snap = Snapshot(wrong, None)
    assert snap.lines_mode is False and snap.keys() == [TOK_A, TOK_B]
    # an empty index, and one that claims entries but lists none
    empty = render({}, [])
    assert Snapshot(empty, None).lines_mode and Snapshot(empty, None).keys() == []
    bad = empty.replace(b"0 entries", b"1 entry")
    snap = Snapshot(bad[: bad.rindex(b" in ")] + b"\n", None)
    assert snap.lines_mode is False and snap.keys() == []
    # a size that does not match (a line edited by hand): counted instead
    edited = data.replace(b'{"x": 1}', b'{"x": 10}')
    snap = Snapshot(edited, None)
    assert snap.lines_mode and snap.get(TOK_A) == {"x": 10}
    # a comment line added among the entries: the size and the line count are off,
    # so it is read as YAML (one entry per line can no longer be assumed)
    commented = data.replace(b"sources:\n", b"sources:\n  # hand-written note\n")
    snap = Snapshot(commented, None)
    assert snap.lines_mode is False and snap.all() == {TOK_A: {"x": 1}, TOK_B: {"x": 2}}


def test_truncated_index_is_damaged():
    data = render({}, [(TOK_A, b"{}")])
    with pytest.raises(IndexDamaged, match=r"^the end-of-index line is missing \(truncated"):
        Snapshot(data[:-40], None)
    # the trailer is looked for in the last 200 bytes only
    long = render({}, [(TOK_A, b'{"pad": "' + b"x" * 300 + b'"}')])
    assert Snapshot(long, None).lines_mode


@pytest.mark.parametrize("text, message", [
    ("metadata: {}\n", "not a catalog (no 'sources' mapping)"),
    ("", "not a catalog (no 'sources' mapping)"),
    ("   \n", "not a catalog (no 'sources' mapping)"),
    ("[1, 2]\n", "not a catalog (no 'sources' mapping)"),
    ("sources: [1]\n", "'sources' is not a mapping of entries"),
    ("sources: {a: 1}\n", "'sources' is not a mapping of entries"),
])
def test_yaml_index_errors(text, message):
    with pytest.raises(IndexDamaged) as err:
        Snapshot(text, None)
    assert str(err.value) == message


def test_invalid_yaml_is_damaged():
    with pytest.raises(IndexDamaged, match=r"^not valid YAML: "):
        Snapshot("sources: {a: [\n", None)


def test_hand_written_yaml_index():
    snap = Snapshot("metadata: {owner: me}\nsources:\n  x: {driver: csv}\n  7: {driver: a}\n",
                    None)
    assert snap.lines_mode is False
    assert snap.keys() == ["x", "7"] and snap.get("x") == {"driver": "csv"}
    assert "7" in snap and "y" not in snap and snap.get("y") is None
    assert snap.metadata == {"owner": "me"} and len(snap) == 2
    assert snap.raw_items() == [("x", b'{"driver": "csv"}'), ("7", b'{"driver": "a"}')]
    assert Snapshot("sources:\n", None).keys() == []  # an empty mapping written as null
    assert Snapshot("metadata: [1]\nsources: {}\n", None).metadata == {}


def test_lines_mode_lookups_and_table():
    items = [(f"{i:032x}", encode_entry({"i": i})) for i in range(8)]
    snap = Snapshot(render({}, items), None)
    for i in range(8):  # past 4 lookups the line table is built; answers do not change
        assert snap.get(f"{i:032x}") == {"i": i}
    assert snap._offsets is not None and len(snap._offsets) == 8
    assert snap.get("f" * 32) is None and snap.get(f"{7:032x}") == {"i": 7}
    fresh = Snapshot(render({}, items), None)
    for i in range(4):
        fresh.get(f"{i:032x}")
    assert fresh._offsets is None  # four lookups: still line by line
    fresh.get(f"{4:032x}")
    assert fresh._offsets is not None


def test_bad_lines_name_the_entry():
    snap = Snapshot(render({}, [(TOK_A, b"{oops: [}"), (TOK_B, b"[1, 2]")]), None)
    with pytest.raises(IndexDamaged, match=f"^entry {TOK_A} cannot be parsed: "):
        snap.get(TOK_A)
    with pytest.raises(IndexDamaged) as err:
        snap.get(TOK_B)
    assert str(err.value) == f"entry {TOK_B} is not a mapping"


def test_metadata_line_that_cannot_be_read_gives_the_default():
    data = render({}, [(TOK_A, b"{}")]).replace(b"metadata: {}", b"metadata: {oops: [}")
    assert Snapshot(data, None).metadata == INDEX_METADATA
    data = render({}, [(TOK_A, b"{}")]).replace(b"metadata: {}", b"metadata: [1]")
    assert Snapshot(data, None).metadata == INDEX_METADATA


# ---- encoding ------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [
    (None, "null"), (True, "true"), (False, "false"), (0, "0"), (-7, "-7"),
    (np.int64(5), "5"), (np.float32(0.5), "0.5"), (np.bool_(True), "true"),
    (1.5, "1.5"), (1e20, "1.0e+20"), (1e-05, "1.0e-05"), (2.5e-300, "2.5e-300"),
    (float("nan"), ".nan"), (float("inf"), ".inf"), (float("-inf"), "-.inf"),
    ("a\"b", '"a\\"b"'), ("é", '"é"'), ("a\x7fb", '"a\\u007fb"'), ("\u2028", '"\\u2028"'),
    ({1: [1, (2,)]}, '{"1": [1, [2]]}'), (frozenset([3]), "[3]"),
    (dt.date(2026, 1, 2), '"2026-01-02"'), (dt.datetime(2026, 1, 2, 3, 4), '"2026-01-02T03:04:00"'),
    (dt.time(5, 6), '"05:06:00"'), (complex(1, 2), '"(1+2j)"'),
])
def test_encoding_exact(value, text):
    assert ixf.encode_value(value) == text
    assert encode_entry({"v": value}) == ('{"v": ' + text + "}").encode("utf-8")


def test_unsafe_characters_escaped_on_first_use(monkeypatch):
    monkeypatch.setattr(ixf, "_yaml_unsafe", None)  # as in a fresh process
    assert ixf._enc_str("x\x01y\ufeff") == '"x\\u0001y\\ufeff"'
    assert ixf._yaml_unsafe is not None


# ---- Entries ------------------------------------------------------------------------
def test_entries_mapping():
    snap = Snapshot(render({"m": 1}, [(TOK_A, b'{"a": {"deep": [1]}}')]), None)
    e = Entries(snap)
    assert e.metadata == {"m": 1} and list(e) == [TOK_A] and len(e) == 1
    got = e[TOK_A]
    got["a"]["deep"].append(2)  # the caller's copy, not the snapshot's
    assert snap.get(TOK_A) == {"a": {"deep": [1]}}
    with pytest.raises(KeyError) as err:
        e[TOK_B]
    assert err.value.args == (TOK_B,)
    with pytest.raises(TypeError) as err:
        e[TOK_B] = [1]
    assert str(err.value) == "an index entry is a dict"
    e[TOK_B] = {"b": 1}
    assert TOK_B in e and list(e) == [TOK_A, TOK_B] and len(e) == 2
    e[TOK_B] = {"b": 2}  # again: not listed twice
    assert list(e) == [TOK_A, TOK_B]
    del e[TOK_A]
    assert TOK_A not in e and list(e) == [TOK_B]
    with pytest.raises(KeyError) as err:
        del e[TOK_A]
    assert err.value.args == (TOK_A,)
    e[TOK_A] = {"again": 1}  # set, then deleted: gone, not remembered
    del e[TOK_A]
    assert TOK_A not in e
    with pytest.raises(KeyError):
        e[TOK_A]
    untouched = Entries(Snapshot(render({}, [(TOK_A, b"{}")]), None))
    del untouched[TOK_A]  # never read nor set
    assert list(untouched) == [] and Snapshot(untouched.render(), None).all() == {}
    e.metadata["n"] = 2
    out = Snapshot(e.render(), None)
    assert out.all() == {TOK_B: {"b": 2}} and out.metadata == {"m": 1, "n": 2}


def test_entries_render_reuses_unchanged_lines_as_written():
    line = b'{"x":   1}'  # spacing the store would not write: kept as it is
    snap = Snapshot(render({}, [(TOK_A, line), (TOK_B, b"{}")]), None)
    e = Entries(snap)
    e[TOK_B] = {"y": 1}
    data = e.render()
    assert b'  "' + TOK_A.encode() + b'": ' + line + b"\n" in data
    e[TOK_A] = {"x": 2}  # everything changed: written from the entries
    assert Snapshot(e.render(), None).all() == {TOK_A: {"x": 2}, TOK_B: {"y": 1}}


# ---- update: retries -----------------------------------------------------------------
def _edit(path: str, n: int) -> None:
    """Rewrite ``cat.yaml`` as another writer would (valid, different bytes)."""
    with open(path, "rb") as f:
        snap = Snapshot(f.read(), None)
    with open(path, "wb") as f:
        f.write(render({"edit": n}, snap.raw_items()))


def test_update_retries_then_gives_up(tmp_path, monkeypatch):
    index = _index(tmp_path)
    index.update(lambda entries: entries.__setitem__(TOK_A, {"v": 0}))
    path = os.path.join(index.backend.root, "cat.yaml")
    sleeps, calls = [], []
    monkeypatch.setattr(ix.time, "sleep", sleeps.append)
    random.seed(16)

    def other_writer(entries):
        calls.append(1)
        _edit(path, len(calls))  # another writer changed the file meanwhile
        entries[TOK_B] = {"v": len(calls)}

    with pytest.raises(IndexConflict, match="changed while it was being updated"):
        index.update(other_writer, retries=3)
    assert len(calls) == 3 and len(sleeps) == 2
    calls.clear()
    sleeps.clear()
    with pytest.raises(IndexConflict):
        index.update(other_writer)  # the default: 50 attempts
    assert len(calls) == 50 and len(sleeps) == 49
    # jittered exponential backoff: 5 ms doubling up to 0.5 s, times 0.5..1.5
    delays = [min(0.005 * 2**k, 0.5) for k in range(49)]
    ratios = [s / d for s, d in zip(sleeps, delays, strict=True)]
    assert all(0.5 <= r <= 1.5 for r in ratios), ratios
    assert min(ratios) < 0.8 and max(ratios) > 1.2  # jittered, not fixed
    assert len(set(sleeps)) == 49


def test_update_succeeds_after_a_conflict(tmp_path, monkeypatch):
    index = _index(tmp_path)
    index.update(lambda entries: entries.__setitem__(TOK_A, {"v": 0}))
    path = os.path.join(index.backend.root, "cat.yaml")
    sleeps, calls = [], []
    monkeypatch.setattr(ix.time, "sleep", sleeps.append)

    def fn(entries):
        calls.append(1)
        if len(calls) == 1:
            _edit(path, 1)
        entries[TOK_B] = {"n": len(calls)}
        return "done"

    assert index.update(fn) == "done"
    assert len(calls) == 2 and len(sleeps) == 1 and 0.0025 <= sleeps[0] <= 0.0075
    assert index.lookup(TOK_B) == {"n": 2} and index.lookup(TOK_A) == {"v": 0}
    assert index.snapshot().metadata == {"edit": 1}  # the other writer's change kept


# ---- damage and repair ----------------------------------------------------------------
def _damaged(tmp_path, truncated=False) -> tuple[Index, bytes]:
    index = _index(tmp_path)
    good = encode_entry({"driver": "parquet", "metadata": {"version": VID1, "ttl": 5}})
    data = render({}, [(TOK_A, good), (TOK_B, b"{oops: [}")])
    if truncated:
        data = data[:-20]
    os.makedirs(index.backend.root, exist_ok=True)
    with open(os.path.join(index.backend.root, "cat.yaml"), "wb") as f:
        f.write(data)
    return index, data


def _kept(index) -> list[str]:
    return sorted(n for n in os.listdir(index.backend.root) if n.startswith("cat.yaml.damaged-"))


@pytest.mark.parametrize("route", ["lookup", "entries", "update", "truncated-lookup"])
def test_repair_keeps_the_damaged_file_and_says_why(tmp_path, route):
    index, data = _damaged(tmp_path, truncated=route in ("update", "truncated-lookup"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if route == "truncated-lookup":
            assert index.lookup(TOK_A) is None  # nothing published: nothing comes back
        elif route == "lookup":
            assert index.lookup(TOK_A) is not None  # line by line: TOK_A reads
            assert index.lookup(TOK_B) is None  # TOK_B's line is damaged: rebuilt
        elif route == "entries":
            assert index.entries() == {}
        else:
            assert index.update(lambda entries: sorted(entries)) == []
    (kept,) = _kept(index)
    with open(os.path.join(index.backend.root, kept), "rb") as f:
        assert f.read() == data
    stamp = kept[len("cat.yaml.damaged-"):]
    assert dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f")  # UTC time of the rebuild
    url = index.backend.url("cat.yaml")
    (w,) = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if route in ("update", "truncated-lookup"):  # repaired before anything is read
        reason = "the end-of-index line is missing (truncated file?)"
    else:
        reason = (f"entry {TOK_B} cannot be parsed: "
                  + str(w.message).split("cannot be parsed: ", 1)[1].split("); rebuilt")[0])
    assert str(w.message) == (
        f"the persist index {url} was damaged ({reason}); "
        f"rebuilt it from the copies' metadata files (0 entries); "
        f"the damaged file is kept as {index.backend.url(kept)}")
    assert "\n" not in str(w.message)  # the YAML error's lines joined
    snap = index.snapshot()
    assert snap.lines_mode and snap.all() == {} and snap.metadata == INDEX_METADATA
    with open(os.path.join(index.backend.root, "cat.yaml"), "rb") as f:
        assert f.read().splitlines()[1] == b'metadata: {"version": 1, "intake_persist_index": 1}'


def test_repair_of_a_file_damaged_again_meanwhile(tmp_path):
    """The file seen damaged was replaced by another damaged one: that one is kept,
    and the warning gives its own reason."""
    index, data = _damaged(tmp_path, truncated=True)
    with pytest.warns(RuntimeWarning) as rec:
        snap = index.repair(b"an older damaged file", ("stale", "tag"), "an older reason")
    (kept,) = _kept(index)
    with open(os.path.join(index.backend.root, kept), "rb") as f:
        assert f.read() == data
    assert "(the end-of-index line is missing (truncated file?))" in str(rec[0].message)
    assert snap.all() == {}


def test_rebuild_of_a_missing_file_keeps_nothing(tmp_path):
    index = _index(tmp_path)
    with pytest.warns(RuntimeWarning) as rec:
        snap = index.repair(None, None, "gone")
    assert str(rec[0].message).endswith("rebuilt it from the copies' metadata files (0 entries)")
    assert _kept(index) == [] and snap.tag is not None and snap.all() == {}


def test_repair_after_someone_else_repaired(tmp_path):
    index, data = _damaged(tmp_path)
    fixed = render({}, [(TOK_A, b'{"fixed": true}')])
    with open(os.path.join(index.backend.root, "cat.yaml"), "wb") as f:
        f.write(fixed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing rebuilt, nothing to warn about
        snap = index.repair(data, ("stale", "tag"), "seen damaged")
    assert snap.data == fixed and snap.tag == index.backend.tag()
    assert snap.get(TOK_A) == {"fixed": True} and _kept(index) == []


# ---- merge_versions, salvage, published ----------------------------------------------
def test_merge_versions():
    v1 = {"driver": "parquet", "metadata": {"version": VID1, "ttl": 1}}
    v2 = {"driver": "parquet", "metadata": {"version": VID2, "ttl": 2}}
    got = merge_versions({VID1: v1, VID2: v2})
    assert got == {"driver": "parquet",
                   "metadata": {"version": VID2, "ttl": 2, "versions": [VID2, VID1]}}
    assert "versions" not in v2["metadata"]  # the inputs are not changed
    edited = {"driver": "parquet", "metadata": {"version": VID2, "ttl": None}}
    assert merge_versions({VID1: v1, VID2: v2}, edited)["metadata"]["ttl"] is None
    older = {"driver": "parquet", "metadata": {"version": VID1, "ttl": None}}
    assert merge_versions({VID1: v1, VID2: v2}, older)["metadata"]["ttl"] == 2
    assert merge_versions({VID2: v2}, {"driver": "x"})["driver"] == "parquet"
    assert merge_versions({VID1: {"driver": "csv"}}) == \
        {"driver": "csv", "metadata": {"version": VID1, "versions": [VID1]}}


def test_salvage_reads_lines_that_still_parse():
    data = render({}, [(TOK_A, b'{"x": 1}'), (TOK_B, b"{broken"), ("c" * 32, b"[1]"),
                       ("d" * 32, b'{"y": 2}')])
    assert ix._salvage(data[:-30]) == {TOK_A: {"x": 1}, "d" * 32: {"y": 2}}
    assert ix._salvage(b"sources:\n  " + b'"' + TOK_A.encode() + b'": {"x": 1}\n') == {}
    odd = render({}, [(TOK_A, b'{"x": 1}')]).replace(TOK_A.encode(), b"\xff" + b"a" * 31)
    assert ix._salvage(odd) == {"\ufffd" + "a" * 31: {"x": 1}}


def test_published_lists_what_may_come_back(tmp_path):
    st = PersistStore(str(tmp_path / "s"))
    b = st.backend
    meta = {"driver": "parquet", "metadata": {"version": VID1}}
    b.put(f"{TOK_A}/{VID1}.meta.yaml", json.dumps(meta).encode())
    b.put(f"{TOK_A}/{VID2}.meta.yaml", b"- not a mapping\n")
    b.put(f"{TOK_A}/notavid.meta.yaml", json.dumps(meta).encode())
    b.put(f"{TOK_B}/{VID1}.meta.yaml", b"{oops: [")  # unreadable: skipped, the rest read
    b.put(f"{TOK_B}/{VID2}.meta.yaml", json.dumps(meta).encode())
    b.put(f"{'c' * 32}/{VID1}.meta.yaml", json.dumps(meta).encode())
    b.put(f"{'c' * 32}/{VID1}.removed", b"{}")  # removed by the user: never back
    b.put(f"not-a-token/{VID1}.meta.yaml", json.dumps(meta).encode())
    b.put("d" * 32, b"a file named like a token")
    with pytest.warns(UserWarning) as rec:
        got = Index(b).published()
    assert got == {TOK_A: {VID1: meta}, TOK_B: {VID2: meta}}
    (w,) = rec
    assert str(w.message).startswith(f"skipping unreadable {VID1}.meta.yaml of {TOK_B}: ")
