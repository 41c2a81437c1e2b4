"""YAML in and out with safe semantics only, using PyYAML's C loader when present."""

from __future__ import annotations

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
