"""Catalog exceptions; defined in :mod:`intake_persist.errors`, named here too."""

from __future__ import annotations

from ..errors import (  # noqa: F401
    PERSIST_MODES,
    CatalogError,
    CatalogException,
    CatalogSyntaxError,
    DuplicateKeyError,
    EntryError,
    ObsoleteDataSourceError,
    ObsoleteError,
    ObsoleteParameterError,
    ParameterError,
    PersistModeError,
    ShellNotAllowedError,
    TemplateError,
    ValidationError,
    check_persist_mode,
)
