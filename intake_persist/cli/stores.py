"""The store a command works on: opening it, resolving keys, and one normalised
record per entry (the fields ``list --json`` prints)."""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING, Any

from ..errors import CLIError
from . import render as R

if TYPE_CHECKING:
    from ..store.results import CopyInfo

log = logging.getLogger("intake_persist.cli")

# Fields of one store entry in ``list --json`` (and the start of ``show --json``).
ENTRY_FIELDS = (
    "key",
    "name",
    "container",
    "driver",
    "size",
    "timestamp",
    "created",
    "age",
    "ttl",
    "expired",
    "state",
    "location",
)


def store_url(args: argparse.Namespace) -> str:
    """``--store`` as given (made absolute by ``main``), else the configured store."""
    if args.store:
        return args.store
    from ..config import persist_path

    return persist_path()


def _store_exists(url: str) -> bool:
    from .._io import get_fs, is_local, strip_file_scheme

    if is_local(url):
        path = strip_file_scheme(url)
        if os.path.exists(path) and not os.path.isdir(path):
            raise CLIError(f"the persist store {url} is not a directory")
        return os.path.isdir(path)
    try:
        fs, path = get_fs(url, **_storage_options())
        return fs.exists(path)
    except Exception:  # noqa: BLE001 - let the store itself report
        log.debug("could not check whether %s exists", url, exc_info=True)
        return True


def _storage_options() -> dict:
    try:
        from ..config import persist_storage_options

        return persist_storage_options()
    except Exception:  # noqa: BLE001
        return {}


def open_store(args: argparse.Namespace, create: bool = False) -> Any:
    """The store the command works on, or None when it does not exist yet.

    An explicit ``--store`` that does not exist is an error (a typo should not look like an
    empty store), unless the command creates it (``persist``). The configured default store
    that does not exist yet is simply empty.
    """
    url = store_url(args)
    if not create and not _store_exists(url):
        if args.store:
            raise CLIError(f"no persist store at {url} (the location does not exist)")
        log.debug("configured store %s does not exist yet: empty", url)
        return None
    log.debug("using store %s", url)
    if args.store:
        from .. import PersistStore

        return PersistStore(url, **_storage_options())
    from .. import get_store

    return get_store()


def keys_of(store: Any) -> list[str]:
    return [] if store is None else list(store)


def infos_of(store: Any) -> list[CopyInfo]:
    """What the store records for each entry (none when there is no store yet)."""
    return [] if store is None else store.entries()


def record(info: CopyInfo) -> dict[str, Any]:
    """One entry as ``list --json`` and ``show --json`` print it: the fields of
    ``ENTRY_FIELDS`` first (``created``: the timestamp in ISO 8601), then the rest of
    what the store records."""
    out: dict[str, Any] = {
        "key": info.key,
        "name": info.name,
        "container": info.container,
        "driver": info.driver,
        "size": info.size,
        "timestamp": info.timestamp,
        "created": R.iso_time(info.timestamp),
        "age": info.age,
        "ttl": info.ttl,
        "expired": info.expired,
        "state": info.state,
        "location": info.location,
    }
    for k, v in info.to_dict().items():
        out.setdefault(k, v)
    return out


def resolve_key(store: Any, text: str, keys: list[str] | None = None) -> str:
    """A store key from a token, a unique token prefix, or a unique original name."""
    keys = keys_of(store) if keys is None else keys
    if text in keys:
        return text
    matches = [k for k in keys if k.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5]) + (", ..." if len(matches) > 5 else "")
        raise CLIError(
            f"key prefix {text!r} is ambiguous: it matches {len(matches)} entries ({shown})"
        )
    # not a token: an original name?
    named = [info.key for info in infos_of(store) if info.name == text] if keys else []
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise CLIError(
            f"name {text!r} is ambiguous: {len(named)} entries have it "
            f"({', '.join(sorted(named))}); give a token"
        )
    raise CLIError(f"no entry {text!r} in the store {store.path}")


def copy_summary(store: Any, key: str | None, copy: Any) -> dict[str, Any]:
    """key, location, size of a fresh copy, from the index (the copy's own urlpath
    when the index cannot say: removed meanwhile, or unreadable)."""
    if key is not None:
        try:
            info = store.info(key)
        except Exception:  # noqa: BLE001 - the copy is written; only its summary is short
            log.debug("no index info for %s", key, exc_info=True)
        else:
            return {"key": key, "location": info.location, "size": info.size}
    return {"key": key, "location": copy.token_args.get("urlpath"), "size": None}
