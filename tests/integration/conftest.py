"""Integration tests against real servers (SeaweedFS). They reuse the store tests'
helpers (tests/store/store_helpers.py, on pytest's ``pythonpath``) and the backend
contract class (``intake_persist.testing``)."""

from __future__ import annotations
