"""Deterministic tokens for sources, equal to ``dask.base.tokenize(source)``.

Importing ``dask.base`` costs about a quarter of a second, which would dominate a
catalog lookup, so the token is computed here with hashlib. ``DataSource`` returns
a hex digest from ``__dask_tokenize__``; dask hashes ``str((digest,))`` with md5,
and :func:`token_of` does exactly that. ``tests/test_tokens.py`` checks that the
two agree.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any


def _normalize(value: Any) -> Any:
    """Turn argument values into JSON-able data with one spelling per value."""
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_normalize(v) for v in value), key=repr)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return {"__datetime__": value.isoformat()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"}


def digest(*parts: Any) -> str:
    """md5 of the canonical JSON of ``parts``: what ``__dask_tokenize__`` returns."""
    text = json.dumps(_normalize(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def token_of(obj: Any) -> str:
    """The token dask would give ``obj``, for objects that define ``__dask_tokenize__``
    returning a string; falls back to dask itself for anything else."""
    method = getattr(obj, "__dask_tokenize__", None)
    if method is not None and not isinstance(obj, type):
        inner = method()
        if isinstance(inner, str):
            return hashlib.md5(str((inner,)).encode(), usedforsecurity=False).hexdigest()
    from dask.base import tokenize

    return tokenize(obj)
