"""Refreshing persisted copies in dependency order.

A persisted derived source records the tokens of its upstream entries
(``derived_from`` in its original's metadata, see :mod:`intake_persist.sources.derived`).
From the index alone this module builds the graph *key -> upstream keys held in
the store*, orders a refresh upstream first with each key once (two branches
sharing an upstream refresh it once), and runs it: a step that fails stops every
step downstream of it, which is reported as skipped, and the others go on. A
cycle in the graph is a :class:`~intake_persist.errors.DependencyCycleError`
naming the entries on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DependencyCycleError, RefreshError

REFRESHED, FAILED, SKIPPED = "refreshed", "failed", "skipped"


@dataclass(frozen=True)
class RefreshStep:
    """One key of a refresh run: ``status`` is ``refreshed``, ``failed`` (``error``
    says why) or ``skipped`` (``blocked_by`` is the upstream key that failed or was
    skipped). ``copy`` is the new copy; ``new_key`` its key, which differs from
    ``key`` when the original's token changed (its code or upstream did)."""

    key: str
    name: str | None
    status: str
    error: BaseException | None = None
    blocked_by: str | None = None
    copy: Any = None
    seconds: float = 0.0

    @property
    def new_key(self) -> str | None:
        if self.copy is None:
            return None
        return str((self.copy.metadata or {}).get("original_tok") or self.key)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "name": self.name, "status": self.status}
        if self.status == REFRESHED:
            out["new_key"] = self.new_key
            out["seconds"] = round(self.seconds, 3)
        if self.error is not None:
            out["error"] = f"{type(self.error).__name__}: {self.error}"
        if self.blocked_by is not None:
            out["blocked_by"] = self.blocked_by
        return out


@dataclass
class RefreshReport:
    """The steps of a refresh run, in the order they ran."""

    steps: list[RefreshStep] = field(default_factory=list)

    def _with(self, status: str) -> list[RefreshStep]:
        return [s for s in self.steps if s.status == status]

    @property
    def refreshed(self) -> list[RefreshStep]:
        return self._with(REFRESHED)

    @property
    def failed(self) -> list[RefreshStep]:
        return self._with(FAILED)

    @property
    def skipped(self) -> list[RefreshStep]:
        return self._with(SKIPPED)

    @property
    def ok(self) -> bool:
        return all(s.status == REFRESHED for s in self.steps)

    @property
    def order(self) -> list[str]:
        return [s.key for s in self.steps]

    def step(self, key: str) -> RefreshStep:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps]}

    def summary(self) -> str:
        """One line per step that did not refresh."""
        lines = []
        for s in self.steps:
            label = f"{s.name or '-'} ({s.key})"
            if s.status == FAILED:
                lines.append(f"{label} failed: {type(s.error).__name__}: {s.error}")
            elif s.status == SKIPPED:
                lines.append(f"{label} skipped: its upstream {s.blocked_by} was not refreshed")
        return "; ".join(lines)


# ---- the graph ------------------------------------------------------------------------
def upstream_tokens(entry: Mapping[str, Any]) -> list[str]:
    """The upstream tokens an index entry's original records: a derived source's
    ``derived_from``, or the ``lineage`` of a ``@persisted`` call (none for other
    sources)."""
    md = entry.get("metadata") or {}
    orig = md.get("original_source") or {}
    for record in (orig.get("metadata"), md.get("original_metadata")):
        if not isinstance(record, dict):
            continue
        derived = record.get("derived_from")
        if isinstance(derived, dict):
            ups = derived.get("upstream") or []
        elif isinstance(record.get("lineage"), list):
            ups = record["lineage"]
        else:
            continue
        return [str(u["token"]) for u in ups if isinstance(u, dict) and u.get("token")]
    return []


def dependency_graph(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{key: [upstream keys]}``, keeping only upstream keys the store holds."""
    return {
        key: list(dict.fromkeys(u for u in upstream_tokens(entry) if u in entries))
        for key, entry in entries.items()
    }


def _name(entries: Mapping[str, Mapping[str, Any]], key: str) -> str:
    md = (entries.get(key) or {}).get("metadata") or {}
    return str(md.get("original_name") or key)


def dependency_order(
    graph: Mapping[str, Iterable[str]],
    keys: Iterable[str],
    names: Callable[[str], str] = str,
) -> list[str]:
    """``keys`` and everything upstream of them, upstream first, each once."""
    done: set[str] = set()
    out: list[str] = []
    for root in keys:
        if root in done:
            continue
        path: list[str] = []
        stack: list[tuple[str, Any]] = [(root, iter(graph.get(root, ())))]
        path.append(root)
        while stack:
            key, ups = stack[-1]
            nxt = next(ups, None)
            if nxt is None:
                stack.pop()
                path.pop()
                done.add(key)
                out.append(key)
                continue
            if nxt in done:
                continue
            if nxt in path:
                cycle = [names(k) for k in path[path.index(nxt) :]] + [names(nxt)]
                raise DependencyCycleError(
                    "persisted derived sources depend on each other in a cycle: "
                    + " -> ".join(cycle),
                    entries=cycle,
                )
            path.append(nxt)
            stack.append((nxt, iter(graph.get(nxt, ()))))
    return out


# ---- running ------------------------------------------------------------------------------
def refresh_in_order(
    store: Any,
    keys: Iterable[str],
    upstream: bool = False,
    progress: Callable[[str, str | None], Any] | None = None,
) -> RefreshReport:
    """Refresh ``keys`` (with ``upstream=True``, and every persisted entry upstream of
    them) upstream first, each once. ``progress(key, name)`` may return a progress
    callback for that key's copy. A failure stops the steps downstream of it (through
    entries not asked for too); the rest go on."""
    entries = store.index.entries()
    keys = [store.get_tok(k) for k in keys]
    graph = dependency_graph(entries)
    order = dependency_order(graph, keys, lambda k: _name(entries, k))
    wanted = set(order) if upstream else set(keys)
    stopped: dict[str, str] = {}  # key -> the failed key its stop comes from
    report = RefreshReport()
    for key in order:
        name = (entries.get(key) or {}).get("metadata", {}).get("original_name")
        blocker = next((u for u in graph.get(key, ()) if u in stopped), None)
        if blocker is not None:
            stopped[key] = blocker
            if key in wanted:
                report.steps.append(RefreshStep(key, name, SKIPPED, blocked_by=blocker))
            continue
        if key not in wanted:
            continue
        t0 = time.perf_counter()
        try:
            callback = progress(key, name) if progress is not None else None
            copy = store.refresh(key, progress=callback)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - reported; the other branches go on
            stopped[key] = key
            report.steps.append(RefreshStep(key, name, FAILED, error=exc))
            continue
        report.steps.append(
            RefreshStep(key, name, REFRESHED, copy=copy, seconds=time.perf_counter() - t0)
        )
    return report


def refresh_with_upstream(store: Any, key: Any, progress: Any = None) -> Any:
    """``store.refresh(key, upstream=True)``: the entries upstream of ``key`` first,
    then ``key``; its new copy, or :class:`~intake_persist.errors.RefreshError`
    (carrying the report) when it could not be refreshed."""
    key = store.get_tok(key)
    store.info(key)  # NotPersistedError for an unknown key
    report = refresh_in_order(
        store, [key], upstream=True, progress=(lambda k, n: progress if k == key else None)
    )
    step = report.step(key)
    if step.status != REFRESHED:
        raise RefreshError(
            f"could not refresh {step.name or key!r} ({key}) with its upstream: "
            + report.summary(),
            report=report,
        )
    return step.copy
