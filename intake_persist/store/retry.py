"""Retrying what is transient when the store talks to an object store.

Every request a backend makes goes through :func:`call`::

    call(fn, store="s3://bucket/prefix", operation="get_object", key="cat.yaml",
         policy=RetryPolicy())

``fn()`` is tried up to ``policy.attempts`` times. A failure :func:`is_transient`
(a connection dropped, reset or refused, a response cut part-way, a timeout, an HTTP
5xx, 429 or ``SlowDown``) is retried after a bounded exponential backoff with jitter
(``base * 2**n``, at most ``cap``, drawn in its upper half), or after the server's
``Retry-After`` when that is longer. Anything else (not found, precondition failed,
access denied, a bad request...) is raised at once, unchanged: callers decide what it
means. When the budget is spent the last error is raised as
:class:`~intake_persist.errors.StoreUnavailableError` (a ``ConnectionError``) naming
the store, the operation and the key.

What the layers below already do: botocore retries some failures itself, s3fs
retries a few more; this layer is the one that knows which store and which key are
at stake, and it also covers what those leave out (a body cut while it is read,
the check read behind a conditional write).

``STATS`` counts, for this process, ``calls`` (made through :func:`call`),
``retries`` (extra attempts), ``gave_up`` (budgets spent) and ``permanent``
(non-transient errors passed on).
"""

from __future__ import annotations

import errno as _errno
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from .._frozen import Frozen
from ..errors import StoreUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from typing import Any, TypeVar

    T = TypeVar("T")


STATS: Counter[str] = Counter()
_stats_lock = threading.Lock()


def _count(name: str, n: int = 1) -> None:
    with _stats_lock:
        STATS[name] += n


class RetryPolicy(Frozen):
    """How hard to try: ``attempts`` in all (>= 1), backoff ``base`` and ``cap`` in
    seconds, and the longest ``Retry-After`` honoured (``max_retry_after``)."""

    _fields = ("attempts", "base", "cap", "max_retry_after")
    attempts: int
    base: float
    cap: float
    max_retry_after: float

    def __init__(self, attempts: int = 8, base: float = 0.05, cap: float = 4.0,
                 max_retry_after: float = 30.0) -> None:
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"retry attempts must be an integer >= 1, got {attempts!r}")
        values = {"base": base, "cap": cap, "max_retry_after": max_retry_after}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"retry {name} must be a number of seconds >= 0, got {value!r}")
        self._set(attempts=attempts, **values)

    def delay(self, retry: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        import random

        high = min(self.cap, self.base * (2**retry))
        wait = (rng or random).uniform(high / 2, high)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


DEFAULT_POLICY = RetryPolicy()


def policy_from(value: Any) -> RetryPolicy:
    """A :class:`RetryPolicy` from ``None`` (the default), a number of attempts, a
    mapping of its fields, or a policy."""
    if value is None:
        return DEFAULT_POLICY
    if isinstance(value, RetryPolicy):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return RetryPolicy(attempts=value)
    if isinstance(value, dict):
        unknown = set(value) - {"attempts", "base", "cap", "max_retry_after"}
        if unknown:
            raise ValueError(f"unknown retry setting(s) {sorted(unknown)} in {value!r}; "
                             "known: attempts, base, cap, max_retry_after")
        return RetryPolicy(**value)
    raise ValueError(f"retry must be None, a number of attempts, a mapping or a "
                     f"RetryPolicy, got {value!r}")


# --------------------------------------------------------------------------- classifying

_TRANSIENT_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled",
    "RequestLimitExceeded", "TooManyRequests", "RequestTimeout", "InternalError",
    "ServiceUnavailable", "InternalServerError", "BadGateway", "GatewayTimeout",
}
_TRANSIENT_ERRNOS = {
    _errno.ECONNRESET, _errno.ECONNABORTED, _errno.ECONNREFUSED, _errno.ETIMEDOUT,
    _errno.EPIPE, _errno.EHOSTUNREACH, _errno.ENETUNREACH, _errno.ENETDOWN,
    _errno.ENETRESET,
}
_PERMANENT = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
              NotADirectoryError)


def _chain(exc: BaseException | None, limit: int = 8) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(seen) < limit:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _response(exc: BaseException) -> dict[str, Any] | None:
    response = getattr(exc, "response", None)
    return response if isinstance(response, dict) else None


def _status_code(response: dict[str, Any]) -> tuple[int | None, str | None]:
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    code = (response.get("Error") or {}).get("Code")
    return (int(status) if isinstance(status, (int, str)) and str(status).isdigit()
            else None), (str(code) if code is not None else None)


