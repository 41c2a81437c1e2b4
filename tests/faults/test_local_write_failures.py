"""A local store that refuses a write (file too large, permission denied).

Real refusals: a child process with ``RLIMIT_FSIZE`` (``SIGXFSZ`` ignored, so a
write past the limit fails with ``EFBIG`` instead of killing it) stops at the data,
at the meta file, or at the index; a child running as another user (``nobody``,
when the tests run as root) writes into a store it may only read. Each time: the
error is a :class:`StoreWriteError` naming the store and the path, the previous copy
stays readable, ``gc`` leaves nothing of the failed write, and the same persist
succeeds once the limit is gone.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pandas as pd
import pytest
from store_helpers import FrameSource, ItemsSource, subprocess_env

from intake_persist.errors import StoreWriteError
from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore

CHILD = textwrap.dedent("""
    import json, os, resource, signal, sys
    from store_helpers import FrameSource, ItemsSource
    from intake_persist.store.persist_store import PersistStore

    args = json.loads(sys.argv[1])
    make = {"frame": FrameSource, "items": ItemsSource}
    src = make[args["kind"]](**args["kw"])
    if args.get("warm"):  # import every writer and reader before losing access to them
        PersistStore(args["warm"]).persist(src).read()
    if args.get("limit"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["limit"], args["limit"]))
    if args.get("uid") is not None:
        os.setgroups([])
        os.setgid(args["uid"])
        os.setuid(args["uid"])
    store = PersistStore(args["store"])
    out = {"ok": True}
    try:
        store.persist(src)
    except Exception as exc:
        out = {"ok": False, "type": type(exc).__name__,
               "bases": [c.__name__ for c in type(exc).__mro__], "msg": str(exc),
               "errno": getattr(exc, "errno", None), "path": getattr(exc, "path", None),
               "store": getattr(exc, "store", None)}
    if args.get("read"):  # what a reader of that user sees now
        out["read"] = len(store[args["read"]].read())
    print(json.dumps(out))
