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
def test_persist_on_distributed_client_into_s3_store(s3_store_path, local_cluster):
    distributed = pytest.importorskip("distributed")
    import pandas as pd

    from intake_persist import open_catalog

    cat = open_catalog(EXAMPLE)
    with distributed.Client(local_cluster):
        copy = cat.stations.persist()
    pd.testing.assert_frame_equal(
        copy.read().reset_index(drop=True), cat.stations.read().reset_index(drop=True),
        check_dtype=False,
    )  # fmt: skip
