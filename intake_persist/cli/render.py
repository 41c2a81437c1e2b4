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
        title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, show_edge=False,
        collapse_padding=True,
    )
    for header, kwargs in columns:
        t.add_column(header, **kwargs)
    for row in rows:
        t.add_row(*row)
    return t


ELLIPSIS = "\u2026"


def elide(text: str, width: int, where: str = "middle") -> str:
    """``text`` cut to ``width`` characters with an ellipsis: in the middle (keeping
    two thirds for the end, which tells paths and dotted names apart) or at the end."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    if where == "end":
        return text[: width - 1] + ELLIPSIS
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + text[len(text) - tail:]


class Col:
    """A column of :func:`fit_table`: ``shrink`` is None (always whole), ``"middle"``
    or ``"end"`` (where the ellipsis goes); ``min`` the width it keeps when there is
    room, given in ``rank`` order (lowest first); what is left is shared evenly."""

    def __init__(self, header: str, shrink: str | None = None, min: int = 8, rank: int = 0,
                 **kwargs: Any):
        self.header, self.shrink, self.min, self.rank, self.kwargs = (
            header, shrink, min, rank, kwargs)


def fit_table(con, columns: list[Col], rows: list[list[Any]], full: bool = False):
    """A table of plain-text cells (``str``, or ``(text, style)``) that fits the
    console width with one line per row: columns that may shrink are narrowed and
    their long cells elided; ``full`` keeps every cell whole (see :func:`widen_for`)."""
    from rich.cells import cell_len
    from rich.text import Text

    def plain(cell: Any) -> str:
        return cell[0] if isinstance(cell, tuple) else ("-" if cell is None else str(cell))

    natural = [max([cell_len(c.header)] + [cell_len(plain(r[i])) for r in rows])
               for i, c in enumerate(columns)]
    alloc = list(natural)
    if not full:
        overhead = _overhead(con, len(columns))
        fixed = sum(n for n, c in zip(natural, columns, strict=True) if c.shrink is None)
        budget = con.width - overhead - fixed
        flex = sorted((i for i, c in enumerate(columns) if c.shrink is not None),
                      key=lambda i: columns[i].rank)
        for i in flex:  # each its minimum, in rank order, while there is room
            alloc[i] = max(1, min(natural[i], columns[i].min, budget))
            budget -= alloc[i]
        # the room left is shared out evenly; a column that needs less than its share
        # leaves the rest to the others (lower rank first when it does not divide)
        while budget > 0:
            hungry = [i for i in flex if alloc[i] < natural[i]]
            if not hungry:
                break
            share = max(1, budget // len(hungry))
            for i in hungry:
                extra = min(share, natural[i] - alloc[i], budget)
                alloc[i] += extra
                budget -= extra
    cols = []
    for i, c in enumerate(columns):
        kwargs = dict(c.kwargs, no_wrap=True, overflow="ellipsis")
        if alloc[i] < natural[i]:
            kwargs["width"] = alloc[i]
        cols.append((elide(c.header, alloc[i], "end"), kwargs))
    out_rows = []
    for r in rows:
        cells = []
        for i, cell in enumerate(r):
            text, style = cell if isinstance(cell, tuple) else (plain(cell), "")
            if alloc[i] < cell_len(text):
                text = elide(text, alloc[i], columns[i].shrink or "end")
            cells.append(Text(text, style=style or ""))
        out_rows.append(cells)
    return table(cols, out_rows)


def widen_for(con, renderable) -> None:
    """Make the console as wide as ``renderable`` needs (``--full``: whole cells, one
    line per row, however long)."""
    from rich.measure import Measurement

    wide = con.options.update(width=100_000, max_width=100_000)
    need = Measurement.get(con, wide, renderable).maximum
    if need > con.width:
        con.width = need


def _overhead(con, n: int) -> int:
    """Characters a table of ``n`` columns spends on padding and rules."""
    from rich.measure import Measurement

    t = table([(f"c{i}", {"width": 1, "no_wrap": True}) for i in range(n)], [])
    wide = con.options.update(width=100_000, max_width=100_000)
    return Measurement.get(con, wide, t).maximum - n


def fits(con, renderable) -> bool:
    """True when ``renderable`` needs no wrapping at the console's width."""
    from rich.measure import Measurement

    wide = con.options.update(width=100_000, max_width=100_000)
    return Measurement.get(con, wide, renderable).maximum <= con.width


def escape(text: Any) -> str:
    from rich.markup import escape as _escape

    return _escape("" if text is None else str(text))