""")


def run_child(**args) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300,
                          cwd=args.get("cwd"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def files(root: str) -> set[str]:
    out = set()
    for d, _dirs, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/"))
    return out


def expected_files(store: PersistStore) -> set[str]:
    """What a tidy store holds: index, lock, and each indexed copy (data and meta)."""
    out = {layout.INDEX, layout.LOCK}
    for token, entry in store.index.entries().items():
        for vid in entry["metadata"]["versions"]:
            out.add(layout.meta_rel(token, vid))
            data = os.path.join(store.path, token, vid)
            out |= {f"{token}/{vid}/{f}" for f in files(data)}
    return out


def check_refusal(out: dict, store: PersistStore, path_part: str) -> None:
    assert not out["ok"], out
    assert out["type"] == "StoreWriteError" and "OSError" in out["bases"], out
    assert out["errno"] == errno.EFBIG and out["store"] == store.path, out
    assert path_part in out["path"], out
    assert store.path in out["msg"] and out["path"] in out["msg"], out
    assert "File too large" in out["msg"]


@pytest.mark.parametrize("where", ["data", "meta"])
def test_file_too_large_keeps_the_previous_copy(tmp_path, where):
    store = PersistStore(str(tmp_path / "store"))
    if where == "data":  # parquet parts of 400 rows: larger than the limit
        kw, limit = {"rows": 400, "nparts": 2}, 4000
    else:  # small parts, but a meta file carrying 40 kB of source metadata
        kw, limit = {"rows": 5, "nparts": 2, "metadata": {"blob": "x" * 20000}}, 8000
    src = FrameSource(**kw)
    first = store.persist(src)
    before = files(store.path)

    out = run_child(kind="frame", kw=kw, store=store.path, limit=limit)
    token = src.token
    check_refusal(out, store, f"{token}/" if where == "data" else layout.META_SUFFIX)
    if where == "data":
        assert out["path"].startswith(os.path.join(store.path, token))
    # the previous copy is still the one served, and reads whole
    assert store[token].metadata["version"] == first.metadata["version"]
    pd.testing.assert_frame_equal(store[token].read(), src.read())
    store.gc(grace=0)
    assert files(store.path) == before == expected_files(store)

    again = store.persist(src)  # space is back
    assert again.metadata["version"] > first.metadata["version"]
    pd.testing.assert_frame_equal(store[token].read(), src.read())
    store.gc(grace=0)
    assert files(store.path) == expected_files(store)


def test_index_too_large_after_publishing_is_folded_in(tmp_path):
    """The copy is published, then the index write fails: the next writer indexes it."""
    store = PersistStore(str(tmp_path / "store"))
    olds = [ItemsSource(n=i + 1, metadata={"blob": "y" * 3000}) for i in range(3)]
    for s in olds:
        store.persist(s)
    assert os.path.getsize(os.path.join(store.path, layout.INDEX)) > 12000
    new = ItemsSource(n=9)

    out = run_child(kind="items", kw={"n": 9}, store=store.path, limit=8000)
    check_refusal(out, store, layout.INDEX)
    assert out["path"] == os.path.join(store.path, layout.INDEX)
    assert new.token not in store  # not indexed yet...
    assert sorted(store) == sorted(s.token for s in olds)  # ...and nothing else lost
    for s in olds:
        assert store[s.token].read() == s.read()
    assert any(n.startswith(new.token) for n in os.listdir(os.path.join(store.path,
                                                                         layout.PENDING)))

    other = ItemsSource(n=2, nparts=1)
    store.persist(other)  # the next writer, of another source, folds it in
    assert new.token in store and store[new.token].read() == new.read()
    assert sorted(store) == sorted(s.token for s in [*olds, new, other])
    store.gc(grace=0)
    assert files(store.path) == expected_files(store)
    assert not os.path.exists(os.path.join(store.path, layout.PENDING))


def test_read_only_store(tmp_path):
    """Persisting into a store the user may only read: StoreWriteError naming the
    store and the path; the copies there stay readable to that user."""
    base = tempfile.mkdtemp(prefix="e14-ro-")  # outside root's private tmp
    os.chmod(base, 0o755)
    try:
        root = os.path.join(base, "store")
        store = PersistStore(root)
        src = FrameSource(seed=3)
        store.persist(src)
        other = FrameSource(seed=4)
        args = dict(kind="frame", kw={"seed": 4}, store=root, read=src.token, cwd=base)
        if os.geteuid() == 0:  # root writes anywhere: run the child as nobody
            import pwd

            args.update(uid=pwd.getpwnam("nobody").pw_uid,
                        warm=os.path.join(base, "warm-up"))
        else:
            for d, _dirs, _ in os.walk(root):
                os.chmod(d, 0o555)
        before = files(root)
        try:
            out = run_child(**args)
        finally:
            for d, _dirs, _ in os.walk(root):
                os.chmod(d, 0o755)
        assert not out["ok"] and out["type"] == "StoreWriteError", out
        assert out["errno"] in (errno.EACCES, errno.EPERM) and out["store"] == root, out
        assert out["path"].startswith(os.path.join(root, other.token)), out
        assert root in out["msg"] and "Permission denied" in out["msg"], out
        assert out["read"] == len(src.read())
        assert files(root) == before
        assert other.token not in store and src.token in store
        store.persist(other)  # writable again
        assert other.token in store
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_write_errors_name_store_and_path(tmp_path):
    """In-process: the same refusal raised as the library's error class."""
    store = PersistStore(str(tmp_path / "store"))
    with pytest.raises(StoreWriteError) as err:
        from intake_persist.store.backends.local import writing

        with writing(store.path, "/x/y", "write"):
            raise OSError(errno.ENOSPC, "No space left on device")
    exc = err.value
    assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    assert (exc.store, exc.path) == (store.path, "/x/y")
    assert str(exc) == f"cannot write /x/y in the persist store {store.path}: " \
                       "[Errno 28] No space left on device"
    with pytest.raises(FileNotFoundError):  # not a refusal: passed on as it is
        with writing(store.path, "/x/y", "write"):
            raise FileNotFoundError(errno.ENOENT, "gone")
