"""Write the golden JSON files of the intake 0.7.0 differential suite.

This script runs with intake 0.7.0, never with intake_persist. To regenerate
the files in ``tests/compat/golden/`` after adding or editing a catalog in
``tests/compat/catalogs/``::

    python -m venv /work/venv-intake07
    /work/venv-intake07/bin/pip install "intake==0.7.0" intake-parquet \
        "dask<2024.3" "pandas<2.2" "numpy<2" "pyarrow<17"
    /work/venv-intake07/bin/python tests/compat/make_golden.py

then commit the JSON files. ``tests/compat/test_golden.py`` compares
intake_persist with them (it does not need intake).

What is recorded, per case (one JSON file each):

* ``open``: how the catalog is opened (a path, a ``memory://`` URL, a list or
  a glob), relative to ``tests/compat/catalogs/``;
* ``error``: for a catalog intake refuses at open, the class name of the
  exception and of its bases (``error_mro``); nothing else then;
* ``name``, ``description``, ``metadata``, ``user_parameters`` (the
  ``describe()`` of each catalog-level parameter) of the catalog;
* per entry (``entries``): ``describe()``, the ``container``, and the source
  made with default parameters: its constructor arguments (``args``, as
  rendered, without ``metadata``), its ``metadata``, or the class names of the
  error raised making it (``build_error``);
* for an entry that is a catalog, the same fields of the nested catalog
  (``nested``), two levels deep;
* ``walk``: the dotted entry names ``cat.walk(depth=2)`` gives.

It also writes ``intake_drivers.json``: the constructor arguments of each intake
driver that a built-in driver stands in for (rule 9 of test_rules.py).

Absolute paths (the catalogs directory, its ``memory://`` copy) are written as
``{CATALOGS}``; datetimes as ``{"__datetime__": iso}``; tuples as lists.
"""

from __future__ import annotations

import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGS = os.path.join(HERE, "catalogs")
GOLDEN = os.path.join(HERE, "golden")
MEMORY_ROOT = "memory://compat-catalogs"

# environment the catalogs of rule 5 read; test_golden.py sets the same
ENV = {"INTAKE_COMPAT_VAR": "compat-value", "INTAKE_COMPAT_INT": "12"}
UNSET_ENV = ("INTAKE_COMPAT_UNSET",)

# cases other than "one catalog file opened by its path"
EXTRA_CASES = {
    "list_two_files": {"kind": "list", "paths": ["r1_name.yaml", "r2_no_description.yaml"]},
    "list_one_file": {"kind": "list", "paths": ["r6_describe.yaml"]},
    "list_conflicting_names": {
        "kind": "list",
        "paths": ["r2_description.yaml", "r2_no_description.yaml"],
    },
    "glob_sub_levels": {"kind": "glob", "paths": ["sub/level*.yaml"]},
    "list_with_catalog_params": {
        "kind": "list",
        "paths": ["r3_catalog_params.yaml", "r2_no_description.yaml"],
    },
}


def _cases() -> dict:
    cases = {}
    for dirpath, _dirs, files in os.walk(CATALOGS):
        rel_dir = os.path.relpath(dirpath, CATALOGS)
        if rel_dir.split(os.sep)[0] == "sub":
            continue  # only reached through other catalogs
        for f in sorted(files):
            if not f.endswith((".yaml", ".yml")):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, f)).replace(os.sep, "/")
            case = os.path.splitext(rel)[0].replace("/", "__").replace(".", "_")
            kind = "memory" if f.startswith("mem_") else "path"
            cases[case] = {"kind": kind, "paths": [rel]}
    cases.update(EXTRA_CASES)
    return dict(sorted(cases.items()))


def _placeholders(text: str) -> str:
    return text.replace(CATALOGS, "{CATALOGS}")


