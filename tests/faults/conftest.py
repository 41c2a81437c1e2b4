"""Fault tests reuse the store tests' helpers (tests/store/store_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

STORE_TESTS = str(Path(__file__).resolve().parents[1] / "store")
if STORE_TESTS not in sys.path:
    sys.path.insert(0, STORE_TESTS)
