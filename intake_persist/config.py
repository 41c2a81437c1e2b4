"""Configuration: the conf directory, ``conf.yaml``, and the persist path.

Read on demand, never at import: tests and users may change the environment
(``INTAKE_CONF_DIR``, ``INTAKE_PERSIST_PATH``) before the store is first used.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULTS: dict[str, Any] = {
    "persist_path": None,  # <confdir>/persisted
    "persist_storage_options": {},
    "persist_grace": 300.0,  # seconds a copy taken out of the index stays readable
}


def confdir() -> str:
    """``INTAKE_CONF_DIR``, else ``~/.intake``."""
    return os.environ.get("INTAKE_CONF_DIR") or os.path.join(os.path.expanduser("~"), ".intake")


_cache: dict[str, tuple[tuple, dict[str, Any]]] = {}


def load_conf() -> dict[str, Any]:
    """Defaults overlaid with ``<confdir>/conf.yaml`` when it exists.

    Cheap when called often (each catalog entry access asks for the store): the
    parsed file is cached and re-read only when its stat changes."""
    path = os.path.join(confdir(), "conf.yaml")
    try:
        st = os.stat(path)
        stamp: tuple = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = ()
    hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return dict(hit[1])
    conf = _read_conf(path, bool(stamp))
    _cache[path] = (stamp, conf)
    return dict(conf)


def _read_conf(path: str, exists: bool) -> dict[str, Any]:
    conf = dict(DEFAULTS)
    if exists:
        from ._yaml import YAMLError, load

        with open(path, encoding="utf-8") as f:
            try:
                data = load(f.read()) or {}
            except YAMLError as exc:
                raise ValueError(f"configuration file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(
                f"configuration file {path} must hold a mapping, not {type(data).__name__}"
            )
        conf.update(data)
    return conf


def persist_path(conf: dict[str, Any] | None = None) -> str:
    """Where the shared store lives: ``INTAKE_PERSIST_PATH``, conf, or ``<confdir>/persisted``.

    Local paths are made absolute (``~`` expanded); URLs are returned as given."""
    from ._io import is_local, strip_file_scheme

    path = os.environ.get("INTAKE_PERSIST_PATH")
    if not path:
        conf = load_conf() if conf is None else conf
        path = conf.get("persist_path") or os.path.join(confdir(), "persisted")
    path = str(path)
    if is_local(path):
        path = os.path.abspath(os.path.expanduser(strip_file_scheme(path)))
    return path


def persist_storage_options(conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """fsspec storage options for the store, from ``persist_storage_options`` in conf."""
    conf = load_conf() if conf is None else conf
    return dict(conf.get("persist_storage_options") or {})


def persist_grace(conf: dict[str, Any] | None = None) -> float:
    """Seconds a copy taken out of the index (re-persist, refresh, ``keep=N``
    pruning, ``remove``, ``gc``) stays on storage for readers that resolved it:
    ``INTAKE_PERSIST_GRACE``, else ``persist_grace`` in conf, else 300."""
    import math

    value: Any = os.environ.get("INTAKE_PERSIST_GRACE")
    where = "environment variable INTAKE_PERSIST_GRACE"
    if value is None or value == "":
        conf = load_conf() if conf is None else conf
        value = conf.get("persist_grace", DEFAULTS["persist_grace"])
        where = f"persist_grace in {os.path.join(confdir(), 'conf.yaml')}"
        if value is None:
            value = DEFAULTS["persist_grace"]
    try:
        if isinstance(value, bool):
            raise ValueError
        grace = float(value)
    except (TypeError, ValueError):
        grace = math.nan
    if math.isnan(grace) or grace < 0:
        raise ValueError(f"{where} must be a number of seconds >= 0, got {value!r}")
    return grace
