"""The local backend: a persist path on the local filesystem (or a mounted share),
with the standard library only (no fsspec import on the lookup path).

Index writes go to a temporary file, are fsynced and renamed over ``cat.yaml``
under a lock (a thread lock in the process, ``filelock`` on ``cat.yaml.lock``
between processes); create-only files are hard-linked into place; writing markers
hold an ``flock`` that the kernel drops when their writer dies. Storage refusals
(disk full, read-only...) become :class:`~intake_persist.errors.StoreWriteError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType

from ..._io import strip_file_scheme
from ...errors import IndexConflict, StoreWriteError
from .. import layout
from .base import Backend, Claim, Item
from .markers import marker_info, pid_alive

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from filelock import BaseFileLock

    T = TypeVar("T")


#: errno values that mean "the storage refuses the write" (full, too large, denied,
#: read-only), as opposed to a bug or a vanished file
WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EFBIG", "EDQUOT", "EACCES", "EPERM", "EROFS")
    if hasattr(errno, name)
)


def _errno_of(exc: BaseException) -> int | None:
    """The errno of an OSError, also when a library put it only in the message
    (``[Errno 27] File too large``)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    import re

    m = re.search(r"\[errno (\d+)\]", str(exc), re.I)
    return int(m.group(1)) if m else None


def write_error(exc: BaseException, store: str, path: str, doing: str) -> StoreWriteError | None:
    """A :class:`StoreWriteError` for ``exc`` when it is a refusal of the storage
    (:data:`WRITE_ERRNOS`), else None. ``path`` is what was being written (the
    file named by ``exc`` wins when it has one)."""
    if isinstance(exc, StoreWriteError) or not isinstance(exc, OSError):
        return None
    code = _errno_of(exc)
    if code is None or code not in WRITE_ERRNOS:
        return None
    where = getattr(exc, "filename", None) or path
    reason = exc.strerror or os.strerror(code)
    return StoreWriteError(
        f"cannot {doing} {where} in the persist store {store}: [Errno {code}] {reason}",
        store=store, path=str(where), errno=code,
    )


@contextlib.contextmanager
def writing(store: str, path: str, doing: str) -> Iterator[None]:
    """Storage refusals inside become :class:`StoreWriteError` naming store and path."""
    try:
        yield
    except OSError as exc:
        err = write_error(exc, store, path, doing)
        if err is None:
            raise
        raise err from exc


