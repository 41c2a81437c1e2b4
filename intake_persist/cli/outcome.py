"""What a command computed, apart from how it is shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """``data`` is exactly what ``--json`` prints; ``code`` the exit status; ``facts``
    what only the terminal view needs (not part of the JSON)."""

    data: dict[str, Any]
    code: int = 0
    facts: dict[str, Any] = field(default_factory=dict)
