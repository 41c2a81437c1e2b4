"""Generated catalogs (valid, mutated and hostile) through every catalog operation.

Whatever the catalog, ``open_catalog``, ``list``, ``walk``, ``cat[name]``,
``describe``, calling an entry with parameters and ``yaml()`` either work or raise
a library :class:`CatalogError` naming the catalog file (and the entry, for an
entry's operations), or an ``OSError`` naming a path. Hypothesis runs with a
fixed seed (``derandomize=True``) and a bounded number of examples.

Each example also runs under a hard cap of work: the limits in
:mod:`intake_persist.catalog.limits` (not the clock) are what keeps it short.
"""

from __future__ import annotations

import collections
import os
import tempfile
import warnings

import fsspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_persist.catalog import open_catalog
from intake_persist.errors import CatalogError

SETTINGS = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# ---- building blocks ------------------------------------------------------------------
DRIVERS = [
    "csv",
    "parquet",
    "textfiles",
    "json",
    "jsonl",
    "numpy",
    "npy",
    "zarr",
    "ndzarr",
    "yaml_file_cat",
    "yaml_files_cat",
    "catalog",
    "intake.source.csv.CSVSource",
    "intake_parquet.source.ParquetSource",
    "intake.source.npy.NpySource",
    "intake.source.jsonfiles.JSONFileSource",
    "intake.source.textfiles.TextFilesSource",
    "intake.catalog.local.YAMLFileCatalog",
    "no_such_driver",
    "no_such_pkg.module.Source",
    "os.path.join",
    "intake_persist.sources.base.Schema",
    ".relative",
    "a..b",
]
ARG_NAMES = [
    "urlpath",
    "path",
    "columns",
    "engine",
    "csv_kwargs",
    "storage_options",
    "dtype",
    "shape",
    "chunks",
    "encoder",
    "text_mode",
    "text_encoding",
    "compression",
    "component",
    "filters",
    "split_row_groups",
    "blocksize",
    "metadata",
    "bogus",
]
PARAM_TYPES = ["str", "int", "float", "bool", "datetime", "list", "mlist", "weird", None, 3]

HOSTILE_TEMPLATES = [
    "{{ 1/0 }}",
    "{{ 10.0 ** 1000 }}",
    "{{ 'x' * 10 ** 9 }}",
    "{{ 10 ** 10 ** 10 }}",
    "{{ 2 ** 100000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ i }}{% endfor %}",
    "{{ '%1000000000s' % 1 }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ 'x' | center(1000000000) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{% set l = [1] %}{% for i in range(64) %}{{ l.extend(l) }}{% endfor %}",
    "{{ lipsum(1000000) }}",
    "{{ undefined_name }}",
    "{{ env(HOME) }}/x",
    "{{ shell('echo hi') }}",
    "{{ ''.__class__.__mro__ }}",
    "{% include 'other.yaml' %}",
    "{{ CATALOG_DIR }}data.csv",
    "{{ CATALOG_DIR }}/../x/{{ year }}.csv",
    "{{ year + 1 }}",
    "{{ {} | tojson(indent=1000000000) }}",
    "{{",
    "{% for %}",
    "{{ 'a' ~ }}",
]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEMPLATES),
    st.datetimes().map(lambda d: d.isoformat()),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def parameter_specs(draw):
    spec = {}
    if draw(st.booleans()):
        spec["type"] = draw(st.sampled_from(PARAM_TYPES))
    for key in ("default", "min", "max"):
        if draw(st.booleans()):
            spec[key] = draw(_scalars)
    if draw(st.integers(0, 3)) == 0:
        spec["allowed"] = draw(st.one_of(st.lists(_scalars, max_size=4), _scalars))
    if draw(st.integers(0, 3)) == 0:
        spec["description"] = draw(_scalars)
    if draw(st.integers(0, 10)) == 0:
        return draw(_values)  # not a mapping at all
    return spec


