"""The index backend contract (``intake_persist.testing``) on local disk, fsspec's
memory filesystem and S3 (moto's server); SeaweedFS in tests/integration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from store_helpers import subprocess_env

from intake_persist.store.backends import (
    backend_class,
    backend_for,
    known_backends,
    register_backend,
)
from intake_persist.store.backends.fsspec import FsspecBackend
from intake_persist.store.backends.local import LocalBackend
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


class RegisteredBackend(FsspecBackend):
    """A backend registered by a test, by class or by dotted name."""


def test_backend_for_picks_the_class_by_protocol(tmp_path):
    assert type(backend_for(str(tmp_path / "a"))) is LocalBackend
    assert type(backend_for(f"file://{tmp_path}/b")) is LocalBackend
    assert type(backend_for("memory://picks-fsspec")) is FsspecBackend
    from intake_persist.store.backends.s3 import S3Backend

    assert backend_class("s3") is S3Backend and backend_class("s3a") is S3Backend
    assert backend_class("gcs") is FsspecBackend  # any other protocol


def test_register_backend_by_class_or_dotted_name(monkeypatch):
    monkeypatch.setitem(known_backends, "memory", known_backends[""])  # restored after
    register_backend("memory", RegisteredBackend)
    assert type(backend_for("memory://registered")) is RegisteredBackend
    register_backend("memory", f"{__name__}.RegisteredBackend")
    assert known_backends["memory"] == f"{__name__}.RegisteredBackend"
    assert type(backend_for("memory://registered")) is RegisteredBackend
    with pytest.raises(TypeError, match="Backend subclass"):
        register_backend("memory", object)
    register_backend("memory", "intake_persist.store.backends.s3.with_timeouts")
    with pytest.raises(TypeError, match="with_timeouts.*memory"):
        backend_for("memory://registered")


def test_backends_are_imported_when_first_used(tmp_path):
    """A local store imports neither fsspec nor the other backends' modules."""
    code = textwrap.dedent(f"""
        import sys
        from intake_persist.store.backends import backend_for
        backend_for({str(tmp_path)!r}).tag()
        print(sorted(m for m in sys.modules if m == "fsspec"
                     or m.startswith("intake_persist.store.backends.")))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), text=True,
                         capture_output=True, check=True).stdout
    assert out.split("\n")[0] == str(["intake_persist.store.backends.base",
                                      "intake_persist.store.backends.local",
                                      "intake_persist.store.backends.markers"])



class FolderGoneOnce(LocalBackend):
    """Removes the empty folder a put has just made, once, right before the put opens
    its file: what gc's ``rmdir_if_empty("pending")`` in another process can do."""

    removed = 0

    def _write_file(self, path: str, data: bytes) -> None:
        if not self.removed:
            self.removed += 1
            self.rmdir_if_empty("pending")
            assert not os.path.exists(os.path.dirname(path))
        super()._write_file(path, data)


def test_local_put_survives_gc_removing_its_empty_folder(tmp_path):
    """The folder is made again and the put lands (without the retry, the open
    raised FileNotFoundError)."""
    backend = FolderGoneOnce(str(tmp_path / "store"))
    backend.put("pending/m1", b"x")
    assert backend.removed == 1
    assert backend.read_bytes("pending/m1") == b"x"
