import datetime as dt

import pytest

from intake_persist.catalog.errors import ShellNotAllowedError, TemplateError
from intake_persist.catalog.templates import _jinja_render, base_context, render, render_string


def ctx(**values):
    c = base_context("/data/cats")
    c.update(values)
    return c


def test_plain_strings_untouched():
    assert render_string("no templates here {x}", ctx()) == "no templates here {x}"
    assert render_string("", ctx()) == ""


def test_whole_placeholder_keeps_type():
    assert render_string("{{ year }}", ctx(year=2021)) == 2021
    assert render_string("{{year}}", ctx(year=[1, 2])) == [1, 2]
    day = dt.datetime(2021, 3, 4)
    assert render_string("{{ day }}", ctx(day=day)) is day


def test_fast_path_substitution_matches_jinja():
    c = ctx(year=2021, flag=True, name="x", none=None, f=1.5)
    for text in [
        "{{ CATALOG_DIR }}/trips_{{ year }}.csv",
        "a{{flag}}b{{ none }}c{{ f }}\n",
        "{{ name }}{{ name }}",
        "trailing newline {{ year }}\n",
    ]:
        assert render_string(text, c) == _jinja_render(text, c)


def test_jinja_expressions():
    day = dt.date(2021, 3, 4)
    c = ctx(month=3, day=day)
    assert render_string("m{{ '%02d' % month }}", c) == "m03"
    assert render_string("{{ day.strftime('%Y%m%d') }}.csv", c) == "20210304.csv"
    assert render_string("{% if month > 2 %}late{% else %}early{% endif %}", c) == "late"


def test_env(monkeypatch):
    monkeypatch.setenv("IP_TEST_VAR", "hello")
    assert render_string('{{ env("IP_TEST_VAR") }}/x', ctx()) == "hello/x"
    monkeypatch.delenv("IP_TEST_VAR")
    assert render_string('{{ env("IP_TEST_VAR") }}', ctx()) == ""


def test_shell_refused_by_default():
    with pytest.raises(ShellNotAllowedError, match="allow_shell=True"):
        render_string('{{ shell("echo hi") }}', ctx())


def test_shell_allowed():
    c = base_context(None, allow_shell=True)
    assert render_string('{{ shell("echo hi") }}', c) == "hi"


def test_undefined_name_is_an_error_both_paths():
    with pytest.raises(TemplateError, match="nope"):
        render_string("{{ nope }}", ctx())
    with pytest.raises(TemplateError, match="nope"):
        render_string("a/{{ nope }}", ctx())
    with pytest.raises(TemplateError, match="nope"):
        render_string("{{ nope | upper }}", ctx())


def test_sandbox_blocks_unsafe_attributes():
    with pytest.raises(TemplateError):
        render_string("{{ ''.__class__.__mro__[1].__subclasses__() }}", ctx())


def test_render_recurses():
    args = {"a": ["{{ x }}", {"b": "p{{ x }}"}], "n": 3, "t": ("{{ x }}",), "none": None}
    assert render(args, ctx(x=1)) == {"a": [1, {"b": "p1"}], "n": 3, "t": (1,), "none": None}


def test_bad_template_syntax():
    with pytest.raises(TemplateError, match="invalid template"):
        render_string("{{ x + }}", ctx(x=1))
