"""The store a command works on: opening it, resolving keys, and one normalised
record per entry (the fields ``list --json`` prints)."""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

from ..errors import CLIError
from . import render as R

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


def entry_info(store: Any, key: str) -> dict:
    """What the store records for ``key`` (``store.info``), normalised: the fields of
    ``ENTRY_FIELDS`` first, then everything else the store reports."""
    return _normalise(dict(store.info(key)), key)


def all_infos(store: Any) -> list[dict]:
    if store is None:
        return []
    return [_normalise(dict(item), item.get("key")) for item in store.entries()]


def _normalise(raw: dict, key: str | None) -> dict:
    out: dict[str, Any] = {}
    out["key"] = raw.get("key") or key
    out["name"] = raw.get("name", raw.get("original_name"))
    out["container"] = raw.get("container")
    out["driver"] = raw.get("driver")
    out["size"] = raw.get("size")
    ts = raw.get("timestamp")
    out["timestamp"] = ts
    out["created"] = R.iso_time(ts)
    age = raw.get("age")
    if age is None and isinstance(ts, (int, float)):
        age = max(0.0, time.time() - ts)
    out["age"] = age
    out["ttl"] = raw.get("ttl")
    expired = raw.get("expired")
    if expired is None:
        ttl = out["ttl"]
        expired = bool(ttl is not None and age is not None and age > ttl)
    out["expired"] = bool(expired)
    out["state"] = "expired" if out["expired"] else "fresh"
    out["location"] = raw.get("location")
    for k, v in raw.items():
        if k not in out and k != "original_name":
            out[k] = v
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
    named = [info["key"] for info in all_infos(store) if info.get("name") == text] if keys else []
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise CLIError(
            f"name {text!r} is ambiguous: {len(named)} entries have it "
            f"({', '.join(sorted(named))}); give a token"
        )
    raise CLIError(f"no entry {text!r} in the store {_store_label(store)}")


def _store_label(store: Any) -> str:
    for attr in ("url", "path", "urlpath", "root"):
        value = getattr(store, attr, None)
        if isinstance(value, str):
            return value
    return ""


def copy_summary(store: Any, key: str | None, copy: Any) -> dict:
    """key, location, size of a fresh copy, from the index when possible."""
    out: dict[str, Any] = {"key": key, "location": None, "size": None}
    if key is not None:
        try:
            info = entry_info(store, key)
            out.update(location=info.get("location"), size=info.get("size"))
            return out
        except Exception:  # noqa: BLE001
            log.debug("no index info for %s", key, exc_info=True)
    kwargs = getattr(copy, "_init_kwargs", None) or {}
    out["location"] = kwargs.get("urlpath")
    return out
