"""What the store records: building index entries of copies (and of exports), and
the rules their contents follow.

Recorded data is plain (YAML and JSON both write it: :func:`plain`), never holds
credentials (:func:`scrub`), and names paths inside the store relative to it
(``{{ CATALOG_DIR }}``, replaced by the store's path when read:
:func:`render_catalog_dir`). An entry also records the original source, so that it
can be rebuilt (:func:`original_record`, :func:`original_of`).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, MutableMapping

from ..sources.registry import make_source, source_driver_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CATALOG_DIR = "{{ CATALOG_DIR }}"
_CATALOG_DIR_SPELLINGS = ("{{ CATALOG_DIR }}", "{{CATALOG_DIR}}")


def plain(o: Any) -> Any:
    """Data that YAML (safe) and JSON both write: tuples to lists, dates to text."""
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set, frozenset)):
        return [plain(v) for v in o]
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    dt = sys.modules.get("datetime")  # no date value exists before it is imported
    if dt is not None and isinstance(o, (dt.datetime, dt.date, dt.time)):
        return o.isoformat()
    if hasattr(o, "item"):
        return plain(o.item())
    return str(o)


def scrub(o: Any, inside: bool = False) -> Any:
    """``o`` with credentials (key, secret, token...) dropped from every
    ``storage_options`` mapping in it: they are never written to the index or meta
    files (readers get them from the environment or the store's own options)."""
    from .._io import CREDENTIAL_KEYS

    if isinstance(o, dict):
        return {k: scrub(v, inside or k == "storage_options") for k, v in o.items()
                if not (inside and isinstance(k, str) and k.lower() in CREDENTIAL_KEYS)}
    if isinstance(o, list):
        return [scrub(v, inside) for v in o]
    return o


def map_strings(o: Any, fn: Callable[[str], str]) -> Any:
    """``o`` with ``fn`` applied to every string in its dicts and lists."""
    if isinstance(o, str):
        return fn(o)
    if isinstance(o, dict):
        return {k: map_strings(v, fn) for k, v in o.items()}
    if isinstance(o, list):
        return [map_strings(v, fn) for v in o]
    return o


def render_catalog_dir(o: Any, root: str) -> Any:
    """``o`` with ``{{ CATALOG_DIR }}`` (either spelling) replaced by ``root``."""
    def fn(s: str) -> str:
        if "CATALOG_DIR" not in s:
            return s
        for spelling in _CATALOG_DIR_SPELLINGS:
            s = s.replace(spelling, root)
        return s

    return map_strings(o, fn)


def is_copy(source: Any) -> bool:
    """True for a source that reads a persisted copy (its metadata names the original)."""
    return bool(getattr(source, "is_persisted", False)
                or "original_tok" in (getattr(source, "metadata", None) or {}))


def original_record(source: Any) -> dict[str, Any]:
    """``original_name``, ``original_token``, ``original_source`` (driver, args,
    description, metadata) and ``original_metadata`` of ``source``: for a persisted
    copy, those of its original."""
    if is_copy(source):
        md = source.metadata
        return {
            "original_name": md.get("original_name"),
            "original_token": md.get("original_tok"),
            "original_source": md.get("original_source"),
            "original_metadata": md.get("original_metadata"),
        }
    args = dict(source._init_kwargs)
    args.pop("metadata", None)
    if getattr(source, "_init_args", ()):
        args["__args__"] = list(source._init_args)
    return {
        "original_name": source.entry_name,
        "original_token": source.token,
        "original_source": {
            "driver": source_driver_name(source),
            "args": args,
            "description": source.description,
            "metadata": source.metadata,
        },
        "original_metadata": source.metadata,
    }


def original_of(copy: Any) -> Any:
    """The original of a persisted copy, rebuilt from the record the copy carries."""
    md = copy.metadata or {}
    orig = md.get("original_source")
    if not isinstance(orig, dict) or not orig.get("driver"):
        raise ValueError(
            f"the persisted copy with key {md.get('original_tok')!r} does not record its "
            "original source, so it cannot be persisted or refreshed again"
        )
    src = make_source(orig["driver"], orig.get("args") or {}, orig.get("metadata"),
                      orig.get("description"), container=md.get("container"))
    src.entry_name = md.get("original_name")
    return src


def copy_entry(source: Any, token: str, vid: str, info: dict[str, Any], *, root: str,
               data_url: str, started: float, ttl: Any, keep: int,
               kwargs: dict[str, Any]) -> dict[str, Any]:
    """The index entry of copy ``vid`` of ``source`` just written at ``data_url``,
    inside the store at ``root``; ``info`` is what the container writer returned."""
    def rel(s: str) -> str:
        return CATALOG_DIR + s[len(root):] if s.startswith(root) else s

    args = dict(info.get("args") or {})
    args.pop("storage_options", None)
    if "urlpath" in args:
        args["urlpath"] = map_strings(plain(args["urlpath"]), rel)
    else:
        args["urlpath"] = rel(data_url)
    record = original_record(source)
    name = source.entry_name or getattr(source, "name", None)
    entry = {
        "driver": info["driver"],
        "description": f"persisted copy of {name}" if name else "persisted copy",
        "args": args,
        "metadata": {
            "original_tok": token,
            "original_name": source.entry_name,
            "original_source": record["original_source"],
            "original_metadata": source.metadata,
            "timestamp": round(started, 6),
            "ttl": ttl,
            "persist_kwargs": kwargs,
            "keep": keep,
            "container": source.container,
            "version": vid,
            "versions": [vid],
            "size": info.get("size"),
            "npartitions": info.get("npartitions"),
        },
    }
    scrubbed: dict[str, Any] = scrub(plain(entry))
    return scrubbed


def added_entry(key: str, source: Any, *, root: str, now: float) -> dict[str, Any]:
    """The index entry recording ``source`` (a copy readable where it is) under
    ``key`` in the store at ``root``. Data outside the store is not versioned."""
    entry = source._yaml_entry()
    md = plain(dict(source.metadata or {}))
    md.setdefault("original_tok", key)
    md.setdefault("original_name", source.entry_name)
    md.setdefault("timestamp", round(now, 6))
    md.setdefault("ttl", None)
    md.setdefault("persist_kwargs", {})
    md.setdefault("container", source.container)
    entry["driver"] = source_driver_name(source)
    args = plain(entry["args"])
    urlpath = args.get("urlpath")
    if isinstance(urlpath, str) and urlpath.startswith(root + "/"):
        args["urlpath"] = CATALOG_DIR + urlpath[len(root):]
    else:  # data outside this store: not versioned, never touched by gc
        md.pop("version", None)
        md.pop("versions", None)
    entry["args"] = args
    entry["metadata"] = md
    scrubbed: dict[str, Any] = scrub(entry)
    return scrubbed


def install(entries: MutableMapping[str, dict[str, Any]], token: str, vid: str,
            entry: dict[str, Any], keep: int) -> dict[str, Any]:
    """Make ``vid`` the current copy of ``token`` unless a newer one is there already;
    the ``keep`` newest known versions stay listed. Returns the entry now indexed."""
    cur = entries.get(token)
    cur_md = (cur or {}).get("metadata") or {}
    known = list(cur_md.get("versions") or ([cur_md["version"]] if cur_md.get("version") else []))
    versions = sorted({vid, *known}, reverse=True)[:keep]
    if cur is None or not cur_md.get("version") or vid >= cur_md["version"]:
        new = copy.deepcopy(entry)
    else:
        new = cur
    new["metadata"]["versions"] = versions
    entries[token] = new
    return new
