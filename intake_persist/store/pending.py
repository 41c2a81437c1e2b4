"""Copies published but not indexed: a persist writes ``pending/<token>.<vid>``
before its meta file, and deletes it once the index lists the copy; should its own
index update fail, the next index update, by any writer, folds the copy in."""

from __future__ import annotations

import contextlib
import contextvars
import copy
from collections.abc import Iterator

from . import journal, layout
from .backends import Backend
from .index_file import Entries
from .records import install

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


#: ``(fold, token, vid)``: the copy an index update in this context installs itself; a
#: context variable, so that work the update hands to a thread (in a copy of the
#: context) knows it too
_OWN: contextvars.ContextVar[tuple[Any, str, str] | None] = contextvars.ContextVar(
    "intake_persist_pending_own", default=None)


class PendingFold:
    """Index hook: every index update also folds in the copies whose writer
    published them (meta file written) but failed to index them, as their pending
    markers (``pending/<token>.<vid>``) tell. Markers of copies not yet published
    are left alone; markers of copies indexed or gone are deleted after the update."""

    def __init__(self, backend: Backend):
        self.backend = backend

    @contextlib.contextmanager
    def installing(self, token: str, vid: str) -> Iterator[None]:
        """The index updates of this context inside install copy ``vid`` of ``token``
        themselves: its marker is neither read (on an object store, four requests less
        per persist) nor deleted: the caller deletes it once an update succeeded."""
        reset = _OWN.set((self, token, vid))
        try:
            yield
        finally:
            _OWN.reset(reset)

    def _own(self) -> tuple[str, str] | None:
        own = _OWN.get()
        return None if own is None or own[0] is not self else (own[1], own[2])

    def collect(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        from .._yaml import YAMLError, load

        b = self.backend
        own = self._own()
        out: list[tuple[str, str, dict[str, Any] | None]] = []
        for item in b.listdir(layout.PENDING):
            parsed = layout.parse_pending(item.name)
            if parsed is None:
                continue
            token, vid = parsed
            if parsed == own:
                out.append((token, vid, None))  # installed by the update itself
                continue
            try:
                meta = load(b.read_bytes(layout.meta_rel(token, vid)))
            except FileNotFoundError:
                continue  # not published (yet): its writer is still at work, or gc's
            except YAMLError:
                continue
            if not isinstance(meta, dict) or b.exists(layout.removed_rel(token, vid)):
                meta = None  # removed by the user: never put back; drop the marker
            out.append((token, vid, meta))
        return out

    def apply(self, entries: Entries | journal.Entries,
              state: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        """Runs after the index was read (and on object stores before a conditional
        write of it): what it checks here holds for the version it replaces."""
        b = self.backend
        for token, vid, meta in state:
            if meta is None:
                continue
            if token not in entries:
                if token in entries.snapshot:
                    continue  # removed by this very update
            else:
                md = entries[token].get("metadata") or {}
                if vid in (md.get("versions") or [md.get("version")]):
                    continue  # indexed already
            # its writer deletes the marker only after indexing the copy, and a
            # remove writes its tombstones before its index update
            if not b.exists(layout.pending_rel(token, vid)):
                continue
            if b.exists(layout.removed_rel(token, vid)):
                continue
            keep = (meta.get("metadata") or {}).get("keep") or 1
            install(entries, token, vid, copy.deepcopy(meta), keep)

    def done(self, state: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        own = self._own()
        for token, vid, _meta in state:
            if (token, vid) == own:
                continue
            with contextlib.suppress(Exception):
                self.backend.rm_file(layout.pending_rel(token, vid))
