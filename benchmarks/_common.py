"""Helpers shared by the benchmark scripts (not a test module, not part of the package).

- makes ``import intake_persist`` work from a checkout that is not installed, in
  this process and in the subprocesses the benchmarks start (``PYTHONPATH``);
- byte-compiles the package once (``header``), as ``pip install`` does: with
  ``PYTHONDONTWRITEBYTECODE`` set (this machine sets it) every fresh process would
  otherwise compile intake_persist from source while pandas and pyarrow load their
  installed ``.pyc`` files, a cost no installed copy pays;
- medians, load average, the header line that records the command and the machine.
"""

from __future__ import annotations

import datetime as _dt
import os
import statistics
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA = os.path.join(HERE, "_data")

if REPO not in sys.path:
    sys.path.insert(0, REPO)


def child_env(**extra: str) -> dict:
    """The environment for a benchmark subprocess: this one, plus the checkout on
    ``PYTHONPATH`` (so an uninstalled checkout imports) and ``extra``."""
    env = dict(os.environ)
    parts = [REPO] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    env.update(extra)
    return env


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def compile_package() -> None:
    """Write ``__pycache__`` for the checkout's package (what an install does)."""
    import compileall

    compileall.compile_dir(os.path.join(REPO, "intake_persist"), quiet=1)


def header(repeats: int | None = None) -> None:
    """Print the command, the date, the machine and the load (after byte-compiling
    the package, see the module docstring)."""
    compile_package()
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = " ".join(["python", os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])
    print(f"# {cmd}")
    rep = f", median of {repeats}" if repeats else ""
    print(f"# {now}, python {sys.version.split()[0]}, {os.cpu_count()} cpus{rep}, {load()} (start)")


def footer() -> None:
    print(f"# {load()} (end)")


def median_ms(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def fresh_processes_ms(codes: dict[str, str], repeats: int, env: dict | None = None,
                       cwd: str | None = None) -> dict[str, float]:
    """Median wall time (ms) of ``python -c code`` in fresh interpreters for each
    code, run interleaved (a, b, c, a, b, c, ...) after one untimed warm-up round, so
    that a change of machine load touches every variant alike."""
    env = env or child_env()
    times: dict[str, list[float]] = {k: [] for k in codes}
    for rnd in range(repeats + 1):
        for name, code in codes.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=cwd)
            if rnd:
                times[name].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def timed_step(label: str, body: str, **values: object) -> dict:
    """Run ``body`` (with ``values`` bound as globals) in a fresh interpreter; its wall
    time in seconds (``s``) and its own peak memory (``rss_mb``)."""
    import json

    head = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    code = (
        "import time, resource, json\n" + head + "t0 = time.perf_counter()\n"
        + textwrap.dedent(body)
        + "\nprint(json.dumps({'s': time.perf_counter() - t0,"
        " 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env())
    if out.returncode:
        raise SystemExit(f"step {label} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])
