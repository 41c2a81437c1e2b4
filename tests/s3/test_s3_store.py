"""A persist store on S3 (moto's server): INTAKE_PERSIST_PATH=s3://bucket/prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.s3

EXAMPLE = Path(__file__).resolve().parents[2] / "catalogs" / "example.yaml"


@pytest.fixture
def s3_store_path(s3_bucket, monkeypatch):
    path = f"{s3_bucket}/intake-persist"
    monkeypatch.setenv("INTAKE_PERSIST_PATH", path)
    return path


def test_persist_into_s3_store_and_reopen(s3_store_path, s3_fs):
    import pandas as pd

    from intake_persist import get_store, open_catalog

    cat = open_catalog(EXAMPLE)
    original = cat.trips(year=2021)
    copy = original.persist()
    assert copy.is_persisted and original.has_been_persisted
    assert copy.urlpath.startswith(s3_store_path)
    pd.testing.assert_frame_equal(
        copy.read().reset_index(drop=True), original.read().reset_index(drop=True),
        check_dtype=False,
    )  # fmt: skip

    store = get_store()
    assert original.token in store
    assert s3_fs.exists(f"{s3_store_path}/cat.yaml")

    # a fresh catalog in default mode hands back the copy
    again = open_catalog(EXAMPLE).trips(year=2021)
    assert again.is_persisted

    store.remove(original)
    assert original.token not in store


def test_persist_each_container_into_s3_store(s3_store_path):
    import numpy as np

    from intake_persist import open_catalog

    cat = open_catalog(EXAMPLE)
    grid = cat.grid.persist()
    np.testing.assert_array_equal(grid.read(), cat.grid.read())
    events = cat.events.persist()
    assert events.read() == cat.events.read()


@pytest.mark.distributed
@pytest.mark.slow
def test_persist_on_distributed_client_into_s3_store(s3_bucket, s3_fs, local_cluster, tmp_path):
    """Partitions are read and written by the cluster's workers, straight into the
    store; the caller publishes the copy and updates the index, once."""
    distributed = pytest.importorskip("distributed")
    import numpy as np
    import pandas as pd

    from intake_persist.sources.csv import CSVSource
    from intake_persist.store.persist_store import PersistStore

    bucket = s3_bucket.removeprefix("s3://")
    s3_fs.call_s3("put_bucket_versioning", Bucket=bucket,
                  VersioningConfiguration={"Status": "Enabled"})
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": np.arange(3000), "b": rng.random(3000).round(6)})
    df.to_csv(tmp_path / "big.csv", index=False)
    src = CSVSource(urlpath=str(tmp_path / "big.csv"), blocksize=8000)
    n = src.npartitions
    assert n >= 4
    store = PersistStore(f"{s3_bucket}/dstore")
    with distributed.Client(local_cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        with distributed.get_task_stream(client) as ts:
            copy = store.persist(src, ttl=600)
    writes = [t for t in ts.data if "intake-persist-write" in str(t["key"])]
    assert len(writes) == n
    assert {t["worker"] for t in writes} <= workers  # every partition written on a worker
    # the index (and the copy's meta file) were written once, by this process
    versions = s3_fs.call_s3("list_object_versions", Bucket=bucket, Prefix="dstore/")
    written = [v["Key"] for v in versions.get("Versions", [])]
    assert written.count("dstore/cat.yaml") == 1
    assert sum(k.endswith(".meta.yaml") for k in written) == 1
    assert sum(k.endswith(".parquet") for k in written) == n
    assert copy.npartitions == n
    pd.testing.assert_frame_equal(copy.read().reset_index(drop=True), df, check_dtype=False)
    assert PersistStore(store.path)[src.token].read().shape == df.shape