def _transient_types() -> tuple[type, ...]:
    types: list[type] = [ConnectionError, TimeoutError]
    import http.client

    types += [http.client.IncompleteRead, http.client.RemoteDisconnected]
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        types += [aiohttp.ClientPayloadError, aiohttp.ClientConnectionError,
                  aiohttp.ServerTimeoutError]
    boto = sys.modules.get("botocore.exceptions")
    if boto is not None:
        for name in ("HTTPClientError", "ConnectionError", "ResponseStreamingError",
                     "IncompleteReadError", "ReadTimeoutError", "ConnectTimeoutError",
                     "EndpointConnectionError"):
            cls = getattr(boto, name, None)
            if cls is not None:
                types.append(cls)
    parsers = sys.modules.get("botocore.parsers")
    if parsers is not None:  # throttling answers sometimes carry invalid XML (as s3fs)
        types.append(parsers.ResponseParserError)
    fsspec_exc = sys.modules.get("fsspec.exceptions")
    if fsspec_exc is not None:
        types.append(fsspec_exc.FSTimeoutError)
    return tuple(types)


def is_transient(exc: BaseException) -> bool:
    """True when trying again may succeed: a connection dropped, reset or refused, a
    response cut part-way, a timeout, or the server answering 5xx, 429 or SlowDown.
    False for a spent budget (:class:`StoreUnavailableError`), not-found, exists,
    permission, precondition failures and other 4xx answers."""
    if isinstance(exc, StoreUnavailableError):
        return False
    if isinstance(exc, _PERMANENT):
        return False
    types = _transient_types()
    for e in _chain(exc):
        if isinstance(e, StoreUnavailableError):
            return False
        response = _response(e)
        if response is not None and ("Error" in response or "ResponseMetadata" in response):
            status, code = _status_code(response)
            if code in _TRANSIENT_CODES or (status is not None
                                            and (status >= 500 or status == 429)):
                return True
            if status is not None and 400 <= status < 500:
                return False  # the server answered: a precondition, a denial, a bad request
        if isinstance(e, _PERMANENT):
            return False
        if isinstance(e, types):
            return True
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return True
    return False


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (``Retry-After``, seconds or an HTTP date)."""
    for e in _chain(exc):
        response = _response(e)
        if response is None:
            continue
        headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        value = None
        for k, v in headers.items():
            if str(k).lower() == "retry-after":
                value = str(v).strip()
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                import email.utils

                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, when.timestamp() - time.time())
    return None


def _is_botocore_error(exc: BaseException) -> bool:
    boto = sys.modules.get("botocore.exceptions")
    return boto is not None and isinstance(exc, boto.BotoCoreError)


def describe(store: str, operation: str, key: str | None, kind: str = "persist store") -> str:
    return f"{operation} {key!r} on the {kind} {store}" if key else \
        f"{operation} on the {kind} {store}"


# --------------------------------------------------------------------------- calling


def call(fn: Callable[[], T], *, store: str, operation: str, key: str | None = None,
         policy: RetryPolicy = DEFAULT_POLICY, where: str | None = None,
         kind: str = "persist store",
         sleep: Callable[[float], Any] = time.sleep,
         on_retry: Callable[[BaseException, float], Any] | None = None) -> T:
    """``fn()``, retried while it fails transiently (see the module docstring).

    ``store`` is the store's URL, ``where`` how to name it in messages (say, with the
    endpoint; defaults to ``store``), ``kind`` what it is (``"persist store"``,
    ``"export location"``). ``on_retry(exc, wait)`` is called before each
    wait (for example to reset state the failed attempt left)."""
    _count("calls")
    where = where or store
    last: BaseException | None = None
    for attempt in range(policy.attempts):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                _count("permanent")
                if _is_botocore_error(exc):  # e.g. no credentials: not an OSError
                    raise StoreUnavailableError(
                        f"{describe(where, operation, key, kind)} failed: {exc}",
                        store=store, operation=operation, key=key, attempts=attempt + 1,
                    ) from exc
                raise
            last = exc
            if attempt == policy.attempts - 1:
                break
            wait = policy.delay(attempt, retry_after(exc))
            _count("retries")
            if on_retry is not None:
                on_retry(exc, wait)
            sleep(wait)
    _count("gave_up")
    n = policy.attempts
    raise StoreUnavailableError(
        f"{describe(where, operation, key, kind)} failed after {n} attempt{'s' if n != 1 else ''}"
        f": {type(last).__name__}: {last}",
        store=store, operation=operation, key=key, attempts=n,
    ) from last
