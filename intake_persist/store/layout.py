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

_HEX = frozenset("0123456789abcdef")


def new_vid(now: float | None = None) -> str:
    """A version id that sorts by creation time: ``<UTC yyyymmddThhmmss.ffffff>-<8 hex>``."""
    import datetime as _dt
    import secrets

    t = _dt.datetime.fromtimestamp(
        now if now is not None else _dt.datetime.now(_dt.timezone.utc).timestamp(),
        _dt.timezone.utc,
    )
    return f"{t:%Y%m%dT%H%M%S.%f}-{secrets.token_hex(4)}"


# string tests rather than regexes: compiling them was part of every fresh lookup


def is_token(name: str) -> bool:
    """32 lowercase hex digits."""
    return len(name) == 32 and _HEX.issuperset(name)


def is_vid(name: str) -> bool:
    """``<8 digits>T<6 digits>.<6 digits>-<8 lowercase hex digits>`` (see :func:`new_vid`)."""
    return (len(name) == 31 and name[8] == "T" and name[15] == "." and name[22] == "-"
            and name[:8].isdecimal() and name[9:15].isdecimal() and name[16:22].isdecimal()
            and _HEX.issuperset(name[23:]))


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
