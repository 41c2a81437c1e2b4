"""Catalog exceptions; defined in :mod:`intake_persist.errors`, named here too."""

from __future__ import annotations

from ..errors import (  # noqa: F401
    PERSIST_MODES,
    CatalogEncodingError,
    CatalogError,
    CatalogException,
    CatalogLimitError,
    CatalogRecursionError,
    CatalogSyntaxError,
    DriverArgumentError,
    DriverError,
    DriverImportError,
    DuplicateKeyError,
    EntryDriverError,
    EntryError,
    EntryValidationError,
    InvalidDriverError,
    ObsoleteDataSourceError,
    ObsoleteError,
    ObsoleteParameterError,
    ParameterError,
    ParameterValidationError,
    PersistModeError,
    ShellNotAllowedError,
    TemplateArithmeticError,
    TemplateError,
    TemplateLimitError,
    TemplateTypeError,
    ValidationError,
    check_persist_mode,
)
