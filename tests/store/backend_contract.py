"""The contract of an index backend (``intake_persist.store.backends``), as one test
class. Subclass it with a ``backend_url`` fixture (and ``storage_options`` if needed)
to check a backend: ``test_backends.py`` does for local disk, ``memory://`` and S3
(moto); ``tests/integration/test_seaweedfs.py`` for SeaweedFS.

Each test gets fresh backend objects for one new persist path (``make()`` gives
another object on the same path, as another process would have).
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from intake_persist.store import layout
from intake_persist.store.backends import IndexConflict, backend_for
from intake_persist.store.index import Index


class BackendContract:
    """read / tag / write / create_only / locked, and the file and marker helpers."""

    cls_name: str = ""  # the expected backend class name
    threads = 6

    @pytest.fixture
    def storage_options(self):
        return {}

    @pytest.fixture
    def make(self, backend_url, storage_options):
        return lambda: backend_for(backend_url, storage_options)

    @pytest.fixture
    def backend(self, make):
        return make()

    # ---- the index part ---------------------------------------------------------------
    def test_class(self, backend):
        assert type(backend).__name__ == self.cls_name

    def test_absent(self, backend):
        assert backend.read() == (None, None)
        assert backend.tag() is None

    def test_create_then_read(self, backend, make):
        tag = backend.write(b"v1", None)
        assert tag is not None
        data, tag2 = make().read()
        assert data == b"v1" and tag2 == tag
        assert backend.tag() == tag

    def test_create_only_when_absent(self, backend, make):
        backend.write(b"v1", None)
        with pytest.raises(IndexConflict):
            make().write(b"v2", None)
        assert backend.read()[0] == b"v1"

    def test_swap_with_current_tag(self, backend):
        t1 = backend.write(b"v1", None)
        t2 = backend.write(b"v2 longer", t1)
        assert t2 != t1
        assert backend.read() == (b"v2 longer", t2)

    def test_stale_tag_conflicts(self, backend, make):
        t1 = backend.write(b"v1", None)
        other = make()
        other.write(b"v2 from another writer", other.read()[1])
        with pytest.raises(IndexConflict):
            backend.write(b"v3", t1)
        assert backend.read()[0] == b"v2 from another writer"

    def test_expected_tag_of_a_deleted_index_conflicts(self, backend):
        t1 = backend.write(b"v1", None)
        backend.rm(layout.INDEX)
        with pytest.raises(IndexConflict):
            backend.write(b"v2", t1)

    def test_locked_is_a_reentrant_context_manager(self, backend):
        with backend.locked():
            with backend.locked():
                backend.write(b"v1", None)
        assert backend.read()[0] == b"v1"

    # ---- create-only publication ------------------------------------------------------
    def test_create_only(self, backend, make):
        rel = "0123/20200101T000000.000000-00000000.meta.yaml"
        backend.create_only(rel, b"first")
        with pytest.raises(FileExistsError) as err:
            make().create_only(rel, b"second")
        assert rel in str(err.value)
        assert backend.read_bytes(rel) == b"first"

    def test_racing_create_only_has_one_winner(self, make):
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

        threads = [threading.Thread(target=go, args=(i,)) for i in range(self.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors and len(winners) == 1 and len(losers) == self.threads - 1
        assert make().read_bytes(rel) == str(winners[0]).encode()

    def test_racing_index_updates_lose_nothing(self, make):
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

        threads = [threading.Thread(target=go, args=(i,)) for i in range(self.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors
        assert len(Index(make()).entries()) == self.threads * per_writer

    # ---- the file part ----------------------------------------------------------------
    def test_files(self, backend):
        before = time.time()
        backend.put("tok/v1/part.0", b"abc")
        backend.put("tok/v1/part.1", b"defg")
        backend.put("tok/v1.meta.yaml", b"meta")
        assert backend.exists("tok/v1.meta.yaml") and backend.exists("tok/v1")
        assert not backend.exists("tok/v2.meta.yaml")
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
        assert [i.name for i in backend.listdir("tok")] == ["v1.meta.yaml"]
        backend.rm("tok/v1.meta.yaml")
        backend.rmdir_if_empty("tok")
        assert [i.name for i in backend.listdir("")] == []
        assert backend.url("a/b").startswith(backend.url()) and backend.url("a/b").endswith("a/b")

    # ---- writing markers --------------------------------------------------------------
    def test_claim_release(self, backend, make):
        rel = layout.writing_rel("0" * 32, layout.new_vid())
        claim = backend.claim(rel)
        with pytest.raises(FileExistsError):
            make().claim(rel)
        info = json.loads(backend.read_bytes(rel))
        assert info["host"] == layout.hostname() and isinstance(info["time"], float)
        with make().dead_writer(rel, grace=3600) as dead:
            assert not dead  # this process is alive and writing
        backend.release(claim)
        assert not backend.exists(rel)
        with make().dead_writer(rel, grace=3600) as dead:
            assert dead  # no marker: nobody writes

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
