"""Fixtures of the store tests: the same tests on local disk and on S3 (moto).

``store_url`` is parametrized: ``local`` (a temporary directory) and ``s3`` (a
fresh bucket on the moto server, marked ``s3``). Tests that take ``store`` (or
``store_url``) run on both; the helpers in ``store_helpers`` (``ls``,
``index_bytes``, ``put_index``, ``exists``) look at the store through its
backend, so a test does not care where the store is.
"""

from __future__ import annotations

import pytest

from intake_persist.store.persist_store import PersistStore


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return f"{bucket}/store"


@pytest.fixture
def store(store_url):
    return PersistStore(store_url)


@pytest.fixture
def local_store(tmp_path):
    """A store on local disk only: for argument checks, which do not depend on where
    the store is (keeps the S3 duplicates to what matters)."""
    return PersistStore(str(tmp_path / "store"))


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def base(request, tmp_path, memfs):
    """A folder URL where a test may write (a store and its neighbours, an export):
    local disk, memory:// or S3."""
    if request.param == "local":
        return str(tmp_path / "area")
    if request.param == "memory":
        return "memory://area"
    return request.getfixturevalue("s3_bucket") + "/area"
