"""Catalog exceptions; defined in :mod:`intake_persist.errors`, named here too."""

from __future__ import annotations

from ..errors import (  # noqa: F401
    PERSIST_MODES,
    CatalogError,
    CatalogSyntaxError,
    EntryError,
    ParameterError,
    PersistModeError,
    ShellNotAllowedError,
    TemplateError,
    check_persist_mode,
)
