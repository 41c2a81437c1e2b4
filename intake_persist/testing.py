"""The contract of a persist-store backend, as a pytest test class that a
third-party backend can run (as ``zarr.testing.store`` and
``fsspec.tests.abstract`` ship theirs).

Subclass :class:`BackendContract` in a test module, name the expected class and
give a ``backend_url`` fixture (and ``storage_options`` if the backend needs
them); every test then runs against a fresh persist path::

    import pytest

    from intake_persist.testing import BackendContract

    class TestMyBackend(BackendContract):
        cls_name = "MyBackend"

        @pytest.fixture
        def backend_url(self, tmp_path):
            return f"myproto://bucket/{tmp_path.name}"

Each test gets fresh backend objects for one new persist path (``make()`` gives
another object on the same path, as another process would have). What the
backend wrote is checked twice: through the backend, and through an
:class:`IndependentReader` (plain ``open``/``os`` calls for local paths,
a fresh fsspec filesystem otherwise) that shares no code with the backend. A
backend whose files fsspec cannot read overrides the ``reader`` fixture.

The suite needs pytest (the ``test`` extra); this module is imported only by
test code.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest

from .errors import IndexConflict
from .store import layout
from .store.backends import Backend, backend_for
from .store.index import Index

__all__ = ["BackendContract", "IndependentReader"]


class IndependentReader:
    """Reads a persist path without the backend under test: ``open`` and ``os``
    for local paths, a new fsspec filesystem instance (no shared cache) otherwise."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec.core

        self.url = url
        if "://" not in url or url.startswith("file://"):
            self.fs = None
            root = url[len("file://"):] if url.startswith("file://") else url
            self.root = os.path.abspath(os.path.expanduser(root))
        else:
            self.fs, self.root = fsspec.core.url_to_fs(
                url, skip_instance_cache=True, **(storage_options or {})
            )
            self.root = self.root.rstrip("/")

    def _path(self, rel: str) -> str:
        if self.fs is None:
            return os.path.join(self.root, *rel.split("/")) if rel else self.root
        return f"{self.root}/{rel}" if rel else self.root

    def cat(self, rel: str) -> bytes | None:
        """The bytes of the file ``rel``, or None when there is none."""
        path = self._path(rel)
        if self.fs is None:
            try:
                with open(path, "rb") as f:
                    return f.read()
            except (FileNotFoundError, IsADirectoryError):
                return None
        self.fs.invalidate_cache()
        try:
            data: bytes = self.fs.cat_file(path)
        except (FileNotFoundError, IsADirectoryError):
            return None
        return data

    def exists(self, rel: str) -> bool:
        """True when a file or a folder (a prefix, on object stores) ``rel`` is there."""
        path = self._path(rel)
        if self.fs is None:
            return os.path.exists(path)
        self.fs.invalidate_cache()
        found: bool = self.fs.exists(path)
        return found

    def names(self, rel: str = "") -> set[str]:
        """Names of the files and folders directly under ``rel`` (empty if none)."""
        path = self._path(rel)
        if self.fs is None:
            return set(os.listdir(path)) if os.path.isdir(path) else set()
        self.fs.invalidate_cache()
        try:
            items = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return set()
        return {p.rstrip("/").rsplit("/", 1)[-1] for p in items if p.rstrip("/") != path}


def _run_at_once(go: Any, n: int, timeout: float) -> None:
    """Run ``go(0)`` ... ``go(n - 1)`` in ``n`` threads and wait for them all."""
    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


