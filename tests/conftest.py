"""Fixtures for tests under tests/ (server fixtures live in the root conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import fsspec
import pytest
from skip_policy import pytest_runtest_makereport  # noqa: F401  (INTAKE_PERSIST_NO_SKIP)

REPO = Path(__file__).resolve().parents[1]
CATALOGS = REPO / "catalogs"


@pytest.fixture
def example_catalog() -> Path:
    """Path of the shipped ``catalogs/example.yaml`` (do not modify it)."""
    return CATALOGS / "example.yaml"


@pytest.fixture
def example_catalog_copy(tmp_path) -> Path:
    """A private copy of ``catalogs/`` (YAML and data); returns its ``example.yaml``."""
    dest = tmp_path / "catalogs"
    shutil.copytree(CATALOGS, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest / "example.yaml"

@pytest.fixture
def memfs():
    """The fsspec memory filesystem, emptied before and after the test."""
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


@pytest.fixture(params=["local", "memory"])
def where(request, tmp_path, memfs):
    """A base URL (local directory or memory://) and a function to put bytes there."""
    if request.param == "local":
        base = str(tmp_path / "data")
        os.makedirs(base)
    else:
        base = "memory://data"

    def put(name: str, data: bytes) -> str:
        url = f"{base}/{name}"
        with fsspec.open(url, "wb") as f:
            f.write(data)
        return url

    put.base = base
    return put


@pytest.fixture
def fault_proxy(s3_server):
    """A :class:`faultproxy.FaultProxy` in front of the moto server (seed 14, faults
    on 15% of connections). Reach it with ``fault_proxy.storage_options``; the
    environment's ``AWS_ENDPOINT_URL`` still points straight at moto."""
    from urllib.parse import urlsplit

    from faultproxy import FaultProxy

    url = urlsplit(s3_server)
    with FaultProxy((url.hostname, url.port), rate=0.15, seed=14) as proxy:
        proxy.storage_options = {"endpoint_url": proxy.endpoint}
        yield proxy
