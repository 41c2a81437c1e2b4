"""When a persisted copy is current, and what a catalog hands back under a persist
mode: the pure decisions behind ``PersistStore.resolve`` and
``needs_refresh``, with the checks of ``ttl``, ``keep`` and ``grace``."""

from __future__ import annotations

import math
import time
import warnings

from ..errors import check_persist_mode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def check_ttl(ttl: Any) -> float | int | None:
    """``None`` or a real number of seconds >= 0 (bools refused)."""
    if ttl is None:
        return None
    import numbers

    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise ValueError(
            f"ttl must be None (never expires) or a number of seconds >= 0, got {ttl!r}"
        )
    value = float(ttl)
    if math.isnan(value) or value < 0:
        raise ValueError(
            f"ttl must be None (never expires) or a number of seconds >= 0, got {ttl!r}"
        )
    if math.isinf(value):
        return None
    return int(ttl) if float(ttl).is_integer() and isinstance(ttl, numbers.Integral) else value


def check_grace(grace: Any) -> float:
    """A real number of seconds >= 0 (bools and NaN refused)."""
    import numbers

    if isinstance(grace, bool) or not isinstance(grace, numbers.Real) or not float(grace) >= 0:
        raise ValueError(f"grace must be a number of seconds >= 0, got {grace!r}")
    return float(grace)


def check_keep(keep: Any) -> int:
    import numbers

    if isinstance(keep, bool) or not isinstance(keep, numbers.Integral) or keep < 1:
        raise ValueError(f"keep must be an integer >= 1 (copies to keep), got {keep!r}")
    return int(keep)


def entry_age(entry: dict[str, Any], now: float) -> float | None:
    ts: Any = (entry.get("metadata") or {}).get("timestamp")  # anything: float() may fail
    try:
        return now - float(ts)
    except (TypeError, ValueError):
        return None


def is_expired(entry: dict[str, Any], now: float | None = None) -> bool:
    """True when the entry's TTL has passed (``ttl: null`` never expires)."""
    md = entry.get("metadata") or {}
    ttl = md.get("ttl")
    if ttl is None:
        return False
    try:
        ttl = float(ttl)
    except (TypeError, ValueError):
        warnings.warn(f"ignoring a ttl that is not a number: {ttl!r}", stacklevel=3)
        return False
    age = entry_age(entry, time.time() if now is None else now)
    return True if age is None else age >= ttl


def hands_back_original(mode: str, source: Any) -> bool:
    """True when ``source`` is handed back as it is, the store not asked: mode
    ``never``, or ``source`` is itself a persisted copy. A bad mode is an error."""
    check_persist_mode(mode)
    return mode == "never" or "original_tok" in (getattr(source, "metadata", None) or {})


def copy_is_current(mode: str, entry: dict[str, Any], now: float | None = None) -> bool:
    """True when the store's copy (index ``entry``) is handed back without a refresh:
    mode ``always`` takes any copy, ``default`` only one whose TTL has not passed."""
    return mode == "always" or not is_expired(entry, now)
