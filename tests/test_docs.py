"""The Sphinx site in docs/ builds with warnings as errors, so a broken reference,
a malformed table or a docstring of the public API that no longer renders fails CI."""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("open_catalog", "PersistStore", "get_store", "register_driver"):
        assert f'id="intake_persist.{name}"' in api, name
