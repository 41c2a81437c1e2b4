"""YAML in and out with safe semantics only, using PyYAML's C loader when present."""

from __future__ import annotations

import functools
from typing import Any

import yaml

try:
    SafeLoader: type = yaml.CSafeLoader
    SafeDumper: type = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    SafeLoader = yaml.SafeLoader
    SafeDumper = yaml.SafeDumper

YAMLError = yaml.YAMLError


def load(text: str | bytes) -> Any:
    """Parse YAML text; a catalog can never construct Python objects."""
    return yaml.load(text, Loader=SafeLoader)


def dump(data: Any) -> str:
    """Block-style YAML in insertion order."""
    return yaml.dump(data, Dumper=SafeDumper, default_flow_style=False, sort_keys=False)


@functools.lru_cache(maxsize=2)
def compose(text: str) -> Any:
    """The node tree of ``text`` (marks give lines), with libyaml when present; None
    when it is not YAML or is nested too deep to compose safely. Kept for the last
    two texts: error messages look up several lines of the same file."""
    from .catalog.limits import check_yaml_text
    from .errors import CatalogError

    try:
        check_yaml_text(text)
        return yaml.compose(text, Loader=SafeLoader)
    except (yaml.YAMLError, CatalogError, RecursionError, ValueError):
        return None
