"""Every exception the library raises on purpose, and the persist-mode check.

Each class derives from :class:`IntakePersistError` and keeps the builtin it
used to be (``ValueError``, ``KeyError``...), so ``except ValueError`` written
against older releases still catches it.
"""

from __future__ import annotations

PERSIST_MODES = ("default", "always", "never")


class IntakePersistError(Exception):
    """Base of every error intake_persist raises on purpose."""


# ----------------------------------------------------------------- catalogs


class CatalogError(IntakePersistError, ValueError):
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


# intake 0.7.0's names for the ways it refuses a catalog at open; catalogs written
# for intake are refused with the same class names (``except CatalogError`` and
# ``except ValueError`` catch them all).
class CatalogException(CatalogError):
    """intake's base name for catalog errors; here a :class:`CatalogError`.
    Raised as such for a catalog file that holds no YAML data."""


class ValidationError(CatalogException):
    """The catalog's structure is wrong: ``sources`` missing or not a mapping, an
    entry that is not a mapping or has no driver, a malformed parameter or
    ``plugins:`` section, a non-string entry or parameter name."""


class DuplicateKeyError(ValidationError):
    """A key is repeated in a mapping of the catalog file (two entries of one name,
    a parameter or a ``driver:`` given twice)."""


class EntryValidationError(ValidationError, EntryError):
    """A :class:`ValidationError` in one entry (also an :class:`EntryError`)."""


class InvalidDriverError(EntryValidationError, TypeError):
    """An entry's ``driver`` is not a string, a list or a mapping (a ``TypeError``,
    as in intake)."""


class ParameterValidationError(ValidationError, ParameterError):
    """A :class:`ValidationError` in a parameter spec (also a :class:`ParameterError`)."""


class ObsoleteError(ValidationError):
    """The catalog uses intake's pre-0.x list syntax; the message shows the rewrite."""


class ObsoleteDataSourceError(ObsoleteError):
    """``sources:`` is a list of entries with ``name:`` keys (pre-0.x syntax)."""


class ObsoleteParameterError(ObsoleteError):
    """An entry's ``parameters:`` is a list of specs with ``name:`` keys (pre-0.x syntax)."""


class PersistModeError(IntakePersistError, ValueError):
    """An unknown persist mode."""


class UnknownDriverError(IntakePersistError, ValueError, KeyError):
    """No driver of that name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CatalogEncodingError(CatalogSyntaxError, UnicodeError):
    """The catalog file is not UTF-8 text (the message gives the byte offset and line)."""


class CatalogLimitError(CatalogError):
    """A catalog goes past a limit that keeps opening and rendering bounded: nesting
    depth, YAML alias expansion, the work or output size of a template
    (:mod:`intake_persist.catalog.limits` holds the numbers)."""


class CatalogRecursionError(CatalogLimitError, RecursionError):
    """Structures or nested catalogs nested deeper than the limit (a catalog including
    itself without end, a YAML document thousands of levels deep)."""


class TemplateLimitError(TemplateError, CatalogLimitError):
    """A template does too much work, builds too large a value or output, or recurses
    too deep."""


class TemplateArithmeticError(TemplateError, ArithmeticError):
    """A template expression divides by zero or overflows."""


class TemplateTypeError(TemplateError, TypeError):
    """A template expression applies an operation to values of the wrong type."""


class DriverArgumentError(EntryError, TypeError):
    """An entry's arguments do not fit its driver's constructor (a missing or unexpected
    argument): still a ``TypeError``, as with intake."""


class DriverError(EntryError):
    """A driver's constructor refused an entry's arguments."""


class EntryDriverError(EntryError, UnknownDriverError):
    """An entry's driver is unknown (the message names the entry and the known drivers)."""


class DriverImportError(EntryDriverError, ImportError):
    """An entry's driver, a dotted class path, cannot be imported."""


# ----------------------------------------------------------------- derived sources


class DependencyCycleError(CatalogError):
    """Derived entries depend on each other in a cycle (``a`` reads ``b``, which reads
    ``a``). ``entries`` lists the entries on it, the first one repeated at the end."""

    def __init__(self, message: str, entries: list[str] | tuple[str, ...] = (),
                 url: str | None = None):
        super().__init__(message, url=url, entry=entries[0] if entries else None)
        self.entries = list(entries)


