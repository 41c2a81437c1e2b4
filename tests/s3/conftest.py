"""Fixtures for the object-store tests: the same test against moto and SeaweedFS."""

from __future__ import annotations

import uuid

import pytest


def clear_s3fs_caches() -> None:
    import s3fs

    for fs in list(s3fs.S3FileSystem._cache.values()):
        fs.invalidate_cache()
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(
    params=[
        pytest.param("moto", marks=pytest.mark.s3),
        pytest.param("seaweedfs", marks=[pytest.mark.s3, pytest.mark.seaweedfs]),
    ]
)
def object_store(request, s3_server):
    """``(fs, "bucket")``: an uncached S3FileSystem and a fresh bucket on each server."""
    import s3fs

    if request.param == "moto":
        options = {}
    else:
        options = {"endpoint_url": request.getfixturevalue("seaweedfs_server")}
    clear_s3fs_caches()
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    bucket = f"cw-{uuid.uuid4().hex[:16]}"
    fs.mkdir(bucket)
    try:
        yield fs, bucket
    finally:
        clear_s3fs_caches()
        try:
            fs.rm(bucket, recursive=True)
        except Exception:
            pass
