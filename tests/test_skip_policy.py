"""INTAKE_PERSIST_NO_SKIP=1 turns a skip for something missing into a failure and
leaves deliberate skips alone (tests/skip_policy.py), in a real pytest run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CASES = textwrap.dedent("""
    import pytest

    @pytest.fixture
    def server():
        pytest.importorskip("no_such_module_for_the_skip_policy")

    def test_needs_a_module():
        pytest.importorskip("no_such_module_for_the_skip_policy")

    def test_needs_a_server(server):
        pass

    @pytest.mark.skipif(True, reason="the server binary is not installed")
    def test_skipif():
        pass

    def test_root():
        pytest.skip("deliberate: file permissions mean nothing under root")

    def test_ok():
        assert True
""")


def _run(tmp_path, switch, extra=()):
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "INTAKE_PERSIST_NO_SKIP"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    if switch is not None:
        env["INTAKE_PERSIST_NO_SKIP"] = switch
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "skip_policy", "-p", "no:cacheprovider",
         "-rA", "-q", *extra, "test_cases.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    lines = [ln for ln in out.stdout.splitlines()
             if ln.startswith(("PASSED", "FAILED", "ERROR", "SKIPPED"))]
    return out.returncode, sorted(ln.split(" - ")[0] for ln in lines), out.stdout


@pytest.mark.parametrize("switch", [None, "0"])
def test_without_the_switch_skips_stay_skips(tmp_path, switch):
    code, lines, out = _run(tmp_path, switch)
    assert code == 0, out
    assert lines == sorted([
        "PASSED test_cases.py::test_ok",
        "SKIPPED [1] test_cases.py:9: could not import 'no_such_module_for_the_skip_policy': "
        "No module named 'no_such_module_for_the_skip_policy'",
        "SKIPPED [1] test_cases.py:11: could not import 'no_such_module_for_the_skip_policy': "
        "No module named 'no_such_module_for_the_skip_policy'",
        "SKIPPED [1] test_cases.py:14: the server binary is not installed",
        "SKIPPED [1] test_cases.py:19: deliberate: file permissions mean nothing under root",
    ]), out


# the suite runs under pytest-xdist: there the hook runs in the workers, whose reports
# the controller only prints and counts
@pytest.mark.parametrize("extra", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_with_the_switch_only_deliberate_skips_remain(tmp_path, extra):
    code, lines, out = _run(tmp_path, "1", extra)
    assert code == 1, out
    assert lines == sorted([
        "PASSED test_cases.py::test_ok",
        "FAILED test_cases.py::test_needs_a_module",
        "ERROR test_cases.py::test_needs_a_server",
        "ERROR test_cases.py::test_skipif",
        "SKIPPED [1] test_cases.py:19: deliberate: file permissions mean nothing under root",
    ]), out
    assert "INTAKE_PERSIST_NO_SKIP=1 makes a skip a failure" in out
    assert "skipped (the server binary is not installed)" in out