class TargetError(CatalogError, KeyError):
    """A derived entry names a target that its catalog does not have (a ``KeyError``,
    as the catalog lookup it stands for)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PipelineStepError(CatalogException):
    """A step of a ``DataFramePipeline`` failed; the message names the source, the
    step's number, method and arguments, and the error (kept as ``__cause__``)."""


class MissingTargetError(PipelineStepError):
    """A ``DataFramePipeline`` step (``merge``, ``join``, ``assign``, ``concat``) names
    a source that is not among the pipeline's ``targets``."""


# ----------------------------------------------------------------- the store


class NotPersistedError(IntakePersistError, KeyError):
    """The store holds no copy under that key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoVersionError(NotPersistedError):
    """No kept copy of an entry was made at or before the time asked for (``as_of``).
    ``key``, ``as_of`` (epoch seconds asked for) and ``oldest`` (epoch seconds of the
    oldest kept copy, None when there is none) say which; the message gives both
    times in ISO-8601 UTC."""

    def __init__(self, message: str, key: str | None = None, as_of: float | None = None,
                 oldest: float | None = None):
        super().__init__(message)
        self.key = key
        self.as_of = as_of
        self.oldest = oldest


class IndexConflict(IntakePersistError, RuntimeError):
    """The index changed between read and write; read again and retry."""


class IndexDamaged(IntakePersistError, ValueError):
    """cat.yaml cannot be read as an index."""


class StoreUnavailableError(IntakePersistError, ConnectionError):
    """The persist store could not be reached: a transient failure (connection
    dropped or reset, response cut, timeout, 5xx or ``SlowDown``) that outlasted the
    retry budget, or a connection error that retrying cannot cure.

    ``store`` (the store's URL), ``operation`` (what was being done: ``get_object``,
    ``put_object``, ``list``, ``write copy data``...), ``key`` (the object key or path
    inside the store, when there is one) and ``attempts`` say what failed; they are
    also in the message, with the last underlying error (kept as ``__cause__``)."""

    def __init__(self, message: str, store: str | None = None, operation: str | None = None,
                 key: str | None = None, attempts: int = 1):
        super().__init__(message)
        self.store = store
        self.operation = operation
        self.key = key
        self.attempts = attempts

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreWriteError(IntakePersistError, OSError):
    """Writing into the persist store failed for a reason of the storage itself (disk
    full, file too large, permission denied, read-only filesystem). ``store`` and
    ``path`` say where; ``errno`` is that of the underlying ``OSError`` (kept as
    ``__cause__``). The store is left consistent: the previous copy stays readable,
    and ``gc`` removes what the failed write left."""

    def __init__(self, message: str, store: str | None = None, path: str | None = None,
                 errno: int | None = None):
        super().__init__(message)
        self.store = store
        self.path = path
        self.errno = errno
        self.filename = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CopyGoneError(IntakePersistError, FileNotFoundError):
    """A persisted copy was deleted while it was being read, and neither the copy the
    index lists now nor the original could be read instead. ``store`` (the store's
    URL), ``entry`` (the catalog entry's name, if known) and ``key`` (the token) say
    which; they are also in the message."""

    def __init__(self, message: str, store: str | None = None, entry: str | None = None,
                 key: str | None = None):
        super().__init__(message)
        self.store = store
        self.entry = entry
        self.key = key

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RefreshError(IntakePersistError, RuntimeError):
    """A refresh in dependency order could not refresh what was asked: a step failed,
    or was stopped because one of its upstream steps failed. ``report`` is the
    :class:`~intake_persist.store.refresh.RefreshReport` of the whole run."""

    def __init__(self, message: str, report: object = None):
        super().__init__(message)
        self.report = report


# ----------------------------------------------------------------- command line


class CLIError(IntakePersistError):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class UsageError(CLIError):
    """Bad combination of arguments that argparse cannot express (exit 2)."""

    def __init__(self, message: str):
        super().__init__(message, code=2)


def check_persist_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`PERSIST_MODES`, else :class:`PersistModeError`."""
    if mode not in PERSIST_MODES:
        raise PersistModeError(
            f"invalid persist_mode {mode!r}; valid modes are: {', '.join(map(repr, PERSIST_MODES))}"
        )
    return mode