@st.composite
def entry_specs(draw):
    kind = draw(st.integers(0, 12))
    if kind == 0:
        return draw(_values)  # not a mapping
    entry = {}
    if draw(st.integers(0, 10)):
        if draw(st.integers(0, 8)):
            entry["driver"] = draw(st.sampled_from(DRIVERS))
        else:
            entry["driver"] = draw(
                st.one_of(
                    st.lists(st.sampled_from(DRIVERS), max_size=3),
                    st.dictionaries(
                        st.sampled_from(DRIVERS),
                        st.fixed_dictionaries({"class": st.sampled_from(DRIVERS)}),
                        max_size=2,
                    ),
                    _scalars,
                )
            )
    if draw(st.integers(0, 6)):
        args = draw(st.dictionaries(st.sampled_from(ARG_NAMES), _values, max_size=5))
        if draw(st.integers(0, 3)) == 0:
            args["path"] = "{{ CATALOG_DIR }}cat.yaml"  # a catalog including itself
        entry["args"] = args if draw(st.integers(0, 12)) else draw(_values)
    if draw(st.booleans()):
        entry["parameters"] = draw(
            st.dictionaries(st.sampled_from(["year", "n", "when", "x"]), parameter_specs(),
                            max_size=3)
        )
    for key in ("description", "metadata", "direct_access"):
        if draw(st.integers(0, 3)) == 0:
            entry[key] = draw(_values)
    return entry


VALID_ARGS = {
    "csv": {"urlpath": "{{ CATALOG_DIR }}data_{{ year }}.csv", "csv_kwargs": {"sep": ","}},
    "intake.source.csv.CSVSource": {"urlpath": "{{ CATALOG_DIR }}/x.csv", "blocksize": 1000},
    "parquet": {"urlpath": "{{ CATALOG_DIR }}x.parquet", "engine": "fastparquet"},
    "intake_parquet.source.ParquetSource": {"urlpath": "x.parq", "columns": ["a"]},
    "json": {"urlpath": "{{ CATALOG_DIR }}x.json"},
    "jsonl": {"urlpath": "x.jsonl"},
    "textfiles": {"urlpath": "{{ CATALOG_DIR }}*.txt"},
    "numpy": {"path": "x.npy"},
    "zarr": {"urlpath": "x.zarr", "component": "a"},
    "yaml_file_cat": {"path": "{{ CATALOG_DIR }}cat.yaml"},
}


@st.composite
def valid_entries(draw):
    """An entry as a real catalog writes it, with one thing maybe changed."""
    driver = draw(st.sampled_from(sorted(VALID_ARGS)))
    entry = {
        "description": draw(st.text(max_size=20)),
        "driver": driver,
        "args": dict(VALID_ARGS[driver]),
        "parameters": {
            "year": {"description": "year", "type": "int", "default": 2020, "min": 2000,
                     "max": 2030}
        },
        "metadata": {"owner": "x"},
    }
    change = draw(st.sampled_from(
        ["none", "drop-arg", "extra-arg", "arg-value", "template", "parameter", "bound",
         "driver"]
    ))
    args = entry["args"]
    if change == "drop-arg":
        args.pop(draw(st.sampled_from(sorted(args))))
    elif change == "extra-arg":
        args[draw(st.sampled_from(["bogus", "nonsense", "engine", "encoder"]))] = draw(_values)
    elif change == "arg-value":
        args[draw(st.sampled_from(sorted(args)))] = draw(_values)
    elif change == "template":
        args[draw(st.sampled_from(sorted(args)))] = draw(st.sampled_from(HOSTILE_TEMPLATES))
    elif change == "parameter":
        entry["parameters"][draw(st.sampled_from(["year", "n", "when"]))] = draw(
            parameter_specs()
        )
    elif change == "bound":
        entry["parameters"]["year"][draw(st.sampled_from(["default", "min", "max"]))] = draw(
            _scalars
        )
    elif change == "driver":
        entry["driver"] = draw(st.sampled_from(DRIVERS))
    return entry


@st.composite
def catalogs(draw):
    cat = {}
    if draw(st.integers(0, 20)):
        cat["sources"] = draw(
            st.dictionaries(
                st.one_of(st.sampled_from(["a", "b", "sub", "trips"]), st.text(max_size=6)),
                st.one_of(*[valid_entries()] * 5, entry_specs()),
                min_size=1,
                max_size=3,
            )
        )
    if draw(st.booleans()):
        md = draw(st.dictionaries(st.text(max_size=6), _values, max_size=3))
        if draw(st.integers(0, 3)) == 0:
            md["parameters"] = draw(
                st.dictionaries(st.sampled_from(["year", "n"]), parameter_specs(), max_size=2)
            )
        cat["metadata"] = md
    if draw(st.integers(0, 5)) == 0:
        cat["description"] = draw(st.one_of(st.text(max_size=10), _values))
    return cat


