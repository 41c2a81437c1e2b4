"""Small I/O helpers shared by catalogs, drivers and the store.

Local paths use the standard library on hot paths (opening a catalog, store
lookups) because importing fsspec costs about 0.12 s; every URL with a
protocol goes through fsspec.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def protocol(url: str) -> str | None:
    """The URL's protocol (``s3``, ``memory``...), or None for a plain local path:
    ``<letter><letters, digits, + . ->://`` (a string test, not a regex compiled by
    every fresh process)."""
    proto, sep, _ = url.partition("://")
    if not sep or len(proto) < 2 or not proto[0].isalpha() or not _SCHEME.issuperset(proto):
        return None
    return None if proto == "file" else proto


def is_local(url: str) -> bool:
    return "::" not in url and protocol(url) is None


def strip_file_scheme(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url


def get_fs(url: str, **storage_options: Any):
    """``(filesystem, path)`` for a URL, through fsspec."""
    from fsspec.core import url_to_fs

    return url_to_fs(url, **storage_options)


def read_text(url: str, **storage_options: Any) -> str:
    """The whole file as text; ``FileNotFoundError`` names the URL."""
    if is_local(url):
        with open(strip_file_scheme(url), "rb") as f:
            data = f.read()
        # decoded whole (not through a text stream), so that a UnicodeDecodeError's
        # offsets are those of the file; newlines as text mode would give them
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    fs, path = get_fs(url, **storage_options)
    try:
        with fs.open(path, "rb") as f:
            return f.read().decode("utf-8")
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no such file: {url}") from exc


def has_glob(url: str) -> bool:
    """True when ``url`` has glob characters (``*``, ``?``, ``[``); in an http(s) URL a
    ``?`` starts the query string and does not count."""
    chars = ("*", "[") if protocol(url) in ("http", "https") else ("*", "?", "[")
    return any(c in url for c in chars)


def join(base: str, *parts: str) -> str:
    """Join URL or path parts with ``/`` (``os.path.join`` for local paths)."""
    if is_local(base):
        return os.path.join(base, *parts)
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def parent(url: str) -> str:
    """The directory (or URL prefix) that holds ``url``."""
    if is_local(url):
        return os.path.dirname(os.path.abspath(strip_file_scheme(url)))
    return url.rstrip("/").rsplit("/", 1)[0]


CREDENTIAL_KEYS = frozenset(
    {"key", "secret", "token", "password", "session_token", "aws_access_key_id",
     "aws_secret_access_key", "aws_session_token", "client_secret", "account_key", "sas_token"}
)


def public_storage_options(options: dict | None) -> dict:
    """Storage options fit to write down: credentials left out (they come from the
    environment or the backend's own configuration when the copy is read)."""
    return {k: v for k, v in (options or {}).items() if k.lower() not in CREDENTIAL_KEYS}
