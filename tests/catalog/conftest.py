"""Fixtures for the catalog tests: a tiny in-memory driver and a catalog writer."""

from __future__ import annotations

import textwrap

import pytest

from intake_persist.sources import registry
from intake_persist.sources.base import DataSource, Schema


class EchoSource(DataSource):
    """A tiny driver that returns its own arguments as one python partition."""

    container = "python"
    name = "echo"

    def __init__(self, value=None, other=None, metadata=None):
        super().__init__(metadata=metadata)
        self.value = value
        self.other = other

    def _get_schema(self):
        return Schema(dtype=None, shape=(1,), npartitions=1)

    def _get_partition(self, i):
        return [{"value": self.value, "other": self.other}]

    def read(self):
        return self._get_partition(0)


@pytest.fixture(autouse=True)
def echo_driver():
    registry.register_driver("echo", EchoSource, clobber=True)
    yield EchoSource
    registry._registry.pop("echo", None)


@pytest.fixture(autouse=True)
def empty_store(tmp_path, monkeypatch):
    """Point the shared store at an empty directory (some tests use persist_mode default)."""
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "store"))
    monkeypatch.setenv("INTAKE_CONF_DIR", str(tmp_path / "conf"))
    from intake_persist.store import reset_store

    reset_store()  # drop a shared store bound to another test's path
    yield
    reset_store()


@pytest.fixture
def write_cat(tmp_path):
    """write_cat(text, name="cat.yaml") -> path of a catalog file holding ``text``."""

    def write(text: str, name: str = "cat.yaml") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return str(path)

    return write
