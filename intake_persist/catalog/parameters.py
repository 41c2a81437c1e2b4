"""User parameters of catalog entries: types, coercion, validation, defaults."""

from __future__ import annotations

import copy
import datetime as _dt
import re
from builtins import type as builtins_type
from typing import Any

from .errors import ParameterError

TYPES = ("str", "int", "float", "bool", "datetime", "list", "mlist", "dict", "tuple", "other")
# spellings found in intake 0.x catalogs
_TYPE_ALIASES = {
    "unicode": "str",
    "string": "str",
    "long": "int",
    "integer": "int",
    "double": "float",
    "number": "float",
    "boolean": "bool",
    "timestamp": "datetime",
    "date": "datetime",
}
_TRUE = {"true", "yes", "y", "on", "1", "t"}
_FALSE = {"false", "no", "n", "off", "0", "f", ""}
_FUNC_DEFAULT = re.compile(r"^\s*(env|client_env|shell|client_shell)\((.*)\)\s*$", re.S)


def _short(value: Any, limit: int = 200) -> str:
    """``repr(value)``, cut to ``limit`` characters for error messages."""
    try:
        text = repr(value)
    except Exception:  # a structure too deep to repr...
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


class _Refused(Exception):
    """Internal: a value cannot be coerced; the message says why."""