def _dump(data) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return yaml.safe_dump({"sources": {}})


def _c(i: int) -> bytes:
    return bytes([97 + i])


HOSTILE_FILES = [
    b"sources: " + b"[" * 60000 + b"]" * 60000,
    b"sources:\n  a: " + b"- " * 40000 + b"x\n",
    b"sources: " + b"{a: " * 20000 + b"1" + b"}" * 20000,
    # billion laughs
    b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        b"%s: &%s [%s]\n" % (_c(i + 1), _c(i + 1), b", ".join([b"*" + _c(i)] * 10))
        for i in range(9)
    )
    + b"sources:\n  e:\n    driver: csv\n    args: {urlpath: *j}\n",
    b"sources: &s {e: {driver: csv, args: {x: *s}}}\n",
    b"sources:\n  e: &e\n    driver: csv\n    args: {urlpath: [*e]}\n",
    "sources:\n  é:\n    driver: csv\n    description: caf\xe9\n".encode("latin-1"),
    b"\xff\xfe" + "sources: {}".encode("utf-16-le"),
    b"sources:\n  e:\n    driver: csv\n    args: {urlpath: " + b"9" * 6000 + b"}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {when: 2020-13-45}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {when: !!timestamp 99999-01-01}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {x: !!python/object:os.system ls}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {x: !!binary '###'}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {x: !!set {a, b}}\n",
    b"\x00\x01\x02",
    b"",
    b"---\n---\n",
    b"sources:\n  a: {driver: yaml_files_cat, args: {path: '{{ CATALOG_DIR }}*.yaml'}}\n",
    b"sources:\n  a: {driver: yaml_file_cat, args: {path: ['{{ CATALOG_DIR }}cat.yaml']}}\n",
    b"sources:\n  " + b"n" * 90000 + b": {driver: csv, args: {urlpath: x.csv}}\n",
    b"sources:\n  e:\n    driver: csv\n    args: {urlpath: '{{ p }}'}\n"
    b"    parameters: {p: {default: \"{{ 'x' * 10 ** 9 }}\"}}\n",
    b"sources:\n" + b"".join(
        b"  e%d: {driver: csv, args: {urlpath: '{{ CATALOG_DIR }}x_{{ y }}.csv'}, "
        b"parameters: {y: {type: int, default: %d}}}\n" % (i, i) for i in range(800)
    ),
    b"sources:\n  e:\n    driver: csv\n    parameters:\n      p: {type: list, default: '"
    + b"[" * 30000
    + b"'}\n    args: {urlpath: '{{ p }}'}\n",
]


@st.composite
def catalog_files(draw) -> bytes:
    """Bytes of a catalog file: a generated catalog, maybe mutated, or a hostile file."""
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return draw(st.sampled_from(HOSTILE_FILES))
    text = _dump(draw(catalogs()))
    data = text.encode("utf-8")
    if mode <= 7:
        return data
    # mutations: replace, insert, delete bytes; duplicate or drop lines; re-indent
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 5))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0:
            data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos + 1 :]
        elif op == 1:
            chunk = draw(st.sampled_from([b"{{", b"}}", b"{%", b":", b"- ", b"&a ", b"*a", b"\t",
                                          b"\n  ", b"'", b'"', b"[", b"]", b"\xc3", b"!!"]))
            data = data[:pos] + chunk + data[pos:]
        elif op == 2:
            data = data[:pos] + data[pos + draw(st.integers(1, 8)) :]
        elif op == 3:
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == 4:
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = b"  " + lines[i] if draw(st.booleans()) else lines[i].lstrip()
            data = b"\n".join(lines)
        else:
            data = data[:pos]
    return data


PARAM_VALUES = st.one_of(
    _scalars,
    st.just(float("nan")),
    st.just(1e300),
    st.just(-1e300),
    st.just("9999-12-31T23:59:59"),
    st.just("[" * 5000),
    st.lists(_scalars, max_size=3),
)


