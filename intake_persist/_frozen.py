"""Small value classes without :mod:`dataclasses`.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``),
a large share of a fresh process's first lookup; the few value classes on that
path (``Schema``, the backend's ``Item``/``Claim``, ``RetryPolicy``) get equality,
hash, repr and immutability from :class:`Frozen` instead.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class Frozen:
    """Base of an immutable value class: equality (same class, same field values),
    hash and repr over ``_fields``, and no assignment once made. A subclass's
    ``__init__`` sets its fields with :meth:`_set`."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def _set(self, **values: Any) -> None:
        self.__dict__.update(values)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"
