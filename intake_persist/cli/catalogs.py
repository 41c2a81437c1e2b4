"""The catalog a command reads: opening it for the originals, finding and describing
entries (dotted names reach into nested catalogs), building their sources, and
shaping error messages so that each names its entry once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..errors import CLIError
from . import error_message


def open_catalog_for(path: str) -> Any:
    """Open a catalog with ``persist_mode="never"``: the CLI always wants the originals."""
    from .. import open_catalog  # the public API (resolved lazily)

    try:
        return open_catalog(path, persist_mode="never")
    except FileNotFoundError as exc:
        raise CLIError(f"cannot open catalog {path}: no such file") from exc
    except PermissionError as exc:
        raise CLIError(f"cannot open catalog {path}: permission denied") from exc
    except IsADirectoryError as exc:
        raise CLIError(f"cannot open catalog {path}: is a directory") from exc
    except Exception as exc:  # noqa: BLE001
        msg = error_message(exc)
        if path not in msg and os.path.basename(path) not in msg:
            msg = f"cannot open catalog {path}: {msg}"
        raise CLIError(msg) from exc


# nested catalogs listed down to this many levels (a catalog including itself ends there)
WALK_DEPTH = 21


def walk(cat: Any) -> Iterator[tuple[str, Any, Exception | None]]:
    """``(dotted_name, entry_or_None, error_or_None)`` for every entry, depth first
    (``Catalog.walk``): a nested catalog, then its entries (``parent.child``). An entry
    that cannot be read, or a nested catalog that cannot be opened (``parent.*``), comes
    with its error."""
    for name, value in cat.walk(WALK_DEPTH, on_error=lambda name, exc: exc).items():
        if isinstance(value, Exception):
            yield name, None, value
        else:
            yield name, value, None


def get_entry(cat: Any, dotted: str) -> Any:
    """The entry for ``name`` or ``parent.child`` (names may contain dots themselves)."""
    names = list(cat)
    if dotted in names:
        return cat.get_entry(dotted)
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head, rest = ".".join(parts[:i]), ".".join(parts[i:])
        if head in names:
            parent = cat.get_entry(head)
            if parent.is_catalog:
                try:
                    return get_entry(parent(persist_mode="never"), rest)
                except CLIError:
                    pass
    known = ", ".join(names) or "none"
    raise CLIError(f"no entry {dotted!r} in the catalog (its entries: {known})")


# ---- error messages about entries ------------------------------------------------------


def entry_error(exc: BaseException) -> str:
    """One line for an error about an entry of the catalog the command was given: the
    ``catalog <url>, `` that the catalog layer puts first is left out (the command
    names the catalog already)."""
    msg = error_message(exc)
    url = getattr(exc, "url", None)
    if isinstance(url, str) and msg.startswith(f"catalog {url}, "):
        msg = msg[len(f"catalog {url}, "):]
    return msg


def _entry_prefixes(name: str) -> tuple[str, ...]:
    leaf = name.rsplit(".", 1)[-1]
    return tuple(dict.fromkeys((f"entry {name!r}: ", f"entry {leaf!r}: ")))


def bare(name: str, msg: str) -> str:
    """``msg`` without the ``entry 'name': `` prefixes that layers below added."""
    prefixes = _entry_prefixes(name)
    while msg.startswith(prefixes):
        msg = msg[len(next(p for p in prefixes if msg.startswith(p))):]
    return msg


def say_once(name: str, msg: str) -> str:
    """An error line about entry ``name`` that names it once: ``entry 'x': msg``, or
    ``msg`` alone when it already names the entry."""
    msg = bare(name, msg)
    return msg if repr(name) in msg else f"entry {name!r}: {msg}"


def about_entry(name: str, msg: str) -> str:
    """What ``msg`` says about entry ``name``, without the ``catalog <url>, entry
    'name':`` or ``entry 'name':`` it starts with (a table row names both)."""
    leaf = name.rsplit(".", 1)[-1]
    for who in dict.fromkeys((name, leaf)):
        for prefix in (f"entry {who!r}: ", f", entry {who!r}: "):
            if msg.startswith(prefix):
                return msg[len(prefix):]
            if prefix.startswith(",") and msg.startswith("catalog ") and prefix in msg:
                return msg.split(prefix, 1)[1]
    return msg


# ---- describing entries, building sources ----------------------------------------------


def describe(entry: Any) -> dict:
    """``entry.describe()``, with ``error`` set when the entry cannot be built as
    written (its driver unknown, say): found without reading any data."""
    try:
        desc = dict(entry.describe())
    except Exception as exc:  # noqa: BLE001
        return {"name": entry.name, "error": bare(str(entry.name), entry_error(exc))}
    if not entry.is_catalog:
        try:
            entry.driver_class()
        except Exception as exc:  # noqa: BLE001
            desc.setdefault("error", bare(str(entry.name), entry_error(exc)))
    return desc


def declared_params(entry: Any) -> list[str]:
    return list(entry.user_parameters)


def build_source(entry: Any, name: str, params: dict[str, str]) -> Any:
    """The original source of ``entry`` with the parameters it declares (strings, coerced
    by the catalog). A refused value or a broken entry is a CLIError naming the entry."""
    try:
        declared = declared_params(entry)
        mine = {k: v for k, v in params.items() if k in declared}
        source = entry(persist_mode="never", **mine)
    except (ValueError, TypeError, KeyError) as exc:
        msg = entry_error(exc)
        if repr(name) not in msg and repr(name.rsplit(".", 1)[-1]) not in msg:
            msg = f"entry {name!r}: {msg}"
        raise CLIError(msg) from exc
    # the store records the name as the command line says it: ``parent.child`` for an
    # entry of a nested catalog, so that persist, list and catalog show one name
    source.entry_name = name
    return source


def check_params_used(params: dict[str, str], entries: list[tuple[str, Any]]) -> None:
    """A ``-p NAME=VALUE`` that no selected entry declares is a CLIError."""
    if not params:
        return
    declared: dict[str, list[str]] = {}
    for name, entry in entries:
        for p in declared_params(entry):
            declared.setdefault(p, []).append(name)
    unknown = [p for p in params if p not in declared]
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise CLIError(
            f"unknown parameter {unknown[0]!r}: no selected entry declares it "
            f"(declared parameters: {known})"
        )
