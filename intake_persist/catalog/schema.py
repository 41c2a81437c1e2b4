"""Reading and checking a catalog file as intake 0.7.0 does.

``load_yaml`` parses safe YAML and refuses a key repeated in any mapping
(:class:`DuplicateKeyError`); ``check_catalog`` refuses what intake 0.7.0
refuses at open, with intake's exception names (all :class:`CatalogError`):

* ``sources`` missing or not a mapping, an entry name that is not a string, an
  entry that is not a mapping or has no ``driver``, a ``description`` that is
  not a string, ``args`` / ``metadata`` that are not mappings, a ``cache`` that
  is not a list, a ``direct_access`` other than forbid / allow / force, a
  malformed ``parameters`` or ``plugins`` section: :class:`ValidationError`;
* the pre-0.x list forms of ``sources`` and ``parameters``:
  :class:`ObsoleteDataSourceError` / :class:`ObsoleteParameterError`, whose
  message shows the rewrite;
* a driver list (or mapping) whose drivers have different containers: a
  :class:`ValidationError` that is a ``ValueError``, as in intake.

Every message names the file, the line and the entry. Unknown drivers, unknown
keys and ``cache:`` blocks keep opening.
"""

from __future__ import annotations

from typing import Any

from .._yaml import SafeLoader, YAMLError
from ..errors import (
    CatalogException,
    CatalogSyntaxError,
    DuplicateKeyError,
    EntryValidationError,
    InvalidDriverError,
    ObsoleteDataSourceError,
    ObsoleteParameterError,
    ParameterValidationError,
    ValidationError,
)

# intake 0.7.0's parameter types (intake.catalog.utils.COERCION_RULES)
INTAKE_PARAMETER_TYPES = (
    "bool",
    "datetime",
    "dict",
    "float",
    "tuple",
    "mlist",
    "int",
    "list",
    "str",
    "unicode",
    "other",
)
DIRECT_ACCESS = ("forbid", "allow", "force")

_OBSOLETE_SOURCES = """the catalog uses the old list syntax of 'sources'; rewrite

sources:
  - name: abc
    driver: csv

as

sources:
  abc:
    driver: csv"""

_OBSOLETE_PARAMETERS = """uses the old list syntax of 'parameters'; rewrite

parameters:
  - name: abc
    type: str

as

parameters:
  abc:
    type: str"""


