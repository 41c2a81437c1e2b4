"""The TTL and persist_mode decisions (intake_persist.store.freshness), pure functions.

No store is needed: an index entry is a dict, and ``now`` is passed explicitly, so
each boundary is checked exactly."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from intake_persist.errors import PERSIST_MODES, PersistModeError, check_persist_mode
from intake_persist.store.freshness import (
    check_keep,
    check_ttl,
    copy_is_current,
    entry_age,
    hands_back_original,
    is_expired,
)

T0 = 1_700_000_000.0


def entry(ttl=None, timestamp=T0, **md):
    return {"driver": "parquet", "metadata": {"ttl": ttl, "timestamp": timestamp, **md}}


# ---- check_ttl ----------------------------------------------------------------------
@pytest.mark.parametrize("ttl, expected", [
    (None, None), (0, 0), (5, 5), (10**12, 10**12), (np.int64(7), 7),
    (0.0, 0.0), (2.5, 2.5), (3.0, 3.0), (np.float64(1.5), 1.5), (Fraction(1, 2), 0.5),
    (math.inf, None), (float("inf"), None),
])
def test_check_ttl_values(ttl, expected):
    got = check_ttl(ttl)
    assert got == expected
    assert type(got) is type(expected)  # integers stay int, floats float, inf -> None


@pytest.mark.parametrize("ttl", [-1, -0.001, -math.inf, math.nan, True, False, "5", [1], 1j])
def test_check_ttl_refuses(ttl):
    with pytest.raises(ValueError) as err:
        check_ttl(ttl)
    assert str(err.value) == \
        f"ttl must be None (never expires) or a number of seconds >= 0, got {ttl!r}"


# ---- check_keep ---------------------------------------------------------------------
@pytest.mark.parametrize("keep", [1, 2, np.int32(3), 10**6])
def test_check_keep_values(keep):
    got = check_keep(keep)
    assert got == keep and type(got) is int


@pytest.mark.parametrize("keep", [0, -1, 1.0, 1.5, True, False, "2", None])
def test_check_keep_refuses(keep):
    with pytest.raises(ValueError) as err:
        check_keep(keep)
    assert str(err.value) == f"keep must be an integer >= 1 (copies to keep), got {keep!r}"


# ---- age and expiry -----------------------------------------------------------------
def test_entry_age():
    assert entry_age(entry(), T0 + 12.5) == 12.5
    assert entry_age(entry(timestamp="1700000000"), T0 + 1) == 1.0  # hand-edited text
    assert entry_age(entry(timestamp=None), T0) is None
    assert entry_age(entry(timestamp="yesterday"), T0) is None
    assert entry_age({"driver": "parquet"}, T0) is None
    assert entry_age({"metadata": None}, T0) is None


def test_expiry_is_counted_from_the_timestamp():
    e = entry(ttl=60)
    assert is_expired(e, T0 + 59.999) is False
    assert is_expired(e, T0 + 60) is True  # at ttl seconds exactly: expired
    assert is_expired(e, T0 + 61) is True
    assert is_expired(e, T0 - 100) is False  # a clock behind the writer's


def test_ttl_zero_expires_at_once_and_none_never():
    assert is_expired(entry(ttl=0), T0) is True
    assert is_expired(entry(ttl=None), T0 + 10**9) is False
    assert is_expired({"metadata": {"timestamp": T0}}, T0 + 10**9) is False  # no ttl key
    assert is_expired({"driver": "parquet"}, T0) is False  # no metadata at all


def test_hand_edited_ttl_as_text_counts():
    assert is_expired(entry(ttl="60"), T0 + 61) is True
    assert is_expired(entry(ttl="60"), T0 + 59) is False


def test_ttl_that_is_not_a_number_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match=r"ignoring a ttl that is not a number: 'soon'"):
        assert is_expired(entry(ttl="soon"), T0 + 10**9) is False
    with pytest.warns(UserWarning, match=r"ignoring a ttl that is not a number: \[1\]"):
        assert is_expired(entry(ttl=[1]), T0 + 10**9) is False


def test_without_a_timestamp_a_copy_with_a_ttl_is_expired():
    assert is_expired(entry(ttl=10**9, timestamp=None), T0) is True
    assert is_expired(entry(ttl=10**9, timestamp="garbled"), T0) is True


def test_now_defaults_to_the_clock():
    import time

    assert is_expired(entry(ttl=3600, timestamp=time.time())) is False
    assert is_expired(entry(ttl=3600, timestamp=time.time() - 7200)) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid entry warns about nothing
        is_expired(entry(ttl=1))


# ---- what a catalog hands back ------------------------------------------------------
class Src:
    def __init__(self, metadata=None):
        self.metadata = metadata


def test_never_and_copies_hand_back_the_source():
    assert hands_back_original("never", Src()) is True
    assert hands_back_original("never", Src({"original_tok": "a" * 32})) is True
    for mode in ("default", "always"):
        assert hands_back_original(mode, Src()) is False
        assert hands_back_original(mode, Src({"owner": "me"})) is False
        assert hands_back_original(mode, Src(None)) is False
        assert hands_back_original(mode, object()) is False  # no metadata at all
        assert hands_back_original(mode, Src({"original_tok": "a" * 32})) is True


@pytest.mark.parametrize("mode", ["", "Default", "ALWAYS", "sometimes", None, 1, True])
def test_bad_mode_is_refused_before_anything(mode):
    with pytest.raises(PersistModeError) as err:
        hands_back_original(mode, Src({"original_tok": "a" * 32}))
    assert str(err.value) == (f"invalid persist_mode {mode!r}; valid modes are: "
                              "'default', 'always', 'never'")
    assert isinstance(err.value, ValueError)


def test_check_persist_mode_returns_the_mode():
    assert PERSIST_MODES == ("default", "always", "never")
    for mode in PERSIST_MODES:
        assert check_persist_mode(mode) == mode


def test_copy_is_current_by_mode():
    fresh, stale = entry(ttl=60), entry(ttl=60)
    now_fresh, now_stale = T0 + 10, T0 + 100
    assert copy_is_current("default", fresh, now_fresh) is True
    assert copy_is_current("default", stale, now_stale) is False
    assert copy_is_current("always", stale, now_stale) is True  # any copy, stale or not
    assert copy_is_current("always", fresh, now_fresh) is True
    assert copy_is_current("default", entry(ttl=None), now_stale) is True
