"""The S3 backend: index updates by compare-and-swap, without locks.

S3 (and the servers that speak its protocol: moto, SeaweedFS, MinIO...) offers
conditional writes:

* ``PutObject`` with ``If-None-Match: *`` creates a key only if it is absent;
* ``PutObject`` with ``If-Match: <etag>`` replaces a key only if its ETag is still
  ``<etag>``.

Both answer HTTP 412 ``PreconditionFailed`` when the condition does not hold; s3fs
turns that into different Python exceptions depending on the server (moto:
``FileExistsError``/``FileNotFoundError``, SeaweedFS: ``OSError(EINVAL)``), so a
conflict is recognised from the botocore error chained as ``__cause__`` (see
``tests/s3/test_conditional_writes.py`` for the findings).

``read()`` takes the body and the ETag from one ``GetObject``, so they always match;
``write(data, expected_tag)`` is one conditional ``PutObject`` and raises
:class:`~intake_persist.errors.IndexConflict` when another writer got there first (``Index.update``
then reads again and retries); ``create_only`` publishes per-copy metadata and
writing markers. ``locked()`` does nothing: correctness comes from the conditions.

Credentials given as storage options stay in memory: they are never written into
the index or meta files, and the errors raised here name the store's URL and the
endpoint only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ...errors import IndexConflict
from .. import layout
from .fsspec import FsspecBackend

_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}

#: Seconds to wait for a connection, and for each read of an answer, on every
#: request (settable as storage options ``connect_timeout`` / ``read_timeout`` or in
#: ``config_kwargs``). A request that stalls longer fails with a timeout, which is
#: transient: botocore, s3fs and :mod:`~intake_persist.store.retry` try it again
#: within their budgets.
DEFAULT_TIMEOUTS = {"connect_timeout": 5.0, "read_timeout": 15.0}


def with_timeouts(storage_options: dict[str, Any]) -> dict[str, Any]:
    """``storage_options`` for s3fs with connect and read timeouts set: the store's
    ``connect_timeout`` / ``read_timeout`` options (moved into ``config_kwargs``),
    else those already in ``config_kwargs``, else :data:`DEFAULT_TIMEOUTS`."""
    import math

    opts = dict(storage_options)
    config = dict(opts.get("config_kwargs") or {})
    for name, default in DEFAULT_TIMEOUTS.items():
        value = opts.pop(name, None)
        if value is None:
            value = config.get(name, default)
        try:
            ok = not isinstance(value, bool) and math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"storage option {name} must be a number of seconds > 0, "
                             f"got {value!r}")
        config[name] = float(value)
    opts["config_kwargs"] = config
    return opts


_EXPECT_OFF = False


def drop_expect_continue(fs: Any = None) -> None:
    """Send PUTs without ``Expect: 100-continue``: aiohttp waits for the server's
    ``100 Continue`` with no timeout, so a stalled server held a PUT forever. Taken
    out of botocore's built-in handlers (for the sessions made from now on, in this
    process) and from ``fs``'s client if it has one already. The store's PUTs are
    small (markers, the index) or one data file each."""
    global _EXPECT_OFF
    from botocore import handlers

    if not _EXPECT_OFF:
        handlers.BUILTIN_HANDLERS[:] = [h for h in handlers.BUILTIN_HANDLERS
                                        if h[1] is not handlers.add_expect_header]
        _EXPECT_OFF = True
    client = getattr(fs, "_s3", None)
    if client is not None:
        with contextlib.suppress(Exception):
            client.meta.events.unregister("before-call.s3", handlers.add_expect_header)


def _response(exc: BaseException | None) -> dict[str, Any]:
    """The botocore response dict behind an s3fs/botocore error, if any."""
    seen = 0
    while exc is not None and seen < 5:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            return response
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return {}


def is_precondition_failed(exc: BaseException) -> bool:
    """True for HTTP 412 (or 409 ConditionalRequestConflict) of a conditional request."""
    response = _response(exc)
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code in _CONFLICT_CODES or status == 412


def _is_not_found(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = _response(exc)
    code = (response.get("Error") or {}).get("Code")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "404", "NotFound") or status == 404


T = TypeVar("T")


def _unless_missing(fn: Callable[[], T]) -> T | None:
    """``fn()``, or None when the key it asks for is not there (however the server
    and s3fs say so)."""
    try:
        return fn()
    except OSError as exc:
        if _is_not_found(exc):
            return None
        raise


class S3Backend(FsspecBackend):
    """A persist path on S3 (``s3://bucket/prefix``), updated with conditional writes."""

    def __init__(self, root: str, **storage_options: Any) -> None:
        # bounded waits on every request (see with_timeouts)
        super().__init__(root, **with_timeouts(storage_options))
        if not hasattr(self.fs, "_call_s3"):  # pragma: no cover - another s3 implementation
            raise TypeError(f"S3Backend needs s3fs, got {type(self.fs).__name__} for {root}")
        drop_expect_continue(self.fs)
        bucket, key, _ = self.fs.split_path(self._path_root)
        self.bucket = bucket
        self._key_root = key.strip("/")

    # ---- plumbing -----------------------------------------------------------------
    def _key(self, rel: str) -> str:
        return f"{self._key_root}/{rel}" if self._key_root else rel

    def where(self) -> str:
        endpoint = getattr(self.fs, "endpoint_url", None) or (
            (self.storage_options.get("client_kwargs") or {}).get("endpoint_url")
        )
        return f"{self.root}" + (f" (endpoint {endpoint})" if endpoint else "")

    def _call(self, method: str, **kwargs: Any) -> Any:
        from fsspec.asyn import sync

        return self._retry(method, kwargs.get("Key"),
                           lambda: sync(self.fs.loop, self.fs._call_s3, method, **kwargs))

    def _get(self, key: str) -> tuple[bytes, str]:
        """Body and ETag of one ``GetObject``; a body cut while it is read is retried
        with the request (the ETag then still matches the bytes)."""
        from fsspec.asyn import sync

        async def get() -> tuple[bytes, str]:
            resp = await self.fs._call_s3("get_object", Bucket=self.bucket, Key=key)
            body = resp["Body"]
            try:
                data = await body.read()
            finally:
                body.close()
            return data, resp["ETag"]

        got: tuple[bytes, str] = self._retry("get_object", key,
                                             lambda: sync(self.fs.loop, get))
        return got

    def _put(self, key: str, data: bytes, **conditions: str) -> str:
        """One ``PutObject``, retried when transient. With conditions, a retry whose
        first attempt landed fails its own condition: callers check the content
        (:meth:`_already_written`)."""
        try:
            resp = self._call("put_object", Bucket=self.bucket, Key=key, Body=data,
                              **conditions)
        finally:
            self.fs.invalidate_cache(f"{self.bucket}/{key}")
        etag: str = resp["ETag"]
        return etag

    # ---- index part ----------------------------------------------------------------
    def tag(self) -> str | None:
        resp = _unless_missing(
            lambda: self._call("head_object", Bucket=self.bucket, Key=self._key(layout.INDEX)))
        if resp is None:
            return None
        etag: str = resp["ETag"]
        return etag

    def read(self) -> tuple[bytes | None, str | None]:
        found = _unless_missing(lambda: self._get(self._key(layout.INDEX)))
        return (None, None) if found is None else found

    def write(self, data: bytes, expected_tag: Any) -> str:
        key = self._key(layout.INDEX)
        cond = {"IfNoneMatch": "*"} if expected_tag is None else {"IfMatch": str(expected_tag)}
        try:
            return self._put(key, data, **cond)
        except OSError as exc:
            # 412: the index changed. If-Match on a key deleted meanwhile: 404 (moto)
            if not (is_precondition_failed(exc) or (expected_tag is not None
                                                    and _is_not_found(exc))):
                raise
            mine = self._already_written(key, data)
            if mine is not None:
                return mine
            raise IndexConflict(
                f"{self.url(layout.INDEX)} changed while it was being updated"
            ) from None

    def _already_written(self, key: str, data: bytes) -> str | None:
        """The ETag if ``key`` holds exactly ``data``: a request whose answer was lost
        and that was retried (by botocore, s3fs or :mod:`~intake_persist.store.retry`) fails its own
        condition. The check read is itself retried; only "not found" means no."""
        found = _unless_missing(lambda: self._get(key))
        if found is None:
            return None
        current, etag = found
        return etag if current == data else None

    def create_only(self, rel: str, data: bytes) -> None:
        key = self._key(rel)
        try:
            self._put(key, data, IfNoneMatch="*")
        except OSError as exc:
            if not (is_precondition_failed(exc) or isinstance(exc, FileExistsError)):
                raise
            if self._already_written(key, data) is None:
                raise FileExistsError(f"{self.url(rel)} already exists") from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        yield  # no lock: the index update is a conditional write

    # ---- file part (retried and named by FsspecBackend) -------------------------------
    def put(self, rel: str, data: bytes) -> None:
        self._put(self._key(rel), data)

    def rm(self, rel: str) -> None:
        super().rm(rel)
        self._rm_dir_object(rel)

    def rm_file(self, rel: str) -> None:
        """One ``DeleteObject`` (S3 answers it for an absent key too): ``rm`` first
        lists the prefix, checks the key and deletes in a batch, four requests."""
        try:
            self._call("delete_object", Bucket=self.bucket, Key=self._key(rel))
        except FileNotFoundError:
            pass
        finally:
            self.fs.invalidate_cache(self._path(rel))

    def _rm_dir_object(self, rel: str) -> None:
        """On AWS a prefix vanishes with its last object; some servers (SeaweedFS)
        keep an empty directory, listed as a prefix, until ``<prefix>/`` is deleted."""
        if not rel:
            return
        with contextlib.suppress(Exception):
            self._call("delete_object", Bucket=self.bucket, Key=self._key(rel).rstrip("/") + "/")
        self.fs.invalidate_cache(self._path(rel))

    def rmdir_if_empty(self, rel: str) -> None:
        if not self.listdir(rel):
            self._rm_dir_object(rel)

