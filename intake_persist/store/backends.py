"""How the store touches storage: the index file, create-only publication, files.

A backend is bound to one persist path (``root``). Its interface has two parts.

The *index* part is what differs between kinds of storage, and what an object-store
variant (S3 compare-and-swap) overrides::

    read() -> (bytes | None, tag)          # the index (None when absent) and a version tag
    tag() -> tag | None                    # the tag only, as cheaply as possible (a stat)
    write(data: bytes, expected_tag) -> tag  # replace the index only if its tag is still
                                           # expected_tag (None: only if absent), else
                                           # raise IndexConflict; atomic (never torn)
    create_only(rel: str, data: bytes) -> None  # create a file atomically; FileExistsError
                                           # if it exists (publication of a copy)
    locked() -> context manager            # serialises index updates where possible
                                           # (local: filelock; object store: nullcontext)

The *file* part (``url``, ``read_bytes``, ``put``, ``exists``, ``listdir``, ``rm``,
``du``, ``claim``/``release``/``writer_state`` for writing markers) is implemented
for any fsspec filesystem by :class:`FsspecBackend`, and with the standard library
by :class:`LocalBackend` (no fsspec import on the lookup path).

:func:`backend_for` picks the class for a path: register another one with
:func:`register_backend` (``register_backend("s3", S3Backend)``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .._io import is_local, protocol, strip_file_scheme
from ..errors import IndexConflict, StoreWriteError  # noqa: F401
from . import layout, retry
from .retry import DEFAULT_POLICY

if TYPE_CHECKING:
    from filelock import BaseFileLock

T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    name: str
    isdir: bool
    mtime: float | None = None


@dataclass
class Claim:
    """A writer's marker for one unpublished copy (see :meth:`LocalBackend.claim`)."""

    rel: str
    fd: int | None = None


_NS: str | None = None


def _namespace() -> str:
    """What makes a pid meaningful beside the host name: the kernel's boot id and the
    pid namespace (containers on one machine, even with the host's name, differ)."""
    global _NS
    if _NS is None:
        parts = []
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                parts.append(f.read().strip())
        except OSError:
            pass
        try:
            parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
        except OSError:
            pass
        _NS = ":".join(parts)
    return _NS


def _marker_info() -> dict[str, Any]:
    return {"host": layout.hostname(), "pid": os.getpid(), "time": time.time(),
            "ns": _namespace()}


def _same_process_space(info: dict[str, Any]) -> bool:
    """True when the pid in a marker can be checked here (same host and namespace)."""
    return (info.get("host") == layout.hostname() and isinstance(info.get("pid"), int)
            and info.get("ns", _namespace()) == _namespace())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- write errors

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


# --------------------------------------------------------------------------- local


class LocalBackend:
    """A persist path on the local filesystem (or a mounted share)."""

    is_local = True
    _thread_locks: dict[str, threading.RLock] = {}

    def __init__(self, root: str, **storage_options: Any):
        self.root = os.path.abspath(os.path.expanduser(strip_file_scheme(root)))
        self.storage_options = dict(storage_options)
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
            os.makedirs(os.path.dirname(path), exist_ok=True)
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
        os.write(fd, json.dumps(_marker_info()).encode())
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
                yield not _pid_alive(info["pid"])
                return
            started = info.get("time") or os.fstat(fd).st_mtime
            yield time.time() - float(started) > grace
        finally:
            os.close(fd)

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


# --------------------------------------------------------------------------- fsspec


class FsspecBackend:
    """Any fsspec filesystem. Index writes are compare-then-write under a
    process-local lock: safe between threads and processes of one machine only
    for filesystems without conditional writes. Object stores with conditional
    writes get their own subclass overriding ``write``, ``create_only`` and ``locked``.

    Every call to the filesystem goes through :meth:`_retry`: transient failures are
    retried under ``retry_policy`` (see :mod:`.retry`), and a spent budget raises
    :class:`~intake_persist.errors.StoreUnavailableError` naming the store, the
    operation and the path."""

    is_local = False
    _thread_locks: dict[str, threading.RLock] = {}
    retry_policy = DEFAULT_POLICY

    def __init__(self, root: str, **storage_options: Any):
        from fsspec.core import url_to_fs

        self.storage_options = dict(storage_options)
        self.fs, path = url_to_fs(root, **storage_options)
        self._path_root = path.rstrip("/")
        self.protocol = protocol(root) or "file"
        self.root = root.rstrip("/")
        self.index_path = self._path(layout.INDEX)

    def _path(self, rel: str) -> str:
        return f"{self._path_root}/{rel}" if rel else self._path_root

    def url(self, rel: str = "") -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _where(self) -> str:
        """The store as named in error messages."""
        return self.root

    def _retry(self, operation: str, key: str | None, fn: Callable[[], T],
               on_retry: Callable[[BaseException, float], Any] | None = None) -> T:
        """``fn()`` with transient failures retried (see :func:`.retry.call`)."""
        return retry.call(fn, store=self.root, where=self._where(), operation=operation,
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
        self.create_only(rel, json.dumps(_marker_info()).encode())
        return Claim(rel)

    def release(self, claim: Claim) -> None:
        self.rm(claim.rel)

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
        if _same_process_space(info) and not _pid_alive(info["pid"]):
            yield True  # a writer of this machine that is gone
            return
        # another machine (or an object store shared by many): presumed dead once
        # ``grace`` seconds have passed since the marker's timestamp
        yield time.time() - float(started) > grace


# --------------------------------------------------------------------------- choice

_BACKENDS: dict[str, Callable[..., Any]] = {}


def register_backend(protocol_name: str, cls: Callable[..., Any]) -> None:
    """Use ``cls(root, **storage_options)`` for persist paths of this protocol."""
    _BACKENDS[protocol_name] = cls


def backend_for(path: str, storage_options: dict[str, Any] | None = None) -> Any:
    """The backend for a persist path: local paths use the standard library."""
    storage_options = dict(storage_options or {})
    if is_local(path):
        return LocalBackend(path, **storage_options)
    proto = protocol(path) or ""
    cls = _BACKENDS.get(proto)
    if cls is None and proto in ("s3", "s3a"):
        try:  # the object-store variant, when it exists (issue 4)
            from .s3 import S3Backend

            cls = S3Backend
        except ImportError:
            cls = None
    return (cls or FsspecBackend)(path, **storage_options)
