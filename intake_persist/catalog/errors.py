"""Exceptions raised while loading catalogs and using their entries."""

from __future__ import annotations


class CatalogError(ValueError):
    """A catalog file or entry is not valid. ``url``, ``line`` (1-based) and ``entry``
    say where, when known; they are also in the message."""

    def __init__(
        self,
        message: str,
        url: str | None = None,
        line: int | None = None,
        entry: str | None = None,
    ):
        super().__init__(message)
        self.url = url
        self.line = line
        self.entry = entry


class CatalogSyntaxError(CatalogError):
    """The catalog file is not valid YAML (or uses tags that safe loading refuses)."""


class EntryError(CatalogError):
    """One entry of a catalog is malformed (not a mapping, no driver...)."""


class TemplateError(CatalogError):
    """A template in an entry's arguments or a parameter default cannot be rendered."""


class ShellNotAllowedError(TemplateError, PermissionError):
    """``shell(...)`` was used in a template of a catalog opened without ``allow_shell=True``."""


class ParameterError(CatalogError):
    """A user parameter is malformed, or a value for it is refused."""


class PersistModeError(ValueError):
    """An unknown persist mode."""


PERSIST_MODES = ("default", "always", "never")


def check_persist_mode(mode: object) -> str:
    if mode not in PERSIST_MODES:
        raise PersistModeError(
            f"invalid persist_mode {mode!r}; valid modes are: {', '.join(PERSIST_MODES)}"
        )
    return mode  # type: ignore[return-value]
