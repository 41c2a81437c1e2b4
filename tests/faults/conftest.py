"""Fault tests reuse the store tests' helpers (tests/store/store_helpers.py, on
pytest's ``pythonpath``)."""

from __future__ import annotations
