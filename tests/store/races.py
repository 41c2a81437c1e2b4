"""Racers for the concurrency tests: threads whose exceptions are collected, and
worker processes (``python -c CODE``) that import the package and these helpers."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence

from store_helpers import subprocess_env


def run_threads(work: Callable[[int], object], n: int,
                timeout: float | None = None) -> list[Exception]:
    """Run ``work(0)`` .. ``work(n - 1)`` at once, one thread each, and wait for them;
    the exceptions they raised (empty when none did)."""
    errors: list[Exception] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors


def start_workers(code: str, argvs: Iterable[Sequence[object]],
                  stderr: int | None = subprocess.PIPE) -> list[subprocess.Popen]:
    """Start one ``python -c code *argv`` per argv, stdout piped as text, and stderr
    too for ``finish_workers`` to report (``stderr=None`` where nothing will read it)."""
    return [subprocess.Popen([sys.executable, "-c", code, *map(str, argv)],
                             stdout=subprocess.PIPE, stderr=stderr, text=True,
                             env=subprocess_env())
            for argv in argvs]


def finish_workers(procs: list[subprocess.Popen], timeout: float) -> list[str]:
    """Wait for each worker, which must exit with 0 (its stderr says why not); their
    outputs."""
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        outs.append(out)
    return outs
