"""Output helpers for the command line: value formatting, rich tables, JSON.

Formatting functions (:func:`fmt_size`, :func:`fmt_duration`, ...) are pure and
cheap. ``rich`` is imported only when a table or a progress bar is drawn.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from typing import Any

# ---- plain formatting ----------------------------------------------------------------

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def fmt_size(n: Any) -> str:
    """``1536`` -> ``"1.5 KiB"``; None or unknown -> ``"-"``."""
    if n is None or isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0:
        return "-"
    value = float(n)
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


_DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def fmt_duration(seconds: Any, precise: bool = False) -> str:
    """Seconds as the two most significant units: ``"3m 20s"``, ``"2h"``, ``"1d 4h"``.

    With ``precise``, values under ten seconds keep one decimal (``"0.4s"``), for
    elapsed times; None -> ``"-"``.
    """
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return "-"
    if math.isinf(seconds):
        return "never"
    negative = seconds < 0
    seconds = abs(seconds)
    if precise and seconds < 10 and seconds != int(seconds):
        text = f"{seconds:.1f}s"
    else:
        rest = int(round(seconds))
        text = f"{rest}s"
        for i, (unit, size) in enumerate(_DURATION_UNITS[:-1]):
            if rest >= size:
                major, rest = divmod(rest, size)
                minor_unit, minor_size = _DURATION_UNITS[i + 1]
                minor = rest // minor_size
                text = f"{major}{unit}" + (f" {minor}{minor_unit}" if minor else "")
                break
    return f"-{text}" if negative else text


def fmt_ttl(ttl: Any) -> str:
    """TTL in seconds, or ``"never"`` for None."""
    if ttl is None:
        return "never"
    return fmt_duration(ttl)


def fmt_time(timestamp: Any) -> str:
    """Epoch seconds as ISO 8601 UTC (``2026-11-23T11:28:33Z``)."""
    if timestamp is None or isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        return "-"
    moment = _dt.datetime.fromtimestamp(timestamp, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_time(timestamp: Any) -> str | None:
    text = fmt_time(timestamp)
    return None if text == "-" else text


def short_key(key: str, full: bool = False, length: int = 12) -> str:
    return key if full or len(key) <= length else key[:length]


# ---- JSON --------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Turn a value into plain JSON data (tuples -> lists, datetimes -> ISO, numpy scalars
    -> Python numbers, anything else -> ``str``)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return jsonable(item())
        except Exception:  # noqa: BLE001
            pass
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


# ---- rich consoles and tables -------------------------------------------------------


def _width_for(stream: Any) -> int | None:
    """Let rich size tables to a real terminal; elsewhere use ``COLUMNS`` or 200 so that
    piped output is not wrapped to 80 columns."""
    try:
        if stream.isatty():
            return None
    except (AttributeError, ValueError):
        pass
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 200


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=_width_for(stream), highlight=False, soft_wrap=False)


def table(columns: list[tuple[str, dict]], rows: list[list[Any]], title: str | None = None):
    """A rich Table; ``columns`` is ``[(header, column_kwargs), ...]``."""
    from rich import box
    from rich.table import Table

    t = Table(
        title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, show_edge=False
    )
    for header, kwargs in columns:
        t.add_column(header, **kwargs)
    for row in rows:
        t.add_row(*row)
    return t


def fits(con, renderable) -> bool:
    """True when ``renderable`` needs no wrapping at the console's width."""
    from rich.measure import Measurement

    wide = con.options.update(width=100_000, max_width=100_000)
    return Measurement.get(con, wide, renderable).maximum <= con.width


def escape(text: Any) -> str:
    from rich.markup import escape as _escape

    return _escape("" if text is None else str(text))
