"""Limits that keep opening a catalog and rendering its templates bounded, and the
helpers that turn any failure into an error naming the catalog file and the entry.

Hostile or broken catalogs must end in a :class:`~intake_persist.errors.CatalogError`
(or an ``OSError`` naming the path) quickly, never in a bare exception from inside
a driver, a crash of the YAML parser or a template that runs for minutes.

YAML (checked before the text reaches the parser, see :func:`check_yaml_text`):

* :data:`MAX_DEPTH` levels of nested mappings and sequences. libyaml's composer
  recurses in C (a document tens of thousands of levels deep crashes the
  interpreter) and its scanner is quadratic in the depth of flow collections.
* :data:`MAX_ALIAS_NODES` nodes once every alias is expanded ("billion laughs":
  a few lines of anchors that stand for billions of nodes); an alias to a node
  that contains it is refused too.

Templates (see :mod:`.templates`): :data:`MAX_TEMPLATE_OPS`,
:data:`MAX_TEMPLATE_SIZE`, :data:`MAX_TEMPLATE_WORK`, :data:`MAX_TEMPLATE_SOURCE`,
:data:`MAX_INT_BITS`,
:data:`MAX_TEMPLATE_SECONDS`.

Nested catalogs: :data:`MAX_CATALOG_NESTING` levels (a catalog that includes
itself can be walked that deep, not without end).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import CatalogError, CatalogLimitError, CatalogRecursionError, CatalogSyntaxError

#: deepest nesting of mappings/sequences in a catalog file
MAX_DEPTH = 100
#: most nodes a catalog file may stand for once its YAML aliases are expanded
MAX_ALIAS_NODES = 100_000
#: most loop iterations + calls + filter and operator applications in the templates
#: of one entry's arguments
MAX_TEMPLATE_OPS = 200_000
#: longest string, list or output a template may build (characters or items)
MAX_TEMPLATE_SIZE = 1_000_000
#: most characters/items all the strings and lists built by the templates of one
#: entry's arguments may add up to
MAX_TEMPLATE_WORK = 20_000_000
#: most characters of template source compiled for one entry's arguments (a single
#: template, or several: compiled templates are cached and not counted again)
MAX_TEMPLATE_SOURCE = 20_000
#: largest integer a template may compute, in bits (about 3,000 decimal digits)
MAX_INT_BITS = 10_000
#: wall-clock backstop for rendering one entry's arguments; the limits above are
#: what normally stops a template, this only catches what they cannot count
MAX_TEMPLATE_SECONDS = 1.0
#: deepest chain of nested catalogs (catalog entries inside catalog entries)
MAX_CATALOG_NESTING = 32

# start of the content on a line, after indentation, block indicators and node
# properties: a block collection nested n levels deep starts at column >= n/2 - 1
_LINE_PREFIX = re.compile(r"^[ \t]*(?:(?:[-?:]|[&!][^ \t\r\n]*)[ \t]+)*", re.M)


def _where(url: str | None) -> str:
    return url or "<string>"


def _depth_bound(text: str) -> int:
    """A cheap upper bound of the nesting depth of a YAML document."""
    flow = text.count("[") + text.count("{")
    if flow > MAX_DEPTH:
        return flow
    col = max((m.end() - m.start() for m in _LINE_PREFIX.finditer(text)), default=0)
    return flow + 2 * col + 2


def check_yaml_text(text: str, url: str | None = None) -> None:
    """Refuse YAML text nested deeper than :data:`MAX_DEPTH` or whose aliases expand to
    more than :data:`MAX_ALIAS_NODES` nodes, before it is parsed for real.

    Costs nothing for ordinary catalogs: the event scan (libyaml, iterative, stops
    at the first excess) runs only when a cheap bound says the text might be deep,
    or when it uses aliases.
    """
    deep = _depth_bound(text) > MAX_DEPTH
    aliases = "*" in text and "&" in text
    if not (deep or aliases):
        return
    import yaml

    from .._yaml import SafeLoader

    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    nodes = 0  # expanded nodes so far
    via_aliases = 0  # of which reached through aliases (a file's own nodes are bounded by its size)
    depth = 0
    # open anchored collections: (anchor, nodes at start, depth at start, max depth inside)
    open_: list[list] = []
    done: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, depth below)
    where = _where(url)
    try:
        for event in yaml.parse(text, Loader=SafeLoader):
            cls = type(event)
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if cls is yaml.AliasEvent:
                found = done.get(event.anchor)
                if found is None:
                    if any(o[0] == event.anchor for o in open_):
                        raise CatalogRecursionError(
                            f"catalog {where}, line {line}: alias *{event.anchor} refers to a "
                            "node that contains it (a structure without end)",
                            url=url,
                            line=line,
                        )
                    continue  # undefined alias: the parser reports it
                size, below = found
                nodes += size
                via_aliases += size
                reached = depth + below
            elif cls in starts or cls is yaml.ScalarEvent:
                nodes += 1
                if cls is yaml.ScalarEvent:
                    reached = depth
                    if event.anchor is not None:
                        done[event.anchor] = (1, 0)
                else:
                    depth += 1
                    reached = depth
                    open_.append([event.anchor, nodes - 1, depth - 1, depth - 1])
            elif cls in ends:
                anchor, start, base, deepest = open_.pop()
                if anchor is not None:
                    done[anchor] = (nodes - start, max(deepest, depth) - base)
                if open_:
                    open_[-1][3] = max(open_[-1][3], deepest, depth)
                depth -= 1
                continue
            else:
                continue
            if open_ and reached > open_[-1][3]:
                open_[-1][3] = reached
            if reached > MAX_DEPTH:
                raise CatalogRecursionError(
                    f"catalog {where}, line {line}: nested more than {MAX_DEPTH} levels deep "
                    "(mappings and lists inside each other); refused",
                    url=url,
                    line=line,
                )
            if via_aliases > MAX_ALIAS_NODES:
                raise CatalogLimitError(
                    f"catalog {where}, line {line}: its YAML aliases expand to more than "
                    f"{MAX_ALIAS_NODES} nodes (an alias bomb); refused",
                    url=url,
                    line=line,
                )
    except yaml.YAMLError as exc:
        # PyYAML >= 6.0.4 stops at its own nesting limit while scanning ahead, before
        # the events above reach MAX_DEPTH: the same refusal, so the same error
        if "maximum nesting depth" not in str(getattr(exc, "problem", "")):
            return  # the real parse reports it with its line
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CatalogRecursionError(
            f"catalog {where}, line {line}: nested more than {MAX_DEPTH} levels deep "
            "(mappings and lists inside each other); refused",
            url=url,
            line=line,
        ) from None


# ---- naming the file and the entry --------------------------------------------------
def located(exc: CatalogError, url: str | None, entry: str | None = None) -> CatalogError:
    """``exc`` again (same class) with the catalog file and the entry in its message and
    attributes, when it does not name them yet; ``exc`` itself when it does."""
    message = str(exc)
    parts = []
    if url and url not in message:
        parts.append(f"catalog {url}")
    if entry is not None and repr(entry) not in message and f"entry {entry}" not in message:
        parts.append(f"entry {entry!r}")
    if not parts and (exc.url or not url) and (exc.entry is not None or entry is None):
        return exc
    new = type(exc)(
        f"{', '.join(parts)}: {message}" if parts else message,
        url=exc.url or url,
        line=exc.line,
        entry=exc.entry if exc.entry is not None else entry,
    )
    new.__cause__ = exc.__cause__ or exc
    return new


def located_os_error(exc: OSError, url: str | None, entry: str) -> OSError:
    """``exc`` as the same OSError class with the catalog file and entry in front."""
    where = f"catalog {url}, entry {entry!r}" if url else f"entry {entry!r}"
    try:
        new = type(exc)(f"{where}: {exc}")  # (errno/filename would hide the message)
    except Exception:  # an OSError subclass with another signature
        return exc
    return new


def wrap(exc: BaseException, cls: type[CatalogError], what: str, url: str | None,
         entry: str | None) -> CatalogError:
    """A ``cls`` error naming the file and entry for an unexpected ``exc``."""
    where = ", ".join(
        p for p in (f"catalog {url}" if url else "", f"entry {entry!r}" if entry else "") if p
    )
    detail = str(exc) or type(exc).__name__
    new = cls(
        f"{where}: {what}: {type(exc).__name__}: {detail}" if where else f"{what}: {detail}",
        url=url,
        entry=entry,
    )
    new.__cause__ = exc
    return new


def syntax_error(exc: BaseException, url: str | None) -> CatalogError:
    """A :class:`CatalogSyntaxError` for an exception the YAML loader raised that is not
    a YAMLError (an integer too long to convert, a date out of range...)."""
    if isinstance(exc, RecursionError):
        return CatalogRecursionError(
            f"catalog {_where(url)}: nested too deep to load", url=url
        )
    return wrap(exc, CatalogSyntaxError, "invalid YAML value", url, None)


def driver_error(exc: Exception, url: str | None, entry: str, driver: Any) -> CatalogError:
    """The catalog error for an exception a driver's constructor raised."""
    from ..errors import DriverArgumentError, DriverError

    cls = DriverArgumentError if isinstance(exc, TypeError) else DriverError
    return wrap(exc, cls, f"driver {driver!r} refused the arguments", url, entry)
