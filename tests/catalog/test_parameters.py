import datetime as dt

import pytest

from intake_persist.catalog.errors import ParameterError
from intake_persist.catalog.parameters import UserParameter
from intake_persist.catalog.templates import base_context


def p(**spec):
    return UserParameter.from_spec("x", spec, entry="e")


@pytest.mark.parametrize(
    "type_, given, expected",
    [
        ("int", "3", 3),
        ("int", 3.0, 3),
        ("float", "2.5", 2.5),
        ("float", 2, 2.0),
        ("bool", "true", True),
        ("bool", "No", False),
        ("bool", 1, True),
        ("str", 5, "5"),
        ("datetime", "2021-03-04", dt.datetime(2021, 3, 4)),
        ("datetime", dt.date(2021, 3, 4), dt.datetime(2021, 3, 4)),
        (
            "datetime",
            "2021-03-04T05:06:07Z",
            dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc),
        ),
        ("list", "a,b", ["a", "b"]),
        ("list", "[1, 2]", [1, 2]),
        ("list", ("a",), ["a"]),
        ("unicode", "s", "s"),
    ],
)
def test_coercion(type_, given, expected):
    assert p(type=type_).validate(given) == expected


@pytest.mark.parametrize(
    "spec, value, words",
    [
        ({"type": "int"}, "abc", ["'x'", "'abc'", "integer"]),
        ({"type": "int"}, 2.5, ["2.5", "integer"]),
        ({"type": "int", "min": 2009}, 2000, ["2000", ">= 2009", "min"]),
        ({"type": "int", "max": 2030}, "2031", ["2031", "<= 2030", "max"]),
        ({"type": "str", "allowed": ["a", "b"]}, "c", ["'c'", "allowed", "['a', 'b']"]),
        ({"type": "mlist", "allowed": ["a", "b"]}, ["a", "z"], ["'z'", "allowed"]),
        ({"type": "bool"}, "maybe", ["'maybe'", "boolean"]),
        ({"type": "datetime", "min": "2020-01-01"}, "2019-05-01", [">= '2020-01-01'"]),
        ({"type": "datetime"}, "yesterday", ["'yesterday'", "ISO"]),
    ],
)
def test_refused_values_name_parameter_value_rule(spec, value, words):
    with pytest.raises(ValueError) as info:
        p(**spec).validate(value)
    assert isinstance(info.value, ParameterError)
    for w in words:
        assert w in str(info.value)
    assert "parameter 'x'" in str(info.value)


def test_mlist_subset():
    param = p(type="mlist", allowed=["a", "b", "c"])
    assert param.validate("a,c") == ["a", "c"]
    assert param.validate([]) == []


def test_allowed_coerced_to_type():
    assert p(type="int", allowed=["1", "2"]).validate("2") == 2


def test_unknown_type():
    with pytest.raises(ParameterError, match="unknown type 'complex'"):
        p(type="complex")


def test_defaults_env_forms(monkeypatch):
    monkeypatch.setenv("IP_USER", "ann")
    ctx = base_context("/d")
    assert p(default="env(IP_USER)").expand_default(ctx) == "ann"
    assert p(default='{{ env("IP_USER") }}').expand_default(ctx) == "ann"
    assert p(default="{{ CATALOG_DIR }}/f").expand_default(ctx) == "/d/f"
    assert p(type="int", default="7").expand_default(ctx) == 7
    # no default: the type's empty value, as intake 0.7.0 renders it
    assert p(type="int").expand_default(ctx) == 0
    assert p(type="str").expand_default(ctx) == ""
    assert p(type="list").expand_default(ctx) == []
    assert p(type="datetime").expand_default(ctx) == dt.datetime(1970, 1, 1)


def test_default_shell_refused():
    with pytest.raises(PermissionError):
        p(default="shell(echo hi)").expand_default(base_context(None))
    assert p(default="shell(echo hi)").expand_default(base_context(None, True)) == "hi"


def test_describe():
    d = p(type="int", default=1, min=0, max=5, description="d").describe()
    assert d == {
        "name": "x",
        "description": "d",
        "type": "int",
        "default": 1,
        "min": 0,
        "max": 5,
        "allowed": None,
    }
