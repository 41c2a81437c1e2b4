"""A copy's start and finish around its data: the writing marker is claimed only when
the writer is about to write (so on an object store the first request, which also
sets up the client, overlaps reading the source), the pending marker is put while
the data is written, the copy's folder is listed (for pruning) while its meta file
is written, the writing marker's release overlaps the index update, and the pending
marker's removal overlaps the pruning of older copies."""

from __future__ import annotations

from . import layout
from .backends import Backend, Claim, Item

TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor
    from typing import Any


class VidTaken(Exception):
    """Another writer holds the version id drawn for this copy: draw again."""


class CopyStart:
    """One attempt at copy ``vid`` of ``token``; call it (the ``ready`` of
    :func:`~intake_persist.containers.write`) before the first byte of data."""

    def __init__(self, backend: Backend, token: str) -> None:
        self.backend = backend
        self.token = token
        self.vid = layout.new_vid()
        self.claim: Claim | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[Any] | None = None
        self._release: Future[Any] | None = None
        self._unpend: Future[Any] | None = None
        self._listing: Future[Any] | None = None

    @property
    def data_rel(self) -> str:
        return layout.data_rel(self.token, self.vid)

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(2, thread_name_prefix="intake-persist-marker")
        return self._pool.submit(fn, *args)

    def __call__(self) -> None:
        """Claim the writing marker (once), then put the pending marker meanwhile."""
        if self.claim is not None:
            return
        try:
            self.claim = self.backend.claim(layout.writing_rel(self.token, self.vid))
        except FileExistsError as exc:
            raise VidTaken(self.vid) from exc
        self._pending = self._submit(self.backend.put,
                                     layout.pending_rel(self.token, self.vid), b"")

    def publish(self, meta: bytes) -> None:
        """Write the meta file, which publishes the copy, once the pending marker is in
        place: should this writer's own index update fail, the next one folds it in."""
        if self.claim is None:
            self()
        assert self._pending is not None
        self._pending.result()
        self._listing = self._submit(self.backend.listdir, self.token)
        self.backend.create_only(layout.meta_rel(self.token, self.vid), meta)

    def listing(self) -> list[Item] | None:
        """The token's folder as listed while the meta file was written (for pruning:
        an older listing only leaves what came after it for later); None if that
        failed."""
        if self._listing is None or self._listing.exception() is not None:
            return None
        items: list[Item] = self._listing.result()
        return items

    def release(self) -> None:
        """Remove the writing marker in the background (the copy is published)."""
        if self.claim is not None:
            self._release = self._submit(self.backend.release, self.claim)

    def indexed(self) -> None:
        """Remove the pending marker in the background (the index lists the copy); a
        marker left behind is removed by the next index update or gc."""
        self._unpend = self._submit(self.backend.rm_file,
                                    layout.pending_rel(self.token, self.vid))

    def close(self) -> None:
        """Wait for the background requests; a failed release is raised."""
        if self._pool is None:
            return
        try:
            if self._unpend is not None:
                self._unpend.exception()
            if self._release is not None:
                self._release.result()
        finally:
            self._pool.shutdown()
            self._pool = None

    def abandon(self) -> None:
        """Undo a failed attempt (nothing when the claim was never made); an unreachable
        store leaves the remains to gc."""
        try:
            if self._pending is not None:
                self._pending.exception()
            if self.claim is not None:
                self.backend.rm(self.data_rel)
                self.backend.rm_file(layout.pending_rel(self.token, self.vid))
                self.backend.release(self.claim)
        except Exception:
            pass
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
