"""Catalogs: ``open_catalog`` (``loader``), catalog files (``files``: finding,
reading, parsing; ``schema``: intake's checks), the ``Catalog`` classes, entries,
user parameters and template rendering. Names are resolved lazily to keep imports
light."""

from __future__ import annotations

from typing import Any

_LAZY = {
    "open_catalog": "loader",
    "Catalog": "catalog",
    "YAMLFileCatalog": "catalog",
    "YAMLFilesCatalog": "catalog",
    "CatalogEntry": "entry",
    "EntrySource": "entry",
    "UserParameter": "parameters",
    "CatalogError": "errors",
    "CatalogSyntaxError": "errors",
    "CatalogException": "errors",
    "ValidationError": "errors",
    "DuplicateKeyError": "errors",
    "ObsoleteError": "errors",
    "ObsoleteDataSourceError": "errors",
    "ObsoleteParameterError": "errors",
    "EntryError": "errors",
    "ParameterError": "errors",
    "TemplateError": "errors",
    "ShellNotAllowedError": "errors",
    "PersistModeError": "errors",
    "PERSIST_MODES": "errors",
    "CatalogEncodingError": "errors",
    "CatalogLimitError": "errors",
    "CatalogRecursionError": "errors",
    "DriverArgumentError": "errors",
    "DriverError": "errors",
    "DriverImportError": "errors",
    "EntryDriverError": "errors",
    "TemplateArithmeticError": "errors",
    "TemplateLimitError": "errors",
    "TemplateTypeError": "errors",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
