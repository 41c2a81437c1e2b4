"""Fixtures for tests under tests/ (server fixtures live in the root conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
