"""Progress bars on stderr while ``persist`` and ``refresh`` write copies."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import render as R

if TYPE_CHECKING:
    from rich.progress import Progress


class ProgressBars:
    """One rich progress bar per entry on stderr, or nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Progress | None = None

    def __enter__(self) -> ProgressBars:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("partitions"),
                TimeElapsedColumn(),
                console=R.console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def callback(self, label: str) -> Callable[[int, int], None] | None:
        """``update(done, total)`` for one entry. Its bar appears at the first update
        that knows the total, so it never reads ``0/?``."""
        if self._progress is None:
            return None
        progress = self._progress
        task = None

        def update(done: int, total: int | None = None) -> None:
            nonlocal task
            if task is None:
                if total is None:
                    return
                task = progress.add_task(label, total=total, completed=done)
                return
            progress.update(task, completed=done, total=total)

        return update


def progress_enabled(args: argparse.Namespace) -> bool:
    """Bars only on a terminal, and neither with ``--json`` nor ``--no-progress``."""
    if args.json or getattr(args, "no_progress", False):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