def _to_datetime(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        try:
            return value.to_pydatetime()
        except (ValueError, OverflowError, TypeError) as exc:
            raise _Refused(f"not a date/time ({exc})") from None
    if isinstance(value, bool):
        raise _Refused("not a date/time")
    if isinstance(value, (int, float)):
        try:
            return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
        except (ValueError, OverflowError, OSError):  # NaN, inf, out of range
            raise _Refused("not a date/time in the range of years 1 to 9999") from None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            raise _Refused("not an ISO 8601 date/time") from None
    raise _Refused(f"cannot be read as a date/time ({type(value).__name__})")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise _Refused("not a boolean (true/false, yes/no, 1/0)")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Refused("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Refused("not an integer")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise _Refused("not an integer") from None
            if f.is_integer():
                return int(f)
            raise _Refused("not an integer") from None
    raise _Refused(f"not an integer ({type(value).__name__})")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Refused("a boolean is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Refused("not a number") from None
    raise _Refused(f"not a number ({type(value).__name__})")


def _to_str(value: Any) -> str:
    if isinstance(value, (dict, list, tuple, set)):
        raise _Refused(f"not a string ({type(value).__name__})")
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


def _to_list(value: Any) -> list:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            from .._yaml import YAMLError, load
            from .limits import check_yaml_text

            try:
                check_yaml_text(text)
                parsed = load(text)
            except (YAMLError, ValueError, TypeError, OverflowError, RecursionError):
                raise _Refused("not a list (bad YAML/JSON list syntax)") from None
            if isinstance(parsed, list):
                return parsed
            raise _Refused("not a list")
        return [part.strip() for part in text.split(",")]
    raise _Refused(f"not a list ({type(value).__name__})")


def _to_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        from .._yaml import YAMLError, load

        try:
            parsed = load(value) if value.strip() else {}
        except YAMLError:
            raise _Refused("not a mapping (bad YAML/JSON syntax)") from None
        if isinstance(parsed, dict):
            return parsed
    if isinstance(value, (list, tuple)):
        try:
            return dict(value)
        except (TypeError, ValueError):
            pass
    raise _Refused(f"not a mapping ({type(value).__name__})")


def _to_tuple(value: Any) -> tuple:
    return tuple(_to_list(value))


_COERCE = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "datetime": _to_datetime,
    "list": _to_list,
    "mlist": _to_list,
    "dict": _to_dict,
    "tuple": _to_tuple,
    "other": lambda value: value,
}

# what intake 0.7.0 makes of a parameter without a default (the type's empty value)
_EMPTY = {
    "str": "",
    "int": 0,
    "float": 0.0,
    "bool": False,
    "datetime": _dt.datetime(1970, 1, 1),
    "list": [],
    "dict": {},
    "tuple": (),
}


def known_type(type_: Any) -> bool:
    """Whether ``type_`` names a parameter type (intake's names and common spellings)."""
    return isinstance(type_, str) and normalize_type(type_) in TYPES


def normalize_type(type_: Any) -> str:
    t = "str" if type_ is None else _TYPE_ALIASES.get(str(type_).lower(), str(type_).lower())
    return t


def _same_kind(a: Any, b: Any) -> Any:
    """Make datetimes comparable (naive vs aware): compare naive values as UTC."""
    if isinstance(a, _dt.datetime) and isinstance(b, _dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            if a.tzinfo is None:
                a = a.replace(tzinfo=_dt.timezone.utc)
            else:
                b = b.replace(tzinfo=_dt.timezone.utc)
    return a, b


class UserParameter:
    """One parameter of a catalog entry.

    ``type`` is one of str, int, float, bool, datetime, list, mlist. ``default`` may
    be a template (``{{ env("USER") }}``) or intake 0.x's ``env(USER)`` /
    ``shell(cmd)`` forms, expanded when the value is needed.
    """

    __slots__ = (
        "name",
        "description",
        "type",
        "type_as_written",
        "default",
        "min",
        "max",
        "allowed",
        "entry",
    )

    def __init__(
        self,
        name: str,
        description: str | None = None,
        type: str | None = None,
        default: Any = None,
        min: Any = None,
        max: Any = None,
        allowed: Any = None,
        entry: str | None = None,
    ):
        self.name = name
        self.description = description
        self.entry = entry
        if type is None:
            # as intake 0.7.0: the default's type ('NoneType' without a default,
            # which then takes values as they are)
            type = builtins_type(default).__name__
            t = normalize_type(type) if normalize_type(type) in TYPES else "other"
        else:
            t = normalize_type(type)
        self.type_as_written = type if isinstance(type, str) else None
        if t not in TYPES:
            raise ParameterError(
                f"{self._where()}: unknown type {type!r}; valid types are: {', '.join(TYPES)}",
                entry=entry,
            )
        self.type = t
        self.default = default
        self.min = min
        self.max = max
        if allowed is not None and not isinstance(allowed, (list, tuple)):
            raise ParameterError(
                f"{self._where()}: 'allowed' must be a list, got {allowed!r}", entry=entry
            )
        self.allowed = list(allowed) if allowed is not None else None

    @classmethod
    def from_spec(cls, name: str, spec: Any, entry: str | None = None) -> UserParameter:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ParameterError(
                f"parameter {name!r}{f' of entry {entry!r}' if entry else ''} must be a mapping "
                f"(description, type, default...), got {spec!r}",
                entry=entry,
            )
        known = {
            k: spec[k]
            for k in ("description", "type", "default", "min", "max", "allowed")
            if k in spec
        }
        return cls(name, entry=entry, **known)

    def with_default(self, value: Any) -> UserParameter:
        """A copy whose default is ``value`` (checked against type, min, max, allowed)."""
        self.validate(value)
        new = UserParameter(
            self.name,
            description=self.description,
            type=self.type_as_written or self.type,
            default=value,
            min=self.min,
            max=self.max,
            allowed=self.allowed,
            entry=self.entry,
        )
        return new

    def _where(self) -> str:
        return f"parameter {self.name!r}" + (f" of entry {self.entry!r}" if self.entry else "")

    def describe(self) -> dict:
        """As intake 0.7.0 describes it: ``type`` as written, ``default`` coerced to the
        type (the type's empty value when there is none, None when it cannot be
        coerced, e.g. ``env(VAR)`` for an int), ``min``/``max``/``allowed`` coerced."""
        return {
            "name": self.name,
            "description": self.description,
            "type": self.type_as_written or self.type,
            "default": self.coerced_default(),
            "min": self._coerce_quiet(self.min),
            "max": self._coerce_quiet(self.max),
            "allowed": (
                None
                if self.allowed is None
                else (
                    list(self.allowed)
                    if self.type == "mlist"
                    else [self._coerce_quiet(a) for a in self.allowed]
                )
            ),
        }

    def _coerce_quiet(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return _COERCE[self.type](value)
        except (_Refused, TypeError, ValueError, OverflowError):
            return value

    def coerced_default(self) -> Any:
        """The default coerced to the type, without expanding env/shell/templates."""
        if self.default is None:
            return copy.copy(_EMPTY.get(self.type))
        try:
            return _COERCE[self.type](self.default)
        except (_Refused, TypeError, ValueError, OverflowError):
            return None

    def __repr__(self) -> str:
        return f"<UserParameter {self.name!r} type={self.type} default={self.default!r}>"

    # ---- values ------------------------------------------------------------------
    def _coerce_one(self, value: Any, type_: str) -> Any:
        try:
            return _COERCE[type_](value)
        except _Refused as exc:
            reason = str(exc)
        except (ValueError, TypeError, OverflowError, OSError, RecursionError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        raise ParameterError(
            f"{self._where()}: value {_short(value)} is refused: {reason} (type {self.type})",
            entry=self.entry,
        ) from None

    def coerce(self, value: Any) -> Any:
        """``value`` converted to the parameter's type, without the min/max/allowed checks."""
        if value is None:
            return None
        return self._coerce_one(value, self.type)

    def validate(self, value: Any) -> Any:
        """Coerce ``value`` and check it against min, max and allowed; return it."""
        value = self.coerce(value)
        if value is None:
            return None
        if self.type == "mlist":
            if self.allowed is not None:
                bad = [v for v in value if v not in self.allowed]
                if bad:
                    raise ParameterError(
                        f"{self._where()}: value {value!r} is refused: {bad!r} not in allowed "
                        f"values {self.allowed!r}",
                        entry=self.entry,
                    )
            return value
        if self.allowed is not None:
            allowed = [self._coerce_allowed(a) for a in self.allowed]
            if value not in allowed:
                raise ParameterError(
                    f"{self._where()}: value {value!r} is refused: not one of the allowed "
                    f"values {self.allowed!r}",
                    entry=self.entry,
                )
        for bound, label in ((self.min, "min"), (self.max, "max")):
            if bound is None:
                continue
            b = self._coerce_one(bound, self.type) if self.type != "list" else bound
            a, b = _same_kind(value, b)
            try:
                bad = a < b if label == "min" else a > b
            except TypeError:
                raise ParameterError(
                    f"{self._where()}: value {value!r} cannot be compared with {label} {bound!r}",
                    entry=self.entry,
                ) from None
            if bad:
                op = ">=" if label == "min" else "<="
                raise ParameterError(
                    f"{self._where()}: value {value!r} is refused: must be {op} {bound!r} "
                    f"({label})",
                    entry=self.entry,
                )
        return value

    def _coerce_allowed(self, a: Any) -> Any:
        try:
            return _COERCE[self.type](a)
        except _Refused:
            return a

    def expand_default(self, context: dict[str, Any]) -> Any:
        """The default value with templates and ``env(...)`` / ``shell(...)`` expanded,
        coerced and checked. ``context`` gives ``CATALOG_DIR``, ``env``, ``shell``.
        Without a default, the type's empty value ("" for str, 0 for int...), as in
        intake 0.7.0."""
        default = self.default
        if default is None:
            return copy.copy(_EMPTY.get(self.type))
        if isinstance(default, str):
            m = _FUNC_DEFAULT.match(default)
            if m is not None:
                func, arg = m.group(1), m.group(2).strip()
                if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"":
                    arg = arg[1:-1]
                fn = context["env"] if func.endswith("env") else context["shell"]
                default = fn(arg)
            else:
                from .templates import render_string

                default = render_string(default, context)
        return self.validate(default)
