"""The intake 0.7.0 differential suite: intake_persist against the committed goldens.

``make_golden.py`` (run with intake 0.7.0, see its docstring) wrote one JSON file
per catalog in ``golden/``. Here each catalog is opened with intake_persist, the
same fields are gathered the same way, and every field is compared. intake is
not needed.

A difference kept on purpose is one of ``DELIBERATE`` below, each with its
reason, also listed in ``docs/compat.rst``; it only excuses the fields its
predicate names. Any other difference fails the case.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from intake_persist import open_catalog

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"

_spec = importlib.util.spec_from_file_location("compat_make_golden", HERE / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)  # imports no intake at module level
jsonable = make_golden.jsonable
CATALOGS = make_golden.CATALOGS

CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))
# r9_drivers has intake-parquet's engine: fastparquet, read with pyarrow and a warning
pytestmark = pytest.mark.filterwarnings("ignore:parquet engine 'fastparquet':UserWarning")
MISSING = object()


# ---- deliberate differences ---------------------------------------------------------
@dataclass(frozen=True)
class Deliberate:
    """A difference kept on purpose: ``applies(path, intake_value, our_value)``."""

    key: str
    reason: str
    applies: Callable[[tuple, object, object], bool]
    cases: frozenset | None = None  # only these cases, when given

    def excuses(self, case: str, diff: tuple) -> bool:
        return (self.cases is None or case in self.cases) and self.applies(*diff)


def _last(path: tuple) -> str:
    return str(path[-1]) if path else ""


def _in_describe(path: tuple) -> bool:
    return "describe" in path


DELIBERATE = [
    Deliberate(
        "driver-as-written",
        "describe()['driver'] is the driver as the catalog writes it (string, list or "
        "mapping); intake 0.7.0 gives the names of the plugin classes it could import "
        "(an empty list for an unknown driver, intake's own class paths in the mapping "
        "form), which depends on what is installed",
        lambda p, g, o: _in_describe(p) and "driver" in p[p.index("describe") :],
    ),
    Deliberate(
        "no-plugin-alias",
        "describe()['plugin'] is intake 0.7.0's deprecated alias of 'driver'; not given",
        lambda p, g, o: _in_describe(p) and _last(p) == "plugin" and o is MISSING,
    ),
    Deliberate(
        "parameter-fields-always-present",
        "a user parameter's describe() always has the seven keys name, description, type, "
        "default, min, max, allowed (None when unset); intake 0.7.0 leaves out min, max, "
        "allowed and default when they are None",
        lambda p, g, o: (
            "user_parameters" in p
            and _last(p) in ("min", "max", "allowed", "default")
            and g is MISSING
            and o is None
        ),
    ),
    Deliberate(
        "yaml-error-class",
        "a catalog that is not valid (safe) YAML raises CatalogSyntaxError, a CatalogError "
        "naming the file and the line, not PyYAML's ScannerError/ParserError/"
        "ConstructorError",
        lambda p, g, o: (
            p == ("error",)
            and g in ("ScannerError", "ParserError", "ConstructorError")
            and o == "CatalogSyntaxError"
        ),
    ),
    Deliberate(
        "whole-template-keeps-type",
        "an argument that is exactly one '{{ param }}' keeps the parameter's type ("
        "an int stays an int); intake 0.7.0 passes its string form unless the argument has "
        "the parameter's own name",
        lambda p, g, o: (
            "args" in p
            and isinstance(g, str)
            and not isinstance(o, str)
            and o is not MISSING
            and g == str(o)
        ),
    ),
    Deliberate(
        "undefined-name-refused",
        "a template naming an undefined variable is refused (a TemplateError naming the "
        "entry and the name); intake 0.7.0 renders it as an empty string, which reads "
        "another path than the one meant",
        lambda p, g, o: (
            (_last(p) in ("args", "metadata") and o == UNDEFINED_REFUSED)
            or (
                _last(p) == "build_error"
                and g is MISSING
                and isinstance(o, dict)
                and o.get("error") == "TemplateError"
                and "is undefined" in o.get("message", "")
            )
        ),
    ),
    Deliberate(
        "defaults-are-templates",
        "a parameter's default may itself be a template ('{{ CATALOG_DIR }}x.csv'), "
        "rendered before use; intake 0.7.0 passes such a default on unrendered",
        lambda p, g, o: (
            "args" in p
            and isinstance(g, str)
            and isinstance(o, str)
            and "{{" in g
            and "{{" not in o
        ),
    ),
]

DELIBERATE.append(
    Deliberate(
        "parameter-description-type-optional",
        "an entry's parameter may leave out 'description' (empty) and 'type' (the "
        "default's type, else str), as catalogs written for intake_persist do; intake "
        "0.7.0 refuses such a catalog with a ValidationError",
        lambda p, g, o: p == ("error",) and g == "ValidationError" and o is MISSING,
        cases=frozenset({"bad_param_no_description", "bad_param_no_type"}),
    )
)

DELIBERATE.append(
    Deliberate(
        "env-default-any-type",
        "a default 'env(VAR)' (or 'shell(...)' when allowed) is expanded for a parameter "
        "of any type, then coerced (an int parameter gets the variable's number); intake "
        "0.7.0 drops such a default for a non-string type and renders an empty string",
        lambda p, g, o: "args" in p and g == "" and o is not MISSING and o != "",
        cases=frozenset({"odd_forms"}),
    )
)

DELIBERATE.append(
    Deliberate(
        "yaml-merge-keys",
        "YAML merge keys ('<<: *defaults') are read, as YAML defines them; intake 0.7.0's "
        "duplicate-key check cannot construct them and refuses the file (ConstructorError)",
        lambda p, g, o: p == ("error",) and g == "ConstructorError" and o is MISSING,
        cases=frozenset({"anchors"}),
    )
)
DELIBERATE.append(
    Deliberate(
        "metadata-in-args-merged",
        "a 'metadata' mapping among an entry's args is merged with the entry's metadata "
        "(and catalog_dir); intake 0.7.0 lets it replace them",
        lambda p, g, o: "metadata" in p and g is MISSING and o is not MISSING,
        cases=frozenset({"args_metadata", "derived"}),
    )
)

DELIBERATE.append(
    Deliberate(
        "derived-container-known",
        "a derived entry's container is known without reading data: an alias's is its "
        "target's, a GenericTransform's its 'container' argument or else its target's; "
        "intake 0.7.0 says 'other' until the source has been read",
        lambda p, g, o: (
            _last(p) == "container"
            and g == "other"
            and o in ("dataframe", "ndarray", "xarray", "python", "catalog")
        ),
        cases=frozenset({"derived"}),
    )
)

DELIBERATE.append(
    Deliberate(
        "derived-lineage",
        "describe() of a derived entry adds 'lineage', the tree of its upstream entries "
        "with their parameters and tokens; intake 0.7.0 has no such key",
        lambda p, g, o: _in_describe(p) and _last(p) == "lineage" and g is MISSING,
        cases=frozenset({"derived"}),
    )
)

DELIBERATE.append(
    Deliberate(
        "autoreload-false-reads",
        "a catalog made with autoreload=False is read once at open (and by reload()); "
        "intake 0.7.0 then never reads it and the catalog stays empty",
        lambda p, g, o: "no_autoreload" in p
        or (
            p == ("walk",)
            and isinstance(g, list)
            and isinstance(o, list)
            and set(g) <= set(o)
            and all(n.startswith("no_autoreload.") for n in set(o) - set(g))
        ),
        cases=frozenset({"r9_catalog_drivers"}),
    )
)
DELIBERATE.append(
    Deliberate(
        "flatten-false-entries",
        "with flatten=False each file is a plain nested-catalog entry (direct_access "
        "'forbid', args {path}) that reads its file; intake 0.7.0 copies the merged "
        "catalog's own arguments (name, ttl) into each entry, sets direct_access True and "
        "leaves the nested catalog unread until its ttl expires",
        lambda p, g, o: "not_flattened" in p and "nested" in p,
        cases=frozenset({"r9_catalog_drivers"}),
    )
)

UNDEFINED_REFUSED = "<refused: a template names an undefined variable>"


# ---- gathering intake_persist's side -------------------------------------------------
def _error(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "error_mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc),
    }


def _catalog_fields(cat, depth: int) -> dict:
    out = {
        "name": cat.name,
        "description": cat.description,
        "metadata": jsonable(cat.metadata),
        "user_parameters": {k: jsonable(p.describe()) for k, p in cat.user_parameters.items()},
        "entries": {},
    }
    for name in list(cat):
        out["entries"][name] = _entry_fields(cat, name, depth)
    if depth == 3:  # the top catalog: the dotted names walk() gives, two levels down
        try:
            out["walk"] = sorted(cat.walk(depth=2))
        except Exception as exc:  # noqa: BLE001
            out["walk"] = _error(exc)
    return jsonable(out)


def _entry_fields(cat, name: str, depth: int) -> dict:
    entry = cat.get_entry(name)
    rec: dict = {}
    try:
        source = cat[name]
    except Exception as exc:  # noqa: BLE001 - compared by class with intake's
        source = None
        rec["build_error"] = _error(exc)
        if type(exc).__name__ == "TemplateError" and "is undefined" in str(exc):
            rec["args"] = rec["metadata"] = UNDEFINED_REFUSED
    rec["describe"] = jsonable(entry.describe())
    rec["container"] = entry.container
    if source is not None:
        kwargs = dict(source._init_kwargs)
        rec["metadata"] = jsonable(kwargs.pop("metadata", None))
        rec["args"] = jsonable(kwargs)
        if source.container == "catalog" and depth > 1:
            try:
                rec["nested"] = _catalog_fields(source, depth - 1)
            except Exception as exc:  # noqa: BLE001
                rec["nested"] = _error(exc)
    return rec


def _open(spec: dict):
    if spec["kind"] == "memory":
        return open_catalog(f"{make_golden.MEMORY_ROOT}/{spec['paths'][0]}", persist_mode="never")
    paths = [os.path.join(CATALOGS, p) for p in spec["paths"]]
    if spec["kind"] in ("path", "glob"):
        return open_catalog(paths[0], persist_mode="never")
    return open_catalog(paths, persist_mode="never")


def gather(golden: dict) -> dict:
    """intake_persist's record of the case ``golden`` describes."""
    record: dict = {"case": golden["case"], "open": golden["open"]}
    try:
        cat = _open(golden["open"])
        list(cat)
    except Exception as exc:  # noqa: BLE001
        record.update(_error(exc))
    else:
        record.update(_catalog_fields(cat, depth=3))
    return record


