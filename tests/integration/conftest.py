"""Integration tests against real servers (SeaweedFS). They reuse the store tests'
helpers and the backend contract class from tests/store."""

from __future__ import annotations

import sys
from pathlib import Path

STORE_TESTS = str(Path(__file__).resolve().parents[1] / "store")
if STORE_TESTS not in sys.path:
    sys.path.insert(0, STORE_TESTS)
