"""Regression tests: each failure the generated campaign (test_robustness_generated.py)
saw ends in a library catalog error naming the file and the entry (or parameter), keeping the
builtin class intake raised; limits refuse runaway templates and YAML."""

from __future__ import annotations

import textwrap
import warnings

import pytest

from intake_persist.catalog import limits, open_catalog
from intake_persist.catalog.templates import base_context, render, render_string
from intake_persist.errors import (
    CatalogEncodingError,
    CatalogError,
    CatalogLimitError,
    CatalogRecursionError,
    CatalogSyntaxError,
    DriverArgumentError,
    DriverImportError,
    EntryDriverError,
    ParameterError,
    TemplateArithmeticError,
    TemplateError,
    TemplateLimitError,
    TemplateTypeError,
    UnknownDriverError,
)


def write(tmp_path, text, name="cat.yaml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def one_entry(tmp_path, entry_yaml, name="e"):
    body = textwrap.indent(textwrap.dedent(entry_yaml).strip("\n"), "    ")
    path = write(tmp_path, f"sources:\n  {name}:\n{body}\n")
    return path, open_catalog(path, persist_mode="never")


def assert_names(exc_info, path, entry=None):
    text = str(exc_info.value)
    assert path in text, text
    if entry is not None:
        assert repr(entry) in text, text


# ---- driver constructors ------------------------------------------------------------
def test_missing_driver_argument_is_a_type_error_naming_entry_and_file(tmp_path):
    path, cat = one_entry(tmp_path, "driver: json\nargs: {}\n", name="events")
    with pytest.raises(DriverArgumentError) as info:
        cat["events"]
    assert isinstance(info.value, TypeError)  # intake code catching TypeError still works
    assert isinstance(info.value, CatalogError)
    assert_names(info, path, "events")
    assert "urlpath" in str(info.value)
    assert info.value.entry == "events" and info.value.url == path


def test_unexpected_driver_argument_is_a_type_error(tmp_path):
    path, cat = one_entry(tmp_path, "driver: json\nargs: {urlpath: x.json, nonsense: 1}\n")
    with pytest.raises(TypeError) as info:
        cat.e(persist_mode="never")
    assert isinstance(info.value, DriverArgumentError)
    assert_names(info, path, "e")
    assert "nonsense" in str(info.value)


def test_driver_value_error_names_entry(tmp_path):
    path, cat = one_entry(tmp_path, "driver: jsonl\nargs: {urlpath: x.jsonl, encoder: nope}\n")
    with pytest.raises(CatalogError) as info:
        cat["e"]
    assert isinstance(info.value, ValueError)
    assert_names(info, path, "e")
    assert "nope" in str(info.value)


def test_dotted_driver_that_cannot_be_imported_names_the_entry(tmp_path):
    path, cat = one_entry(tmp_path, "driver: no_such_pkg.sub.Source\nargs: {}\n", name="ext")
    desc = cat.get_entry("ext").describe()  # still listed and described
    assert desc["driver"] == "no_such_pkg.sub.Source"
    with pytest.raises(DriverImportError) as info:
        cat["ext"]
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, UnknownDriverError)  # and KeyError/ValueError as before
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert_names(info, path, "ext")
    assert "no_such_pkg" in str(info.value) and "known drivers" in str(info.value)


def test_unknown_short_driver_names_the_entry(tmp_path):
    path, cat = one_entry(tmp_path, "driver: nosuch\n")
    with pytest.raises(EntryDriverError) as info:
        cat["e"]
    assert not isinstance(info.value, ImportError)
    assert_names(info, path, "e")