# ---- YAML ----------------------------------------------------------------------------
class _Duplicate(Exception):
    def __init__(self, key: Any, line: int, first: int):
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class StrictLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """Safe loading that refuses repeated mapping keys (merge keys ``<<`` may still
    be overridden, as YAML means them to be)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict = {}
        for key_node, _value in getattr(node, "value", ()):
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base constructor reports unhashable keys
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _Duplicate(key, line, seen[key])
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _construct_tuple(loader: Any, node: Any) -> tuple:
    return tuple(loader.construct_sequence(node, deep=True))


# intake reads !!python/tuple (a plain sequence); no other Python tag
StrictLoader.add_constructor("tag:yaml.org,2002:python/tuple", _construct_tuple)


def load_yaml(text: str, url: str | None = None) -> Any:
    """Parse catalog text; CatalogSyntaxError or DuplicateKeyError naming the line."""
    from .limits import check_yaml_text, syntax_error

    where = url or "<string>"
    check_yaml_text(text, url)  # depth and alias expansion, before libyaml sees it
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except _Duplicate as dup:
        entry = entry_at_line(text, dup.line)
        if entry is None:
            what = f"duplicate key {dup.key!r}"
        elif entry == str(dup.key) and _is_entry_key(text, dup.line):
            what = f"entry {entry!r} is defined twice"
        else:
            what = f"entry {entry!r}: duplicate key {dup.key!r}"
        raise DuplicateKeyError(
            f"catalog {where}, line {dup.line}: {what} (first on line {dup.first}); "
            "a key may appear once in a mapping",
            url=url,
            line=dup.line,
            entry=entry,
        ) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        position = getattr(exc, "position", None)  # a ReaderError (bad character)
        if line is None and isinstance(position, int):
            line = text.count("\n", 0, position) + 1
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}, {problem}" if context else problem
        if "tag:yaml.org,2002:python/" in detail:
            detail += " (catalogs are read as safe YAML: Python object tags are refused)"
        raise CatalogSyntaxError(
            f"catalog {where}: invalid YAML at line {line}: {detail}", url=url, line=line
        ) from None
    except (Exception, RecursionError, MemoryError) as exc:
        # a constructor's failure: an integer too long, a date out of range...
        raise syntax_error(exc, url) from exc
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def _sources_node(text: str) -> Any:
    import yaml

    from .._yaml import compose

    root = compose(text)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "sources":
            return value if isinstance(value, yaml.MappingNode) else None
    return None


def entry_at_line(text: str, line: int) -> str | None:
    """The name of the ``sources:`` entry whose text spans 1-based ``line``."""
    sources = _sources_node(text)
    if sources is None:
        return None
    for key, _value in sources.value:
        if key.start_mark.line + 1 == line:
            return str(key.value)
    for key, value in sources.value:
        end = value.end_mark.line + 1  # a block ends at column 0 of the next key's line
        if key.start_mark.line + 1 <= line and (
            line < end or (line == end and value.end_mark.column > 0)
        ):
            return str(key.value)
    return None


def _is_entry_key(text: str, line: int) -> bool:
    sources = _sources_node(text)
    return sources is not None and any(k.start_mark.line + 1 == line for k, _ in sources.value)


def _line_of(text: str, keys: list) -> int | None:
    """1-based line of the node at ``keys`` (mapping keys) in ``text``; slow, errors only."""
    import yaml

    from .._yaml import compose

    node = compose(text)
    if node is None:
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return line
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                line = k.start_mark.line + 1
                node = v
                break
        else:
            return line
    return line


# ---- structure -----------------------------------------------------------------------
class _Where:
    """File, text and line lookup for error messages (lines found only on error)."""

    def __init__(self, text: str, url: str | None):
        self.text = text
        self.url = url
        self.name = url or "<string>"

    def line(self, keys: list) -> int | None:
        return _line_of(self.text, keys)

    def fail(
        self, cls: type, problem: str, keys: list, entry: str | None = None, **extra: Any
    ) -> Exception:
        line = self.line(keys)
        at = f", line {line}" if line is not None else ""
        ent = f"entry {entry!r} " if entry is not None else ""
        return cls(
            f"catalog {self.name}{at}: {ent}{problem}",
            url=self.url,
            line=line,
            entry=entry,
            **extra,
        )


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_plugins(data: dict, where: _Where) -> None:
    if "plugins" not in data:
        return
    plugins = data["plugins"]
    if not isinstance(plugins, dict):
        raise where.fail(
            ValidationError,
            f"'plugins' must be a mapping, got {_type_name(plugins)}",
            ["plugins"],
        )
    if "source" not in plugins:
        raise where.fail(ValidationError, "'plugins' has no 'source' list", ["plugins"])
    sources = plugins["source"]
    if not isinstance(sources, list):
        raise where.fail(
            ValidationError,
            f"'plugins: source' must be a list, got {_type_name(sources)}",
            ["plugins", "source"],
        )
    for item in sources:
        if not isinstance(item, dict):
            raise where.fail(
                ValidationError,
                f"each item of 'plugins: source' must be a mapping, got {_type_name(item)}",
                ["plugins", "source"],
            )
        if "dir" in item:
            raise where.fail(
                ValidationError,
                "'plugins: source: - dir:' (plugins from a directory of scripts) is no "
                "longer supported; install the plugin and name its module",
                ["plugins", "source"],
            )
        if "module" not in item:
            raise where.fail(
                ValidationError,
                "an item of 'plugins: source' has no 'module'",
                ["plugins", "source"],
            )


def check_parameter(pname: Any, spec: Any, where: _Where, keys: list, entry: str | None) -> None:
    """One entry parameter spec, as intake 0.7.0 checks it."""
    if not isinstance(pname, str):
        raise where.fail(
            ParameterValidationError,
            f"has a parameter name that is not a string: {pname!r}",
            keys,
            entry,
        )
    here = keys + [pname]
    if not isinstance(spec, dict):
        raise where.fail(
            ParameterValidationError,
            f"parameter {pname!r} must be a mapping (description, type, default...), "
            f"got {_type_name(spec)}",
            here,
            entry,
        )
    # intake 0.7.0 also refuses a parameter without description or type; both are
    # optional here (docs/compat.rst: "parameter-description-type-optional")
    for key in ("description", "type"):
        if key in spec and not isinstance(spec[key], str):
            raise where.fail(
                ParameterValidationError,
                f"parameter {pname!r}: {key!r} must be a string, got {spec[key]!r}",
                here + [key],
                entry,
            )
    from .parameters import known_type

    if "type" in spec and not known_type(spec["type"]):
        raise where.fail(
            ParameterValidationError,
            f"parameter {pname!r}: unknown type {spec['type']!r}; valid types are: "
            f"{', '.join(INTAKE_PARAMETER_TYPES)}",
            here + ["type"],
            entry,
        )


def check_entry(name: Any, spec: Any, where: _Where) -> None:
    keys = ["sources", name]
    if not isinstance(name, str):
        raise where.fail(
            EntryValidationError,
            f"has a name that is not a string ({_type_name(name)})",
            keys,
            str(name),
        )
    if not isinstance(spec, dict):
        raise where.fail(
            EntryValidationError, f"must be a mapping, got {_type_name(spec)}", keys, name
        )
    if "driver" not in spec:
        raise where.fail(EntryValidationError, "has no 'driver'", keys, name)
    if not isinstance(spec["driver"], (str, list, dict)):
        raise where.fail(
            InvalidDriverError,
            f"has a driver that is not a name, a list or a mapping: {spec['driver']!r}",
            keys + ["driver"],
            name,
        )
    for key, kind, label in (
        ("description", str, "a string"),
        ("args", dict, "a mapping"),
        ("metadata", dict, "a mapping"),
        ("cache", list, "a list"),
    ):
        if key in spec and not isinstance(spec[key], kind):
            raise where.fail(
                EntryValidationError,
                f"has {key!r} that is not {label} (got {_type_name(spec[key])})",
                keys + [key],
                name,
            )
    if "direct_access" in spec and spec["direct_access"] not in DIRECT_ACCESS:
        raise where.fail(
            EntryValidationError,
            f"has 'direct_access: {spec['direct_access']!r}'; choose from "
            f"{', '.join(DIRECT_ACCESS)}",
            keys + ["direct_access"],
            name,
        )
    if "parameters" in spec:
        params = spec["parameters"]
        if isinstance(params, list):
            raise where.fail(
                ObsoleteParameterError, _OBSOLETE_PARAMETERS, keys + ["parameters"], name
            )
        if not isinstance(params, dict):
            raise where.fail(
                ParameterValidationError,
                f"has 'parameters' that is not a mapping (got {_type_name(params)})",
                keys + ["parameters"],
                name,
            )
        for pname, pspec in params.items():
            check_parameter(pname, pspec, where, keys + ["parameters"], name)
    check_driver_containers(name, spec["driver"], where)


def check_driver_containers(name: str, driver: Any, where: _Where) -> None:
    """A driver list or mapping whose known drivers have different containers."""
    if isinstance(driver, str) or not isinstance(driver, (list, dict)):
        return
    from ..sources.registry import get_driver_class
    from .entry import driver_candidates

    containers = set()
    for candidate in driver_candidates(driver):
        try:
            containers.add(get_driver_class(candidate).container)
        except Exception:  # noqa: BLE001 - unknown drivers do not stop the catalog
            continue
    if len(containers) > 1:
        raise where.fail(
            EntryValidationError,
            f"has drivers {driver!r} of different containers "
            f"({', '.join(sorted(containers))}); a driver list must name drivers of one "
            "container",
            ["sources", name, "driver"],
            name,
        )


def check_catalog(data: Any, text: str, url: str | None) -> None:
    """Refuse ``data`` (a parsed catalog file) where intake 0.7.0 refuses it."""
    where = _Where(text, url)
    if data is None:
        raise CatalogException(f"catalog {where.name} is empty (no YAML data)", url=url)
    if not isinstance(data, dict):
        raise ValidationError(
            f"catalog {where.name}, line 1: a catalog must be a mapping with a 'sources' key, got "
            f"{_type_name(data)}",
            url=url,
            line=1,
        )
    check_plugins(data, where)
    if "sources" not in data:
        raise ValidationError(
            f"catalog {where.name} has no 'sources' key; a catalog needs a 'sources' mapping",
            url=url,
        )
    sources = data["sources"]
    if isinstance(sources, list):
        raise where.fail(ObsoleteDataSourceError, _OBSOLETE_SOURCES, ["sources"])
    if not isinstance(sources, dict):
        raise where.fail(
            ValidationError,
            f"'sources' must be a mapping of entries, got {_type_name(sources)}",
            ["sources"],
        )
    metadata = data.get("metadata")
    if "metadata" in data and not isinstance(metadata, dict):
        raise where.fail(
            ValidationError,
            f"'metadata' must be a mapping, got {_type_name(metadata)}",
            ["metadata"],
        )
    shared = (metadata or {}).get("parameters")
    if shared is not None:
        if not isinstance(shared, dict):
            raise where.fail(
                ParameterValidationError,
                f"'metadata: parameters' must be a mapping, got {_type_name(shared)}",
                ["metadata", "parameters"],
            )
        for pname, pspec in shared.items():
            if not isinstance(pname, str) or not isinstance(pspec, dict):
                raise where.fail(
                    ParameterValidationError,
                    f"catalog parameter {pname!r} must be a mapping under a string name",
                    ["metadata", "parameters", pname],
                )
    for name, spec in sources.items():
        check_entry(name, spec, where)
