"""The ``lab`` fixture of the derived-source tests (see derived_lab.py)."""

from __future__ import annotations

import sys

import pytest
from derived_lab import Lab


@pytest.fixture
def lab(tmp_path, monkeypatch, request):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    return Lab(tmp_path, request)