# ---- the check ----------------------------------------------------------------------
def _names_file(exc: BaseException, path: str) -> bool:
    return path in str(exc)


def _check_failure(exc: BaseException, path: str, entry: str | None) -> None:
    """A failure must be a library catalog error naming the file (and entry), or an
    OSError naming a path."""
    if isinstance(exc, CatalogError):
        assert _names_file(exc, path), f"{type(exc).__name__} does not name {path}: {exc}"
        if entry is not None:
            assert repr(entry) in str(exc) or f"entry {entry}" in str(exc), (
                f"{type(exc).__name__} does not name entry {entry!r}: {exc}"
            )
        return
    if isinstance(exc, OSError):
        text = str(exc)
        assert getattr(exc, "filename", None) or "/" in text or "://" in text, (
            f"{type(exc).__name__} names no path: {exc}"
        )
        return
    raise AssertionError(f"unclean error {type(exc).__name__}: {exc}") from exc


def _attempt(fn, path: str, entry: str | None, outcomes: dict, kind: str):
    try:
        result = fn()
    except Exception as exc:  # every failure is checked
        _check_failure(exc, path, entry)
        outcomes[f"{kind} failed"] += 1
        return None
    outcomes[f"{kind} worked"] += 1
    return result


def exercise(path: str, draw_params, outcomes: dict, form: str = "path") -> None:
    target = [path] if form == "list" else path
    cat = _attempt(
        lambda: open_catalog(target, persist_mode="never"), path, None, outcomes, "open"
    )
    if cat is None:
        return
    names = list(cat)
    _attempt(cat.describe, path, None, outcomes, "catalog describe")
    cat_params = draw_params()
    _attempt(lambda: cat(**cat_params), path, None, outcomes, "catalog call")
    _attempt(lambda: cat.walk(depth=3), path, None, outcomes, "walk")
    _attempt(lambda: cat.walk(depth=100), path, None, outcomes, "deep walk")
    for name in names[:4]:
        entry = _attempt(lambda n=name: cat.get_entry(n), path, name, outcomes, "entry")
        if entry is None:
            continue
        _attempt(entry.describe, path, name, outcomes, "describe")
        source = _attempt(lambda n=name: cat[n], path, name, outcomes, "build")
        if source is not None:
            _attempt(source.describe, path, name, outcomes, "source describe")
            _attempt(source.yaml, path, name, outcomes, "yaml")
        params = draw_params()
        if params:
            _attempt(lambda e=entry, p=params: e(**p), path, name, outcomes, "call")


def test_generated_catalogs_fail_cleanly():
    outcomes: collections.Counter = collections.Counter()

    @SETTINGS
    @given(data=catalog_files(), params=st.data())
    def run(data, params):
        def draw_params():
            keys = params.draw(
                st.sampled_from([["year"], ["year"], ["year", "urlpath"], ["n"], ["when", "x"]])
            )
            return {
                k: params.draw(st.one_of(st.integers(2000, 2030), PARAM_VALUES))
                if k == "year"
                else params.draw(PARAM_VALUES)
                for k in keys
            }

        form = params.draw(st.sampled_from(["path", "path", "list", "memory"]))
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if form == "memory":
                path = f"memory://robust/{os.path.basename(tmp)}/cat.yaml"
                with fsspec.open(path, "wb") as f:
                    f.write(data)
            else:
                path = os.path.join(tmp, "cat.yaml")
                with open(path, "wb") as f:
                    f.write(data)
            try:
                exercise(path, draw_params, outcomes, form)
            finally:
                if form == "memory":
                    fsspec.filesystem("memory").rm(path.rsplit("/", 1)[0], recursive=True)

    run()
    # the campaign reaches every outcome: catalogs refused and opened, entries built
    # and refused, parameters accepted and refused (else the checks above see little)
    for kind in ("open", "build", "call", "describe", "yaml"):
        assert outcomes[f"{kind} worked"] > 0, (kind, dict(outcomes))
    for kind in ("open", "build", "call"):
        assert outcomes[f"{kind} failed"] > 0, (kind, dict(outcomes))


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