class BackendContract:
    """The :class:`~intake_persist.store.backends.Backend` interface: the index (read,
    tag, write, locked), files, writers' markers, the advisory lock and what the
    capability flags promise."""

    cls_name: str = ""  # the expected backend class name
    threads = 6

    @pytest.fixture
    def storage_options(self):
        return {}

    @pytest.fixture
    def make(self, backend_url, storage_options):
        return lambda: backend_for(backend_url, **storage_options)

    @pytest.fixture
    def backend(self, make):
        return make()

    @pytest.fixture
    def reader(self, backend_url, storage_options):
        """Reads what the backend wrote without the backend (override for a store
        that fsspec cannot read)."""
        return IndependentReader(backend_url, storage_options)

    # ---- the index part ---------------------------------------------------------------
    def test_class(self, backend):
        assert type(backend).__name__ == self.cls_name
        assert isinstance(backend, Backend)
        for flag in ("local_paths", "uses_lock_file", "supports_claim_locks"):
            assert isinstance(getattr(backend, flag), bool), flag

    def test_local_paths_flag(self, backend, reader):
        backend.put("tok/file", b"abc")
        assert reader.cat("tok/file") == b"abc"
        if backend.local_paths:  # plain paths: the OS reads them
            with open(backend.url("tok/file"), "rb") as f:
                assert f.read() == b"abc"
        else:
            assert "://" in backend.url("tok/file")

    def test_absent(self, backend, reader):
        assert backend.read() == (None, None)
        assert backend.tag() is None
        assert reader.cat(layout.INDEX) is None

    def test_create_then_read(self, backend, make, reader):
        tag = backend.write(b"v1", None)
        assert tag is not None
        assert reader.cat(layout.INDEX) == b"v1"
        data, tag2 = make().read()
        assert data == b"v1" and tag2 == tag
        assert backend.tag() == tag

    def test_create_only_when_absent(self, backend, make, reader):
        backend.write(b"v1", None)
        with pytest.raises(IndexConflict):
            make().write(b"v2", None)
        assert backend.read()[0] == b"v1"
        assert reader.cat(layout.INDEX) == b"v1"

    def test_swap_with_current_tag(self, backend, reader):
        t1 = backend.write(b"v1", None)
        t2 = backend.write(b"v2 longer", t1)
        assert t2 != t1
        assert backend.read() == (b"v2 longer", t2)
        assert reader.cat(layout.INDEX) == b"v2 longer"

    def test_stale_tag_conflicts(self, backend, make, reader):
        t1 = backend.write(b"v1", None)
        other = make()
        other.write(b"v2 from another writer", other.read()[1])
        with pytest.raises(IndexConflict):
            backend.write(b"v3", t1)
        assert backend.read()[0] == b"v2 from another writer"
        assert reader.cat(layout.INDEX) == b"v2 from another writer"

    def test_expected_tag_of_a_deleted_index_conflicts(self, backend, reader):
        t1 = backend.write(b"v1", None)
        backend.rm(layout.INDEX)
        assert reader.cat(layout.INDEX) is None
        with pytest.raises(IndexConflict):
            backend.write(b"v2", t1)
        assert reader.cat(layout.INDEX) is None

    def test_locked_is_a_reentrant_context_manager(self, backend, reader):
        with backend.locked():
            with backend.locked():
                backend.write(b"v1", None)
        assert backend.read()[0] == b"v1"
        assert reader.cat(layout.INDEX) == b"v1"
        # the flag says whether a lock file is left beside the index
        assert reader.exists(layout.LOCK) is backend.uses_lock_file

    # ---- create-only publication ------------------------------------------------------
    def test_create_only(self, backend, make, reader):
        rel = "0123/20200101T000000.000000-00000000.meta.yaml"
        backend.create_only(rel, b"first")
        with pytest.raises(FileExistsError) as err:
            make().create_only(rel, b"second")
        assert rel in str(err.value)
        assert backend.read_bytes(rel) == b"first"
        assert reader.cat(rel) == b"first"

    def test_racing_create_only_has_one_winner(self, make, reader):
        rel = "race/marker"
        winners, losers, errors = [], [], []
        backends = [make() for _ in range(self.threads)]
        barrier = threading.Barrier(self.threads)

        def go(i):
            barrier.wait(timeout=30)
            try:
                backends[i].create_only(rel, str(i).encode())
                winners.append(i)
            except FileExistsError:
                losers.append(i)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        _run_at_once(go, self.threads, timeout=60)
        assert not errors and len(winners) == 1 and len(losers) == self.threads - 1
        assert make().read_bytes(rel) == str(winners[0]).encode()
        assert reader.cat(rel) == str(winners[0]).encode()

    def test_racing_index_updates_lose_nothing(self, make, reader):
        """Index.update (read, change, conditional write, retry) from several writers."""
        per_writer, errors = 4, []

        def go(i):
            index = Index(make())
            try:
                for r in range(per_writer):
                    def fn(entries, key=f"{i:016x}{r:016x}"):
                        entries[key] = {"driver": "parquet", "args": {"urlpath": key},
                                        "metadata": {"writer": i}}
                    index.update(fn)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        _run_at_once(go, self.threads, timeout=120)
        assert not errors
        assert len(Index(make()).entries()) == self.threads * per_writer
        import yaml  # an index file is YAML: read with a parser of its own

        raw = reader.cat(layout.INDEX)
        assert raw is not None
        assert len(yaml.safe_load(raw)["sources"]) == self.threads * per_writer

    # ---- the file part ----------------------------------------------------------------
    def test_files(self, backend, reader):
        before = time.time()
        backend.put("tok/v1/part.0", b"abc")
        backend.put("tok/v1/part.1", b"defg")
        backend.put("tok/v1.meta.yaml", b"meta")
        assert backend.exists("tok/v1.meta.yaml") and backend.exists("tok/v1")
        assert not backend.exists("tok/v2.meta.yaml")
        assert reader.cat("tok/v1/part.0") == b"abc" and reader.cat("tok/v1/part.1") == b"defg"
        assert reader.names("tok") == {"v1", "v1.meta.yaml"}
        items = {i.name: i for i in backend.listdir("tok")}
        assert set(items) == {"v1", "v1.meta.yaml"}
        assert items["v1"].isdir and not items["v1.meta.yaml"].isdir
        # when it was written (whole seconds on S3)
        assert before - 2 <= items["v1.meta.yaml"].mtime <= time.time() + 2
        assert backend.du("tok/v1") == 7
        assert backend.listdir("nothing-here") == []
        backend.rm("tok/v1")
        backend.rm("tok/v1")  # absent: no error
        assert not backend.exists("tok/v1")
        assert not reader.exists("tok/v1") and reader.cat("tok/v1/part.0") is None
        assert [i.name for i in backend.listdir("tok")] == ["v1.meta.yaml"]
        backend.rm("tok/v1.meta.yaml")
        backend.rmdir_if_empty("tok")
        assert [i.name for i in backend.listdir("")] == []
        assert reader.names("") == set()
        assert backend.url("a/b").startswith(backend.url()) and backend.url("a/b").endswith("a/b")

    # ---- writing markers --------------------------------------------------------------
    def test_claim_release(self, backend, make, reader):
        rel = layout.writing_rel("0" * 32, layout.new_vid())
        claim = backend.claim(rel)
        with pytest.raises(FileExistsError):
            make().claim(rel)
        info = json.loads(backend.read_bytes(rel))
        assert json.loads(reader.cat(rel) or b"null") == info
        assert info["host"] == layout.hostname() and isinstance(info["time"], float)
        with make().dead_writer(rel, grace=3600) as dead:
            assert not dead  # this process is alive and writing
        backend.release(claim)
        assert not backend.exists(rel)
        assert reader.cat(rel) is None
        with make().dead_writer(rel, grace=3600) as dead:
            assert dead  # no marker: nobody writes

    def test_claim_lock_outlives_grace(self, backend, make):
        """With ``supports_claim_locks``, a live writer is alive whatever the grace."""
        rel = layout.writing_rel("3" * 32, layout.new_vid())
        claim = backend.claim(rel)
        try:
            time.sleep(0.01)
            with make().dead_writer(rel, grace=0) as dead:
                assert not (dead and backend.supports_claim_locks)
        finally:
            backend.release(claim)

    def test_advisory_lock_has_one_holder(self, make, reader):
        rel = "4" * 32 + "/.refresh.lock"
        first, second = make(), make()
        held, entered, leave = threading.Event(), threading.Event(), threading.Event()

        def hold():
            with first.advisory_lock(rel):
                held.set()
                leave.wait(timeout=30)

        def wait_for_it():
            held.wait(timeout=30)
            with second.advisory_lock(rel):
                entered.set()

        threads = [threading.Thread(target=hold), threading.Thread(target=wait_for_it)]
        for t in threads:
            t.start()
        assert held.wait(timeout=30)
        assert not entered.wait(timeout=0.5)  # not while the first one holds it
        leave.set()
        assert entered.wait(timeout=30)
        for t in threads:
            t.join(timeout=30)

    def test_write_data(self, backend, reader):
        def fn():
            backend.put("tok/v1/part.0", b"data")
            return 42

        assert backend.write_data("tok/v1", fn) == 42
        assert reader.cat("tok/v1/part.0") == b"data"

        def broken():
            raise ValueError("not a storage failure")

        with pytest.raises(ValueError, match="not a storage failure"):
            backend.write_data("tok/v2", broken)

    def test_dead_writer_of_another_host_after_grace(self, backend):
        rel = layout.writing_rel("1" * 32, layout.new_vid())
        info = {"host": "another-machine", "pid": 1, "time": time.time() - 100}
        backend.put(rel, json.dumps(info).encode())
        with backend.dead_writer(rel, grace=3600) as dead:
            assert not dead
        with backend.dead_writer(rel, grace=10) as dead:
            assert dead

    def test_dead_writer_of_this_host_whose_pid_is_gone(self, backend):
        rel = layout.writing_rel("2" * 32, layout.new_vid())
        info = {"host": layout.hostname(), "pid": 999_999_999, "time": time.time()}
        backend.put(rel, json.dumps(info).encode())
        with backend.dead_writer(rel, grace=3600) as dead:
            assert dead
