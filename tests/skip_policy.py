"""In CI a skip is a failure: with ``INTAKE_PERSIST_NO_SKIP=1`` (set by ``.ci/run``)
a test skipped because a dependency, binary or server is missing fails instead,
so a broken install cannot leave the run green. Deliberate skips, whose reason
starts with ``deliberate:`` (say, a permission test that means nothing under
root), stay skips. Loaded by ``tests/conftest.py``; a pytest plugin on its own
(``-p skip_policy``) for the test of this policy."""

from __future__ import annotations

import os

import pytest

SWITCH = "INTAKE_PERSIST_NO_SKIP"
DELIBERATE = "deliberate:"


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(SWITCH) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if reason.startswith(DELIBERATE):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped ({reason}), and {SWITCH}=1 makes a skip a failure: install what the "
        f"test needs, or give a deliberate skip a reason starting with {DELIBERATE!r}"
    )
