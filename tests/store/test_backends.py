"""The index backend contract (``intake_persist.testing``) on local disk, fsspec's
memory filesystem and S3 (moto's server); SeaweedFS in tests/integration."""

from __future__ import annotations

import os
import uuid

import pytest

from intake_persist.testing import BackendContract


class TestLocalBackend(BackendContract):
    cls_name = "LocalBackend"

    @pytest.fixture
    def backend_url(self, tmp_path):
        return str(tmp_path / "store")


class TestMemoryBackend(BackendContract):
    """FsspecBackend: compare-then-write under a process lock, enough for memory://
    (which no other process sees)."""

    cls_name = "FsspecBackend"

    @pytest.fixture
    def backend_url(self):
        url = f"memory://contract-{uuid.uuid4().hex[:12]}"
        yield url
        import contextlib

        import fsspec

        with contextlib.suppress(FileNotFoundError):
            fsspec.filesystem("memory").rm(url, recursive=True)


@pytest.mark.s3
class TestS3Backend(BackendContract):
    cls_name = "S3Backend"

    @pytest.fixture
    def backend_url(self, s3_bucket):
        return f"{s3_bucket}/store"


def test_contract_reads_results_without_the_backend(tmp_path):
    """The contract checks what was stored through its own reader: a reader that
    looks somewhere else than where the backend wrote fails it."""
    from intake_persist.store.backends import backend_for
    from intake_persist.testing import IndependentReader

    suite = BackendContract()
    good, bad = str(tmp_path / "good"), str(tmp_path / "bad")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def make_good():
        return backend_for(good)

    def make_bad():
        return backend_for(bad)

    suite.test_create_then_read(make_good(), make_good, IndependentReader(good))
    with pytest.raises(AssertionError):
        suite.test_create_then_read(make_bad(), make_bad, IndependentReader(str(elsewhere)))
    # the reader sees files the way plain calls do
    reader = IndependentReader(good)
    assert reader.cat("cat.yaml") == (tmp_path / "good" / "cat.yaml").read_bytes()
    assert reader.names("") == set(os.listdir(good))
    assert reader.cat("missing") is None and not reader.exists("missing")
