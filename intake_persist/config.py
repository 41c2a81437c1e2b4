"""Configuration: the conf directory, ``conf.yaml``, and the persist path.

Read on demand, never at import: tests and users may change the environment
(``INTAKE_CONF_DIR``, ``INTAKE_PERSIST_PATH``) before the store is first used.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULTS: dict[str, Any] = {
    "persist_path": None,  # <confdir>/persisted
    "persist_storage_options": {},
}


def confdir() -> str:
    """``INTAKE_CONF_DIR``, else ``~/.intake``."""
    return os.environ.get("INTAKE_CONF_DIR") or os.path.join(os.path.expanduser("~"), ".intake")


def load_conf() -> dict[str, Any]:
    """Defaults overlaid with ``<confdir>/conf.yaml`` when it exists."""
    conf = dict(DEFAULTS)
    path = os.path.join(confdir(), "conf.yaml")
    if os.path.exists(path):
        from ._yaml import YAMLError, load

        with open(path, encoding="utf-8") as f:
            try:
                data = load(f.read()) or {}
            except YAMLError as exc:
                raise ValueError(f"configuration file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"configuration file {path} must hold a mapping, not {type(data).__name__}")
        conf.update(data)
    return conf


def persist_path(conf: dict[str, Any] | None = None) -> str:
    """Where the shared store lives: ``INTAKE_PERSIST_PATH``, conf, or ``<confdir>/persisted``."""
    env = os.environ.get("INTAKE_PERSIST_PATH")
    if env:
        return env
    conf = load_conf() if conf is None else conf
    return conf.get("persist_path") or os.path.join(confdir(), "persisted")


def persist_storage_options(conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """fsspec storage options for the store, from ``persist_storage_options`` in conf."""
    conf = load_conf() if conf is None else conf
    return dict(conf.get("persist_storage_options") or {})