def test_parquet_engine_fastparquet_reads_with_pyarrow_and_warns(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(tmp_path / "x.parquet")
    path, cat = one_entry(
        tmp_path,
        "driver: intake_parquet.source.ParquetSource\n"
        "args: {urlpath: '{{ CATALOG_DIR }}/x.parquet', engine: fastparquet}\n",
    )
    with pytest.warns(UserWarning, match="fastparquet.*pyarrow"):
        source = cat["e"]
    assert source.read()["a"].tolist() == [1, 2, 3]


def test_parquet_unknown_engine_names_the_entry(tmp_path):
    path, cat = one_entry(tmp_path, "driver: parquet\nargs: {urlpath: x.parq, engine: spark}\n")
    with pytest.raises(CatalogError) as info:
        cat["e"]
    assert_names(info, path, "e")
    assert "spark" in str(info.value)


# ---- the file itself ------------------------------------------------------------------
def test_non_utf8_catalog_is_an_encoding_error_with_line(tmp_path):
    data = "sources:\n  e:\n    driver: csv\n    description: caf\xe9\n".encode("latin-1")
    path = write(tmp_path, data)
    with pytest.raises(CatalogEncodingError) as info:
        open_catalog(path)
    assert isinstance(info.value, UnicodeError) and isinstance(info.value, ValueError)
    assert_names(info, path)
    assert info.value.line == 4 and "line 4" in str(info.value)


@pytest.mark.parametrize(
    "value",
    ["9" * 6000, "!!timestamp 99999-01-01", "2020-13-45"],
    ids=["huge-int", "bad-timestamp-tag", "bad-date"],
)
def test_values_the_yaml_loader_cannot_build_are_syntax_errors(tmp_path, value):
    path = write(tmp_path, f"sources:\n  e:\n    driver: csv\n    args: {{x: {value}}}\n")
    with pytest.raises(CatalogSyntaxError) as info:
        open_catalog(path)
    assert_names(info, path)


@pytest.mark.parametrize(
    "text",
    [
        "sources: " + "[" * 60000 + "]" * 60000,
        "sources:\n  " + "- " * 40000 + "x\n",
        "sources: " + "{a: " * 20000 + "1" + "}" * 20000,
    ],
    ids=["flow-lists", "block-lists", "flow-maps"],
)
def test_deep_yaml_is_refused_without_crashing(tmp_path, text):
    # libyaml would crash the interpreter on the first two (C recursion) and take
    # seconds on deep flow collections (quadratic scanner)
    path = write(tmp_path, text)
    with pytest.raises(CatalogRecursionError) as info:
        open_catalog(path)
    assert isinstance(info.value, RecursionError) and isinstance(info.value, CatalogLimitError)
    assert_names(info, path)
    assert str(limits.MAX_DEPTH) in str(info.value)


def test_depth_limit_boundary(tmp_path):
    # sources -> e -> args -> x: 4 levels, then the nested lists
    inner = limits.MAX_DEPTH - 4
    ok = write(tmp_path, "sources: {e: {driver: csv, args: {x: " + "[" * inner + "]" * inner
               + "}}}", "ok.yaml")
    cat = open_catalog(ok, persist_mode="never")
    assert cat.get_entry("e").describe()["args"]["x"] is not None
    bad = write(tmp_path, "sources: {e: {driver: csv, args: {x: " + "[" * (inner + 1)
                + "]" * (inner + 1) + "}}}", "bad.yaml")
    with pytest.raises(CatalogRecursionError):
        open_catalog(bad)


def test_billion_laughs_is_refused(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    lines.append("sources:\n  e:\n    driver: csv\n    args: {urlpath: *j}")
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(CatalogLimitError) as info:
        open_catalog(path)
    assert_names(info, path)
    assert "alias" in str(info.value)


def test_aliases_within_the_limit_still_work(tmp_path):
    path = write(
        tmp_path,
        """
        common: &common {storage_options: {anon: true}, csv_kwargs: {sep: ';'}}
        sources:
          a: {driver: csv, args: {urlpath: a.csv, <<: *common}}
          b: {driver: csv, args: {urlpath: b.csv, <<: *common}}
        """,
    )
    cat = open_catalog(path, persist_mode="never")
    assert cat.get_entry("b").describe()["args"]["csv_kwargs"] == {"sep": ";"}


def test_alias_to_a_node_containing_it_is_refused(tmp_path):
    path = write(tmp_path, "sources: &s {e: {driver: csv, args: {x: *s}}}\n")
    with pytest.raises(CatalogRecursionError) as info:
        open_catalog(path)
    assert_names(info, path)


# ---- nested catalogs ----------------------------------------------------------------
def test_catalog_including_itself_walks_to_a_clear_error(tmp_path):
    path = write(
        tmp_path,
        """
        sources:
          again: {driver: yaml_file_cat, args: {path: '{{ CATALOG_DIR }}cat.yaml'}}
          data: {driver: csv, args: {urlpath: x.csv}}
        """,
    )
    cat = open_catalog(path, persist_mode="never")
    walked = cat.walk(depth=3)  # a bounded walk works as in intake
    assert "again.again.data" in walked
    with pytest.raises(CatalogRecursionError) as info:
        cat.walk(depth=10_000)
    assert_names(info, path, "again")
    with pytest.raises(CatalogRecursionError):
        cat["again." * 200 + "data"]


def test_missing_nested_catalog_file_is_an_oserror_naming_entry_and_path(tmp_path):
    path, cat = one_entry(tmp_path, "driver: yaml_file_cat\nargs: {path: /no/such/cat.yaml}\n")
    with pytest.raises(FileNotFoundError) as info:
        cat["e"]
    assert "/no/such/cat.yaml" in str(info.value)
    assert_names(info, path, "e")


# ---- parameters ---------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), 1e20, -1e20, float("inf")])
def test_bad_datetime_numbers_name_the_parameter(tmp_path, value):
    path, cat = one_entry(
        tmp_path,
        "driver: csv\nargs: {urlpath: 'x_{{ when }}.csv'}\n"
        "parameters: {when: {type: datetime, default: '2020-01-01'}}\n",
    )
    with pytest.raises(ParameterError) as info:
        cat.e(when=value)
    assert "'when'" in str(info.value)
    assert_names(info, path, "e")


def test_bad_parameter_bound_names_the_file_entry_and_parameter(tmp_path):
    path, cat = one_entry(
        tmp_path,
        "driver: csv\nargs: {urlpath: x.csv}\nparameters: {p: {type: int, default: 1, min: abc}}\n",
    )
    with pytest.raises(ParameterError) as info:
        cat["e"]
    assert_names(info, path, "e")
    assert "'p'" in str(info.value) and "abc" in str(info.value)


def test_deep_list_parameter_text_is_refused_cleanly(tmp_path):
    path, cat = one_entry(
        tmp_path,
        "driver: csv\nargs: {urlpath: 'x.csv', csv_kwargs: {usecols: '{{ cols }}'}}\n"
        "parameters: {cols: {type: list, default: [a]}}\n",
    )
    with pytest.raises(ParameterError) as info:
        cat.e(cols="[" * 30000)
    assert "'cols'" in str(info.value)


# ---- templates: errors -------------------------------------------------------------
@pytest.mark.parametrize(
    "template, cls, builtin",
    [
        ("{{ 1/0 }}", TemplateArithmeticError, ArithmeticError),
        ("{{ 10.0 ** 1000 }}", TemplateArithmeticError, ArithmeticError),
        ("{{ 1 + 'a' }}", TemplateTypeError, TypeError),
        ("{{ nope }}", TemplateError, ValueError),
    ],
)
def test_template_errors_keep_the_builtin_and_name_entry(tmp_path, template, cls, builtin):
    path, cat = one_entry(tmp_path, f'driver: csv\nargs: {{urlpath: "{template}"}}\n')
    with pytest.raises(cls) as info:
        cat["e"]
    assert isinstance(info.value, builtin)
    assert_names(info, path, "e")


# ---- templates: limits --------------------------------------------------------------
CTX = base_context("/tmp/")

SLOW_TEMPLATES = {
    "string-repetition": "{{ 'x' * 10 ** 9 }}",
    "big-power": "{{ 10 ** (10 ** 10) }}",
    "nested-loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "percent-width": "{{ '%1000000000s' % 1 }}",
    "format-width": "{{ '{:>1000000000}'.format(1) }}",
    "center-filter": "{{ 'x' | center(1000000000) }}",
    "ljust-method": "{{ 'x'.ljust(1000000000) }}",
    "doubling-concat": "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "doubling-list": "{% set l = [1] %}{% for i in range(64) %}{{ l.extend(l) }}{% endfor %}",
    "round-floor": "{{ 1.5 | round(1000000000, 'floor') }}",
    "lipsum": "{{ lipsum(1000000) }}",
    "slice-filter": "{{ [1, 2] | slice(1000000000) | list }}",
    "replace-blowup": "{{ ('x' * 999999) | replace('', 'yy') }}",
    "many-big-strings": "{% for i in range(5000) %}{% set x = 'a' * 999999 %}{% endfor %}",
    "macro-recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "deep-parentheses": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "big-output": "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}",
    "tojson-indent": "{{ {} | tojson(indent=1000000000) }}",
}


@pytest.mark.parametrize("template", list(SLOW_TEMPLATES.values()), ids=list(SLOW_TEMPLATES))
def test_runaway_templates_are_refused(template):
    with pytest.raises(TemplateLimitError) as info:
        render_string(template, dict(CTX))
    assert isinstance(info.value, CatalogLimitError) and isinstance(info.value, TemplateError)
    assert "refused" in str(info.value) or "too deep" in str(info.value)


def test_runaway_template_in_catalog_names_file_and_entry(tmp_path):
    path, cat = one_entry(
        tmp_path, "driver: csv\nargs: {urlpath: \"{{ 'x' * 10 ** 9 }}\"}\n", name="slow"
    )
    with pytest.raises(TemplateLimitError) as info:
        cat["slow"]
    assert_names(info, path, "slow")


def test_operation_limit_boundary(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEMPLATE_OPS", 100)
    # range() + the loop's guard + 50 iterations: within 100
    assert render_string("{% for i in range(50) %}{% endfor %}ok", dict(CTX)) == "ok"
    with pytest.raises(TemplateLimitError, match="more than 100 operations"):
        render_string("{% for i in range(101) %}{% endfor %}", dict(CTX))


def test_one_budget_for_all_templates_of_an_entry(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEMPLATE_OPS", 100)
    one = "{% for i in range(40) %}{% endfor %}x"
    assert render({"a": one, "b": one}, dict(CTX)) == {"a": "x", "b": "x"}
    with pytest.raises(TemplateLimitError):
        render({"a": one, "b": one, "c": one}, dict(CTX))


def test_size_limit_boundary():
    n = limits.MAX_TEMPLATE_SIZE
    assert len(render_string(f"{{{{ 'x' * {n} }}}}", dict(CTX))) == n
    with pytest.raises(TemplateLimitError, match=str(n)):
        render_string(f"{{{{ 'x' * {n + 1} }}}}", dict(CTX))


def test_integer_limit_boundary():
    bits = limits.MAX_INT_BITS
    assert render_string(f"{{{{ 2 ** {bits - 1} }}}}", dict(CTX)) == str(2 ** (bits - 1))
    with pytest.raises(TemplateLimitError, match="bits"):
        render_string(f"{{{{ 2 ** {bits + 1} }}}}", dict(CTX))


def test_ordinary_templates_still_render():
    ctx = dict(CTX, year=2021, cols=["a", "b"])
    assert (
        render_string(
            "{{ '{:08d}'.format(20200101) }}-{{ 'a' ~ year }}-"
            "{% for c in cols %}{{ c }}{% endfor %}-{{ 2 ** 64 }}-{{ '%05d' | format(42) }}-"
            "{{ cols | join(',') }}-{{ 'x' | center(5) }}-{{ range(3) | list }}",
            ctx,
        )
        == "20200101-a2021-ab-18446744073709551616-00042-a,b-  x  -[0, 1, 2]"
    )


def test_yaml_of_generated_source_and_describe_still_work(tmp_path):
    path, cat = one_entry(
        tmp_path,
        "driver: csv\nargs: {urlpath: '{{ CATALOG_DIR }}x_{{ year }}.csv'}\n"
        "parameters: {year: {type: int, default: 2020}}\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = cat.e(year=2021)
    assert source.urlpath.endswith("x_2021.csv")
    assert "x_2021.csv" in source.yaml()


def test_catalog_call_with_a_refused_parameter_names_the_file(tmp_path):
    path = write(
        tmp_path,
        """
        metadata:
          parameters:
            year: {type: int, default: 2020, max: 2030}
        sources:
          e: {driver: csv, args: {urlpath: 'x_{{ year }}.csv'}}
        """,
    )
    cat = open_catalog(path, persist_mode="never")
    assert cat(year=2021).e.urlpath == "x_2021.csv"
    with pytest.raises(ParameterError) as info:
        cat(year="abc")
    assert_names(info, path)
    assert "'year'" in str(info.value) and "abc" in str(info.value)


def test_bad_catalog_level_parameter_names_the_file(tmp_path):
    path = write(
        tmp_path,
        """
        metadata:
          parameters:
            year: {type: int, allowed: false}
        sources:
          e: {driver: csv, args: {urlpath: x.csv}}
        """,
    )
    try:
        cat = open_catalog(path, persist_mode="never")
        cat.describe()
        assert cat.user_parameters is not None
    except ParameterError as exc:
        assert path in str(exc) and "'year'" in str(exc)
    else:
        raise AssertionError("a parameter with allowed: false was accepted")


def test_template_source_limit(tmp_path, monkeypatch):
    # Jinja2 compiles some 50 KB of template a second: long templates are refused
    long_template = "{{ year }}-{{ year + 1 }}" * 2000  # 46,000 characters
    path, cat = one_entry(
        tmp_path,
        f"driver: csv\nargs: {{urlpath: '{long_template}'}}\n"
        "parameters: {year: {type: int, default: 2020}}\n",
    )
    with pytest.raises(TemplateLimitError, match="characters of templates") as info:
        cat["e"]
    assert_names(info, path, "e")
    monkeypatch.setattr(limits, "MAX_TEMPLATE_SOURCE", 100)
    ok = "{{ year + 1 }}" * 7  # 98 characters
    assert render_string(ok, dict(CTX, year=1)) == "2" * 7
    with pytest.raises(TemplateLimitError):
        render_string(ok + "{{ 1 }}", dict(CTX, year=1))


@pytest.mark.parametrize(
    "cls",
    [CatalogEncodingError, CatalogRecursionError, DriverArgumentError, DriverImportError,
     EntryDriverError, TemplateArithmeticError, TemplateLimitError, TemplateTypeError],
)
def test_new_errors_pickle_with_their_message(cls):
    # errors raised on dask workers travel back pickled
    import pickle

    err = pickle.loads(pickle.dumps(cls("catalog /x/cat.yaml, entry 'e': boom", url="/x")))
    assert type(err) is cls and str(err) == "catalog /x/cat.yaml, entry 'e': boom"