# ---- comparing -----------------------------------------------------------------------
_NOT_COMPARED = {"message", "error_mro", "intake_version", "case", "open"}


def _error_matches(golden: dict, ours: dict, key: str) -> bool:
    """Our error matches intake's when it has intake's class name among its classes
    (ours are subclasses named like intake's, or keep intake's builtin as a base)."""
    return golden[key] in ours.get(key + "_mro", [])


def compare(golden, ours, path=()):
    """``(path, intake_value, our_value, fields_compared)`` for every difference."""
    diffs: list = []
    count = 0
    if isinstance(golden, dict) and isinstance(ours, dict):
        if "error" in golden or "error" in ours:
            count += 1
            g, o = golden.get("error", MISSING), ours.get("error", MISSING)
            ok = g is not MISSING and o is not MISSING and g in ours.get("error_mro", [])
            if not ok:
                diffs.append((path + ("error",), g, o))
            return diffs, count
        for key in sorted(set(golden) | set(ours)):
            if key in _NOT_COMPARED:
                continue
            g, o = golden.get(key, MISSING), ours.get(key, MISSING)
            sub, n = compare(g, o, path + (key,))
            diffs.extend(sub)
            count += n
        return diffs, count
    if isinstance(golden, list) and isinstance(ours, list) and len(golden) == len(ours):
        for i, (g, o) in enumerate(zip(golden, ours, strict=True)):
            sub, n = compare(g, o, path + (i,))
            diffs.extend(sub)
            count += n
        return diffs, count
    count += 1
    if golden != ours or type(golden) is not type(ours):
        diffs.append((path, golden, ours))
    return diffs, count