class LocalBackend(Backend):
    """A persist path on the local filesystem (or a mounted share)."""

    local_paths = True
    uses_lock_file = True
    supports_claim_locks = True
    #: seconds a refresher waits for another one's lock before going ahead anyway
    advisory_wait = 3600.0
    _thread_locks: dict[str, threading.RLock] = {}

    def __init__(self, root: str, **storage_options: Any) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(strip_file_scheme(root))),
                         **storage_options)
        self.index_path = os.path.join(self.root, layout.INDEX)
        self._lock: BaseFileLock | None = None

    # ---- index part ----------------------------------------------------------------
    def tag(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self) -> tuple[bytes | None, tuple[int, int, int] | None]:
        try:
            with open(self.index_path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except FileNotFoundError:
            return None, None
        return data, (st.st_ino, st.st_mtime_ns, st.st_size)

    def write(self, data: bytes, expected_tag: Any) -> tuple[int, int, int]:
        if self.tag() != expected_tag:
            raise IndexConflict(f"{self.index_path} changed while it was being updated")
        tmp = os.path.join(self.root, layout.tmp_name(layout.INDEX))
        try:
            with writing(self.root, self.index_path, "write the index"):
                os.makedirs(self.root, exist_ok=True)
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.index_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._fsync_dir(self.root)
        tag = self.tag()
        assert tag is not None
        return tag

    def create_only(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        tmp = os.path.join(os.path.dirname(path), layout.tmp_name("." + os.path.basename(path)))
        try:
            with writing(self.root, path, "write"):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(tmp, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        try:
            try:
                os.link(tmp, path)  # atomic, and fails if path exists
            except FileExistsError:
                raise FileExistsError(f"{path} already exists") from None
            except OSError:  # filesystems without hard links
                if os.path.exists(path):
                    raise FileExistsError(f"{path} already exists") from None
                with writing(self.root, path, "write"):
                    os.rename(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._fsync_dir(os.path.dirname(path))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        # threads of one process: an RLock; processes: filelock on cat.yaml.lock
        tlock = self._thread_locks.setdefault(self.root, threading.RLock())
        with tlock:
            with writing(self.root, self.root, "create the folder"):
                os.makedirs(self.root, exist_ok=True)  # again: clear() removes an empty store
            lock_path = os.path.join(self.root, layout.LOCK)
            if self._lock is None:
                from filelock import FileLock

                self._lock = FileLock(lock_path, thread_local=False)
            with writing(self.root, lock_path, "take the lock"):
                self._lock.acquire()
            try:
                yield
            finally:
                self._lock.release()

    # ---- file part ------------------------------------------------------------------
    def _path(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/")) if rel else self.root

    def url(self, rel: str = "") -> str:
        return self._path(rel)

    def read_bytes(self, rel: str) -> bytes:
        with open(self._path(rel), "rb") as f:
            return f.read()

    def put(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        with writing(self.root, path, "write"):
            # gc removes folders it empties (pending/): one can vanish between the
            # makedirs and the open, so both are tried again
            for attempt in range(20):
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    self._write_file(path, data)
                    return
                except (FileNotFoundError, FileExistsError):
                    if attempt == 19:
                        raise

    def _write_file(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path``, whose folder ``put`` has just made (apart, so a
        test can remove the folder at that moment, as a gc elsewhere may)."""
        with open(path, "wb") as f:
            f.write(data)

    def exists(self, rel: str) -> bool:
        return os.path.exists(self._path(rel))

    def listdir(self, rel: str = "") -> list[Item]:
        out = []
        try:
            with os.scandir(self._path(rel)) as it:
                for e in it:
                    try:
                        out.append(Item(e.name, e.is_dir(), e.stat().st_mtime))
                    except FileNotFoundError:
                        continue
        except (FileNotFoundError, NotADirectoryError):
            return []
        return out

    def rm(self, rel: str) -> None:
        path = self._path(rel)
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
            if os.path.exists(path):
                shutil.rmtree(path)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def rmdir_if_empty(self, rel: str) -> None:
        with contextlib.suppress(OSError):
            os.rmdir(self._path(rel))

    def du(self, rel: str) -> int:
        path = self._path(rel)
        if os.path.isfile(path):
            return os.path.getsize(path)
        total = 0
        for dirpath, _dirs, files in os.walk(path):
            for f in files:
                with contextlib.suppress(OSError):
                    total += os.path.getsize(os.path.join(dirpath, f))
        return total

    # ---- writing markers ------------------------------------------------------------
    def claim(self, rel: str) -> Claim:
        """Create the marker ``rel`` (create-only) and hold an flock on it while writing.

        The kernel drops the flock when the writer dies, even by SIGKILL, so ``gc`` can
        tell a dead writer from a live one without trusting pids."""
        path = self._path(rel)
        with writing(self.root, path, "create the writing marker"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # gc may have taken and removed it between create and flock
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileExistsError(path)
        except ImportError:  # pragma: no cover - no flock: pid and age decide
            pass
        except (BlockingIOError, FileNotFoundError, FileExistsError) as exc:
            os.close(fd)
            raise FileExistsError(path) from exc
        os.write(fd, json.dumps(marker_info()).encode())
        os.fsync(fd)
        return Claim(rel, fd)

    def release(self, claim: Claim) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(claim.rel))
        if claim.fd is not None:
            os.close(claim.fd)
            claim.fd = None

    @contextlib.contextmanager
    def dead_writer(self, rel: str, grace: float) -> Iterator[bool]:
        """Yield True, holding the marker's lock, if the writer behind marker ``rel``
        is gone (its marker may then be removed); False if it may still be writing."""
        path = self._path(rel)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield True
            return
        try:
            try:
                info = json.loads(os.read(fd, 4096) or b"{}")
            except ValueError:
                info = {}
            host = info.get("host")
            fcntl: ModuleType | None
            try:
                import fcntl
            except ImportError:  # pragma: no cover
                fcntl = None
            if fcntl is not None and host in (None, layout.hostname()):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                yield True
                return
            if host == layout.hostname() and isinstance(info.get("pid"), int):
                yield not pid_alive(info["pid"])
                return
            started = info.get("time") or os.fstat(fd).st_mtime
            yield time.time() - float(started) > grace
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def advisory_lock(self, rel: str) -> Iterator[None]:
        """A file lock on ``rel``, dropped by the kernel with its holder; after
        :attr:`advisory_wait` seconds a waiter goes ahead anyway (a stuck holder)."""
        from filelock import FileLock, Timeout

        path = self._path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lock = FileLock(path, thread_local=False)
        try:
            lock.acquire(timeout=self.advisory_wait)
        except Timeout:
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def write_data(self, rel: str, fn: Callable[[], T]) -> T:
        """``fn()``; a refusal of the storage becomes a :class:`StoreWriteError`."""
        with writing(self.root, self.url(rel), "write the copy"):
            return fn()

    @staticmethod
    def _fsync_dir(path: str) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


