"""The :class:`Backend` interface: what the persist store needs from storage.

A backend is bound to one persist path (its ``root``) and has three parts:

* the *index*: ``tag``, ``read``, ``write`` (compare-and-swap on the tag) and
  ``locked`` (serialises updates where storage cannot compare-and-swap);
* *files*: ``create_only`` (publication), ``put``, ``read_bytes``, ``exists``,
  ``listdir``, ``rm``, ``rmdir_if_empty``, ``du``, ``url``;
* *writers*: ``claim`` / ``release`` a writing marker and ``dead_writer`` (liveness),
  on which the default ``advisory_lock`` (a lease) is built.

Capability flags (class attributes) say what a backend can do, so the store never
asks which kind of storage it talks to.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from ..._frozen import Frozen
from ..retry import DEFAULT_POLICY, RetryPolicy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeAlias, TypeVar

    T = TypeVar("T")
    #: The version tag of the index file (inode/mtime/size, an ETag...): compared for
    #: equality only
    Tag: TypeAlias = Any
else:
    Tag = object  # only a name at run time (typing is not imported on the lookup path)

#: Seconds after which a lease (see :meth:`Backend.advisory_lock`) is stale
LEASE = 600.0


class Item(Frozen):
    """One entry of :meth:`Backend.listdir`; ``mtime`` in seconds since the epoch."""

    _fields = ("name", "isdir", "mtime")
    name: str
    isdir: bool
    mtime: float | None

    def __init__(self, name: str, isdir: bool, mtime: float | None = None) -> None:
        self._set(name=name, isdir=isdir, mtime=mtime)


class Claim:
    """A writer's marker for one unpublished copy (see :meth:`Backend.claim`); compared
    by value (and so, mutable, not hashable)."""

    def __init__(self, rel: str, fd: int | None = None) -> None:
        self.rel = rel
        self.fd = fd

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Claim) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.rel, self.fd) == (other.rel, other.fd)

    def __repr__(self) -> str:
        return f"Claim(rel={self.rel!r}, fd={self.fd!r})"


class Backend(ABC):
    """Storage for one persist path (``root``, as the subclass normalises it). Paths
    given to methods (``rel``) are relative to ``root`` and use ``/``."""

    #: ``url()`` gives paths of the local filesystem: ``open`` reads them and readers
    #: need no storage options (False: fsspec URLs, read with ``storage_options``)
    local_paths: ClassVar[bool] = False
    #: ``locked()`` keeps a lock file (``layout.LOCK``) beside the index; it goes
    #: with the index when the store is emptied
    uses_lock_file: ClassVar[bool] = False
    #: a claim holds a lock that the system drops when its writer dies, so
    #: ``dead_writer`` tells a live writer of any age from a dead one (no grace needed)
    supports_claim_locks: ClassVar[bool] = False

    #: how transient failures of remote storage are retried (see
    #: :mod:`~intake_persist.store.retry`)
    retry_policy: RetryPolicy = DEFAULT_POLICY

    def __init__(self, root: str, **storage_options: Any) -> None:
        self.root = root
        self.storage_options = dict(storage_options)

    def where(self) -> str:
        """The store as named in error messages."""
        return self.root

    # ---- the index --------------------------------------------------------------------
    @abstractmethod
    def tag(self) -> Tag | None:
        """The index file's tag, None when it is absent; as cheap as possible (a stat)."""

    @abstractmethod
    def read(self) -> tuple[bytes | None, Tag | None]:
        """The index's bytes and their tag, ``(None, None)`` when it is absent."""

    @abstractmethod
    def write(self, data: bytes, expected_tag: Tag | None) -> Tag:
        """Replace the index, atomically, only if its tag is still ``expected_tag``
        (None: only if absent); else raise :class:`~intake_persist.errors.IndexConflict`.
        Returns the new tag."""

    @abstractmethod
    def locked(self) -> AbstractContextManager[None]:
        """A reentrant context that serialises index updates where storage needs it
        (a file lock; nothing where ``write`` is a conditional write)."""

    # ---- files ------------------------------------------------------------------------
    @abstractmethod
    def url(self, rel: str = "") -> str:
        """The path or URL of ``rel`` (of the root when empty)."""

    @abstractmethod
    def create_only(self, rel: str, data: bytes) -> None:
        """Create the file ``rel`` atomically; ``FileExistsError`` naming it if it exists."""

    @abstractmethod
    def put(self, rel: str, data: bytes) -> None:
        """Write the file ``rel``, replacing what is there."""

    @abstractmethod
    def read_bytes(self, rel: str) -> bytes:
        """The content of the file ``rel``; ``FileNotFoundError`` when absent."""

    @abstractmethod
    def exists(self, rel: str) -> bool:
        """True when a file or a folder (prefix) ``rel`` exists."""

    @abstractmethod
    def listdir(self, rel: str = "") -> list[Item]:
        """What is directly under ``rel``; empty when it is absent."""

    @abstractmethod
    def rm(self, rel: str) -> None:
        """Remove the file or folder ``rel`` (recursively); absent is no error."""

    def rm_file(self, rel: str) -> None:
        """Remove the file ``rel`` (a marker: never a folder); absent is no error.
        Storage that deletes one key in one request overrides this :meth:`rm`."""
        self.rm(rel)

    @abstractmethod
    def rmdir_if_empty(self, rel: str) -> None:
        """Remove the folder ``rel`` if nothing is in it; never raises."""

    @abstractmethod
    def du(self, rel: str) -> int:
        """Bytes under ``rel`` (0 when absent)."""

    def write_data(self, rel: str, fn: Callable[[], T]) -> T:
        """``fn()``, which writes ``rel`` without the backend (a copy's data, through
        fsspec or the OS). Subclasses turn storage refusals into clear errors or
        start a transient failure over."""
        return fn()

    # ---- writers ----------------------------------------------------------------------
    @abstractmethod
    def claim(self, rel: str) -> Claim:
        """Create the writing marker ``rel`` (create-only: ``FileExistsError`` if it is
        there) saying who writes (host, pid, time)."""

    @abstractmethod
    def release(self, claim: Claim) -> None:
        """Remove a marker made by :meth:`claim`."""

    @abstractmethod
    def dead_writer(self, rel: str, grace: float) -> AbstractContextManager[bool]:
        """A context yielding True if the writer behind the marker ``rel`` is gone (the
        marker may then be removed inside it), False if it may still be writing.
        Writers of other machines are presumed dead ``grace`` seconds after they began."""

    @contextlib.contextmanager
    def advisory_lock(self, rel: str) -> Iterator[None]:
        """Held by one holder at a time, best effort (a refresh of one token). This
        default is a lease: the marker ``rel`` made by :meth:`claim`; a holder that
        died (or older than :data:`LEASE`) loses it, and after :data:`LEASE` a waiter
        goes ahead anyway."""
        deadline = time.monotonic() + LEASE
        claim = None
        delay = 0.02
        while claim is None:
            try:
                claim = self.claim(rel)
                break
            except FileExistsError:
                pass
            with self.dead_writer(rel, LEASE) as dead:
                if dead:
                    self.rm(rel)  # a stale lease: take it over
                    continue
            if time.monotonic() > deadline:
                break
            import random

            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)
        try:
            yield
        finally:
            if claim is not None:
                self.release(claim)
