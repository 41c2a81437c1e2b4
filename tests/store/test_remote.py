"""A store on a non-local filesystem: fsspec's memory filesystem; S3 from the environment.

(The whole store suite runs on S3 as well: see ``conftest.py``.)"""

from __future__ import annotations

import time
import uuid

import pandas as pd
from store_helpers import FrameSource, set_timestamp

from intake_persist.store.persist_store import PersistStore


def _exercise(st: PersistStore) -> None:
    a, b = FrameSource(seed=1), FrameSource(seed=2)
    assert a not in st and st.resolve(a, "default") is a
    copy = st.persist(a, ttl=100)
    assert copy.is_persisted and a in st and list(st) == [a.token]
    pd.testing.assert_frame_equal(copy.read(), a.read())
    assert st.info(a)["location"].startswith(st.path + "/")
    st.persist(b)
    fresh = PersistStore(st.path, **st.storage_options)
    assert sorted(fresh) == sorted([a.token, b.token])
    set_timestamp(fresh, a.token, time.time() - 1000)
    v = fresh.info(a)["version"]
    assert fresh.resolve(a, "always").metadata["version"] == v
    new = fresh.resolve(a, "default")
    assert new.metadata["version"] > v
    pd.testing.assert_frame_equal(new.read(), a.read())
    report = fresh.gc(grace=0)  # the copy of a the refresh replaced: its grace is over
    assert report["removed"] == [fresh.backend.url(f"{a.token}/{v}{s}")
                                 for s in (".meta.yaml", "", ".retired")]
    assert report["retired"] == report["reindexed"] == report["dropped"] == []
    fresh.remove(b)
    assert list(fresh) == [a.token]
    fresh.clear()
    assert len(fresh) == 0


def test_memory_store():
    _exercise(PersistStore(f"memory://store-{uuid.uuid4().hex[:8]}"))


def test_s3_store_from_env(s3_bucket, monkeypatch):
    from intake_persist.store import get_store

    monkeypatch.setenv("INTAKE_PERSIST_PATH", f"{s3_bucket}/shared")
    src = FrameSource()
    copy = src.persist(ttl=10)
    assert get_store().path == f"{s3_bucket}/shared"
    assert src.has_been_persisted and copy.is_persisted
    pd.testing.assert_frame_equal(get_store()[src.token].read(), src.read())
