"""The store's typed results: CopyInfo (info, entries) and GcReport (gc), read by
attribute and, as before, by name."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from store_helpers import FrameSource, ls

from intake_persist import CopyInfo, GcReport
from intake_persist.store import layout


def test_copy_info_attributes_and_mapping(local_store):
    src = FrameSource()
    src.entry_name = "frames"
    before = time.time()
    copy = local_store.persist(src, ttl=1000, keep=2)
    info = local_store.info(src)
    assert isinstance(info, CopyInfo)
    assert list(info) == [f.name for f in dataclasses.fields(CopyInfo)]
    assert len(info) == 15 and dict(info) == info.to_dict() == info
    for name in info:
        assert info[name] is getattr(info, name)
    assert info.key == src.token and info.name == "frames" and info.container == "dataframe"
    assert info.driver == "parquet" and info.original_driver == "store_helpers.FrameSource"
    assert info.version == copy.metadata["version"] and info.versions == [info.version]
    assert before <= info.timestamp <= time.time() and 0 <= info.age < 60
    assert info.ttl == 1000 and info.expired is False and info.state == "fresh"
    assert info.location.startswith(local_store.path + "/" + src.token + "/")
    assert info.size > 0 and info.original_source["driver"] == info.original_driver
    assert "original_name" not in info and info.get("nothing") is None
    with pytest.raises(KeyError):
        info["state"]  # a property, not one of the fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.ttl = 5  # type: ignore[misc]
    json.dumps(info.to_dict())


def test_copy_info_expired_from_one_clock(local_store):
    src = FrameSource()
    local_store.persist(src, ttl=0.5)
    entry = local_store.index.lookup(src.token)
    ts = entry["metadata"]["timestamp"]
    young = CopyInfo.from_entry(src.token, entry, "x", ts + 0.25)
    old = CopyInfo.from_entry(src.token, entry, "x", ts + 0.5)
    assert (young.age, young.expired, young.state) == (0.25, False, "fresh")
    assert (old.age, old.expired, old.state) == (0.5, True, "expired")
    (listed,) = local_store.entries()
    assert isinstance(listed, CopyInfo) and listed.key == src.token


def test_gc_report_attributes_and_mapping(local_store):
    src = FrameSource()
    first = local_store.persist(src).metadata["version"]
    local_store.persist(src)  # retires the first copy
    report = local_store.gc(grace=0, dry_run=True)
    assert isinstance(report, GcReport) and report.dry_run is True
    assert report["removed"] is report.removed and report == dict(report)
    assert list(report) == ["removed", "retired", "reindexed", "dropped", "detached",
                            "dry_run"]
    assert local_store.backend.url(layout.data_rel(src.token, first)) in report.removed
    assert first in set(ls(local_store, src.token))  # dry run: nothing deleted
    done = local_store.gc(grace=0)
    assert done.dry_run is False and done.removed == report.removed
    assert done != report  # dry_run differs
    assert local_store.gc(grace=0) == GcReport() == {
        "removed": [], "retired": [], "reindexed": [], "dropped": [], "detached": [],
        "dry_run": False}