def jsonable(value):
    """JSON form of what intake reports; see the module docstring."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, str):
        return _placeholders(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)) or hasattr(value, "to_pydatetime"):
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        return {"__datetime__": value.isoformat()}
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return {"__repr__": _placeholders(repr(value))}


def _error(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "error_mro": [c.__name__ for c in type(exc).__mro__],
        "message": _placeholders(str(exc))[:300],
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
    entry = cat._entries[name]
    rec: dict = {}
    try:
        source = cat[name]  # merges catalog parameters into the entry, as users see it
    except Exception as exc:  # noqa: BLE001 - recorded, compared by class
        source = None
        rec["build_error"] = _error(exc)
    rec["describe"] = jsonable(entry.describe())
    rec["container"] = entry.container
    if source is not None:
        kwargs = dict(source._captured_init_kwargs)
        rec["metadata"] = jsonable(kwargs.pop("metadata", None))
        rec["args"] = jsonable(kwargs)
        if source.container == "catalog" and depth > 1:
            try:
                rec["nested"] = _catalog_fields(source, depth - 1)
            except Exception as exc:  # noqa: BLE001
                rec["nested"] = _error(exc)
    return rec


def _open(spec: dict):
    import intake

    if spec["kind"] == "memory":
        return intake.open_catalog(f"{MEMORY_ROOT}/{spec['paths'][0]}")
    paths = [os.path.join(CATALOGS, p) for p in spec["paths"]]
    if spec["kind"] == "path":
        return intake.open_catalog(paths[0])
    if spec["kind"] == "glob":
        return intake.open_catalog(paths[0])
    return intake.open_catalog(paths)


def _copy_to_memory() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    for dirpath, _dirs, files in os.walk(CATALOGS):
        for f in files:
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, CATALOGS).replace(os.sep, "/")
            with open(full, "rb") as src:
                fs.pipe(f"{MEMORY_ROOT}/{rel}", src.read())


# the intake 0.7.0 / intake-parquet drivers intake_persist stands in for (rule 9)
INTAKE_DRIVERS = (
    "intake.source.csv.CSVSource",
    "intake.source.npy.NPySource",
    "intake.source.textfiles.TextFilesSource",
    "intake.source.jsonfiles.JSONFileSource",
    "intake.source.jsonfiles.JSONLinesFileSource",
    "intake.source.zarr.ZarrArraySource",
    "intake_parquet.source.ParquetSource",
    "intake.catalog.local.YAMLFileCatalog",
    "intake.catalog.local.YAMLFilesCatalog",
    "intake.source.derived.AliasSource",
    "intake.source.derived.GenericTransform",
    "intake.source.derived.DataFrameTransform",
    "intake.source.derived.Columns",
    "intake.source.derived.DataFramePipeline",
)
SIGNATURES = os.path.join(HERE, "intake_drivers.json")


def _signatures() -> dict:
    """Constructor arguments of each driver in INTAKE_DRIVERS, by name."""
    import importlib
    import inspect

    out = {}
    for path in INTAKE_DRIVERS:
        module, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        params = inspect.signature(cls.__init__).parameters.values()
        out[path] = {
            "name": cls.name,
            "container": cls.container,
            "arguments": [
                p.name
                for p in params
                if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ],
            "required": [
                p.name
                for p in params
                if p.name != "self"
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and p.default is p.empty
            ],
            "var_keyword": any(p.kind == p.VAR_KEYWORD for p in params),
        }
    return out


def main() -> int:
    import intake

    if intake.__version__ != "0.7.0":
        print(f"needs intake 0.7.0, found {intake.__version__}", file=sys.stderr)
        return 2
    os.environ.update(ENV)
    for var in UNSET_ENV:
        os.environ.pop(var, None)
    os.makedirs(GOLDEN, exist_ok=True)
    with open(SIGNATURES, "w") as f:
        json.dump(_signatures(), f, indent=1, sort_keys=True)
        f.write("\n")
    _copy_to_memory()
    for case, spec in _cases().items():
        record: dict = {"case": case, "open": spec, "intake_version": intake.__version__}
        try:
            cat = _open(spec)
            list(cat)
        except Exception as exc:  # noqa: BLE001
            record.update(_error(exc))
        else:
            record.update(_catalog_fields(cat, depth=3))
        with open(os.path.join(GOLDEN, f"{case}.json"), "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
            f.write("\n")
        print(case, record.get("error", "ok"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