def unexcused(case: str, diffs: list) -> list:
    return [d for d in diffs if not any(rule.excuses(case, d) for rule in DELIBERATE)]


def _load(case: str) -> dict:
    return json.loads((GOLDEN / f"{case}.json").read_text())


@pytest.fixture
def compat_env(monkeypatch, memfs):
    for var, value in make_golden.ENV.items():
        monkeypatch.setenv(var, value)
    for var in make_golden.UNSET_ENV:
        monkeypatch.delenv(var, raising=False)
    make_golden._copy_to_memory()


# Cases that do not match yet, while the rules of test_rules.py land one by one. A case
# here must still fail (strict xfail): remove it when it passes.
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason="rule pending"))
        if c in PENDING
        else c
        for c in CASES
    ],
)
def test_matches_intake_070(case, compat_env):
    golden = _load(case)
    ours = gather(golden)
    diffs, count = compare(golden, ours)
    assert count > 0
    bad = unexcused(case, diffs)
    assert not bad, "\n".join(
        f"{'.'.join(map(str, p))}: intake {g!r}, ours {o!r}" for p, g, o in bad
    )


def test_every_catalog_has_a_golden():
    """A catalog added without regenerating the goldens is caught here."""
    cases = make_golden._cases()
    assert sorted(cases) == CASES


def test_goldens_were_made_by_intake_070():
    for case in CASES:
        assert _load(case)["intake_version"] == "0.7.0", case


def test_each_deliberate_difference_is_used_and_documented(compat_env):
    """Every exception excuses at least one real difference and is in docs/compat.rst."""
    used = set()
    for case in CASES:
        golden = _load(case)
        diffs, _ = compare(golden, gather(golden))
        for d in diffs:
            for rule in DELIBERATE:
                if rule.excuses(case, d):
                    used.add(rule.key)
    assert used == {r.key for r in DELIBERATE}
    doc = (HERE.parents[1] / "docs" / "compat.rst").read_text()
    for rule in DELIBERATE:
        assert rule.key in doc, rule.key


def test_compare_sees_differences():
    """The comparison itself: a changed leaf, a missing key, a wrong error class."""
    g = {"name": "a", "entries": {"x": {"args": {"urlpath": "p"}}}}
    assert compare(g, g)[0] == []
    assert compare(g, {"name": "b", "entries": {"x": {"args": {"urlpath": "p"}}}})[0]
    assert compare(g, {"name": "a", "entries": {"x": {"args": {}}}})[0]
    assert compare({"error": "ValidationError"}, {"error": "X", "error_mro": ["X"]})[0]
    assert not compare({"error": "ValueError"}, {"error": "E", "error_mro": ["E", "ValueError"]})[0]
    assert compare({"v": 1}, {"v": True})[0]  # 1 == True, but not the same
