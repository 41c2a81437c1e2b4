"""Where things live under a persist path, and version ids.

::

    cat.yaml                    central index (a catalog, one entry per token)
    cat.yaml.lock               local stores: filelock serialising index updates
    journal/<gen>/<slot>        index updates not yet folded into cat.yaml (see journal.py)
    <token>/<vid>/              data of one copy
    <token>/<vid>.writing       marker while the copy is written (host, pid, time);
                                locally the writer also holds an flock on it
    <token>/<vid>.meta.yaml     the copy's own record, written last, create-only
    pending/<token>.<vid>       a copy about to be published: made before its meta file,
                                deleted once the index lists it; the next index update
                                (any writer) folds in a published copy whose own
                                update failed
    <token>/<vid>.removed       tombstone: the user removed this copy from the index;
                                gc and rebuilds never put it back (JSON: time, and
                                whether its files are to be deleted)
    <token>/<vid>.retired       the copy left the index (re-persist, refresh, keep=N
                                pruning, gc); readers that resolved it may still be
                                reading, so gc deletes it only after the grace
                                period (JSON: time, and why)
    <token>/.refresh.lock       one refresh of the token at a time (a file lock
                                locally, a lease on object stores)
"""

from __future__ import annotations

import os
import re

INDEX = "cat.yaml"
LOCK = "cat.yaml.lock"
DAMAGED_PREFIX = "cat.yaml.damaged-"
META_SUFFIX = ".meta.yaml"
WRITING_SUFFIX = ".writing"
REMOVED_SUFFIX = ".removed"
RETIRED_SUFFIX = ".retired"
TMP_MARK = ".tmp-"
PENDING = "pending"
REFRESH_LOCK = ".refresh.lock"

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
VID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}-[0-9a-f]{8}$")


def new_vid(now: float | None = None) -> str:
    """A version id that sorts by creation time: ``<UTC yyyymmddThhmmss.ffffff>-<8 hex>``."""
    import datetime as _dt
    import secrets

    t = _dt.datetime.fromtimestamp(
        now if now is not None else _dt.datetime.now(_dt.timezone.utc).timestamp(),
        _dt.timezone.utc,
    )
    return f"{t:%Y%m%dT%H%M%S.%f}-{secrets.token_hex(4)}"


def is_token(name: str) -> bool:
    return bool(TOKEN_RE.match(name))


def is_vid(name: str) -> bool:
    return bool(VID_RE.match(name))


def data_rel(token: str, vid: str) -> str:
    return f"{token}/{vid}"


def meta_rel(token: str, vid: str) -> str:
    return f"{token}/{vid}{META_SUFFIX}"


def writing_rel(token: str, vid: str) -> str:
    return f"{token}/{vid}{WRITING_SUFFIX}"


def removed_rel(token: str, vid: str) -> str:
    return f"{token}/{vid}{REMOVED_SUFFIX}"


def retired_rel(token: str, vid: str) -> str:
    return f"{token}/{vid}{RETIRED_SUFFIX}"


def pending_rel(token: str, vid: str) -> str:
    return f"{PENDING}/{token}.{vid}"


def parse_pending(name: str) -> tuple[str, str] | None:
    """``(token, vid)`` for a name made by :func:`pending_rel` (its last part)."""
    token, sep, vid = name.partition(".")
    return (token, vid) if sep and is_token(token) and is_vid(vid) else None


def tmp_name(name: str) -> str:
    """A temporary sibling name that says who wrote it: ``<name>.tmp-<host>-<pid>-<hex>``."""
    return f"{name}{TMP_MARK}{hostname()}-{os.getpid()}-{os.urandom(4).hex()}"


def parse_tmp_name(name: str) -> tuple[str, str, int] | None:
    """``(base, host, pid)`` for a name made by :func:`tmp_name`, else None."""
    base, sep, rest = name.partition(TMP_MARK)
    if not sep:
        return None
    try:
        host_pid, _rand = rest.rsplit("-", 1)
        host, pid = host_pid.rsplit("-", 1)
        return base, host, int(pid)
    except ValueError:
        return None


_HOST: str | None = None


def hostname() -> str:
    global _HOST
    if _HOST is None:
        import socket

        _HOST = socket.gethostname().replace("-", "_") or "localhost"
    return _HOST
