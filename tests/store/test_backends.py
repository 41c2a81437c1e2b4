"""The index backend contract (``backend_contract.py``) on local disk, fsspec's
memory filesystem and S3 (moto's server); SeaweedFS in tests/integration."""

from __future__ import annotations

import uuid

import pytest
from backend_contract import BackendContract


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
