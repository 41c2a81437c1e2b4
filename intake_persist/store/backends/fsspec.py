"""The fsspec backend: a persist path on any fsspec filesystem.

Index writes compare the tag, then write, under a lock of this process: safe
between the threads of one process only, so object stores with conditional
writes get their own subclass (:mod:`.s3`). Every call to the filesystem is
retried when it fails transiently (see :mod:`~intake_persist.store.retry`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..._io import protocol
from ...errors import IndexConflict
from .. import layout, retry
from .base import Backend, Claim, Item
from .markers import marker_info, pid_alive, same_process_space

T = TypeVar("T")


class FsspecBackend(Backend):
    """Any fsspec filesystem. Index writes are compare-then-write under a
    process-local lock: safe between threads and processes of one machine only
    for filesystems without conditional writes. Object stores with conditional
    writes get their own subclass overriding ``write``, ``create_only`` and ``locked``.

    Every call to the filesystem goes through :meth:`_retry`: transient failures are
    retried under ``retry_policy`` (see :mod:`~intake_persist.store.retry`), and a
    spent budget raises :class:`~intake_persist.errors.StoreUnavailableError` naming
    the store, the operation and the path."""

    _thread_locks: dict[str, threading.RLock] = {}

    def __init__(self, root: str, **storage_options: Any) -> None:
        from fsspec.core import url_to_fs

        super().__init__(root.rstrip("/"), **storage_options)
        self.fs, path = url_to_fs(root, **storage_options)
        self._path_root = path.rstrip("/")
        self.protocol = protocol(root) or "file"
        self.index_path = self._path(layout.INDEX)

    def _path(self, rel: str) -> str:
        return f"{self._path_root}/{rel}" if rel else self._path_root

    def url(self, rel: str = "") -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _retry(self, operation: str, key: str | None, fn: Callable[[], T],
               on_retry: Callable[[BaseException, float], Any] | None = None) -> T:
        """``fn()`` with transient failures retried (see :func:`.retry.call`)."""
        return retry.call(fn, store=self.root, where=self.where(), operation=operation,
                          key=key, policy=self.retry_policy, on_retry=on_retry)

    # ---- index part ----------------------------------------------------------------
    @staticmethod
    def _tag_of(info: dict[str, Any]) -> Any:
        for k in ("ETag", "etag", "md5Hash", "mtime", "LastModified", "last_modified", "created"):
            if info.get(k) is not None:
                return (str(info[k]), info.get("size"))
        return (None, info.get("size"))

    def tag(self) -> Any:
        def info() -> dict[str, Any]:
            self.fs.invalidate_cache(self.index_path)
            found: dict[str, Any] = self.fs.info(self.index_path)
            return found

        try:
            return self._tag_of(self._retry("info", layout.INDEX, info))
        except FileNotFoundError:
            return None

    def read(self) -> tuple[bytes | None, Any]:
        tag = self.tag()
        if tag is None:
            return None, None
        try:
            data = self._retry("cat_file", layout.INDEX,
                               lambda: self.fs.cat_file(self.index_path))
        except FileNotFoundError:
            return None, None
        return data, tag

    def write(self, data: bytes, expected_tag: Any) -> Any:
        if self.tag() != expected_tag:
            raise IndexConflict(f"{self.url(layout.INDEX)} changed while it was being updated")
        self._retry("pipe_file", layout.INDEX, lambda: self.fs.pipe_file(self.index_path, data))
        return self.tag()

    def create_only(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        with self.locked():  # check-then-write: atomic between this process's threads
            if self.exists(rel):
                raise FileExistsError(f"{self.url(rel)} already exists")
            self._retry("pipe_file", rel, lambda: self.fs.pipe_file(path, data))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._thread_locks.setdefault(self.root, threading.RLock()):
            yield

    # ---- file part ------------------------------------------------------------------
    def read_bytes(self, rel: str) -> bytes:
        data: bytes = self._retry("cat_file", rel, lambda: self.fs.cat_file(self._path(rel)))
        return data

    def put(self, rel: str, data: bytes) -> None:
        self._retry("pipe_file", rel, lambda: self.fs.pipe_file(self._path(rel), data))

    def exists(self, rel: str) -> bool:
        def exists() -> bool:
            self.fs.invalidate_cache(self._path(rel))
            found: bool = self.fs.exists(self._path(rel))
            return found

        return self._retry("exists", rel, exists)

    def listdir(self, rel: str = "") -> list[Item]:
        path = self._path(rel)

        def ls() -> list[dict[str, Any]]:
            self.fs.invalidate_cache(path)
            infos: list[dict[str, Any]] = self.fs.ls(path, detail=True)
            return infos

        try:
            infos = self._retry("ls", rel or "/", ls)
        except (FileNotFoundError, NotADirectoryError):
            return []
        out = []
        for info in infos:
            name = info["name"].rstrip("/").rsplit("/", 1)[-1]
            if info["name"].rstrip("/") == path.rstrip("/"):
                continue
            mtime = None
            for k in ("mtime", "LastModified", "last_modified", "created"):
                v = info.get(k)
                if v is not None:
                    mtime = v.timestamp() if hasattr(v, "timestamp") else float(v)
                    break
            out.append(Item(name, info.get("type") == "directory", mtime))
        return out

    def rm(self, rel: str) -> None:
        path = self._path(rel)

        def rm() -> None:
            try:
                self.fs.rm(path, recursive=True)
            except FileNotFoundError:
                pass
            finally:
                self.fs.invalidate_cache(path)

        self._retry("rm", rel, rm)

    def rmdir_if_empty(self, rel: str) -> None:
        with contextlib.suppress(Exception):
            if not self.fs.ls(self._path(rel)):
                self.fs.rmdir(self._path(rel))

    def du(self, rel: str) -> int:
        try:
            return int(self._retry("du", rel, lambda: self.fs.du(self._path(rel), total=True)))
        except FileNotFoundError:
            return 0

    # ---- writing markers ------------------------------------------------------------
    def claim(self, rel: str) -> Claim:
        self.create_only(rel, json.dumps(marker_info()).encode())
        return Claim(rel)

    def release(self, claim: Claim) -> None:
        self.rm_file(claim.rel)

    @contextlib.contextmanager
    def dead_writer(self, rel: str, grace: float) -> Iterator[bool]:
        try:
            info = json.loads(self.read_bytes(rel) or b"{}")
        except FileNotFoundError:
            yield True
            return
        except ValueError:
            info = {}
        started = info.get("time")
        if started is None:
            yield False
            return
        if same_process_space(info) and not pid_alive(info["pid"]):
            yield True  # a writer of this machine that is gone
            return
        # another machine (or an object store shared by many): presumed dead once
        # ``grace`` seconds have passed since the marker's timestamp
        yield time.time() - float(started) > grace

    def write_data(self, rel: str, fn: Callable[[], T]) -> T:
        """``fn()``; a transient failure that fsspec did not absorb starts it over (what
        it wrote at ``rel`` removed first) under :attr:`retry_policy`; past the budget
        the error names the store, ``write copy data`` and ``rel``."""
        return retry.call(fn, store=self.root, where=self.where(), operation="write copy data",
                          key=rel, policy=self.retry_policy,
                          on_retry=lambda exc, wait: self.rm(rel))
