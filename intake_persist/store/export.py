"""Export: a container-appropriate copy written anywhere, outside the store.

The copy is written into a hidden staging folder inside the target location and
moved into place only when it is whole, so a failed or killed export never leaves
a copy that looks complete. A target that exists and holds anything is refused
unless ``overwrite=True``; then its old content is deleted, after the new copy is
whole and never outside the target.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .._io import get_fs, is_local, join, public_storage_options, strip_file_scheme
from . import layout

T = TypeVar("T")

STAGING = ".intake-persist-export"


def _is_staging(name: str) -> bool:
    return name.startswith(STAGING + layout.TMP_MARK)


def export(source: Any, path: str, storage_options: dict[str, Any] | None = None,
           progress: Any = None, overwrite: bool = False, **kwargs: Any) -> str:
    """Write a copy of ``source`` under ``path`` (a directory, local or URL) and
    return the YAML text of a one-entry catalog that reads it.

    The store is not touched. The entry's metadata records the original source
    (driver, args, description, metadata) so that it can be rebuilt; for a
    persisted copy, that is the copy's original. A ``path`` that exists and is not
    empty raises ``FileExistsError`` unless ``overwrite=True``.
    """
    from .._yaml import dump
    from ..containers import write
    from .records import original_record, plain

    if getattr(source, "container", None) not in ("dataframe", "ndarray", "python", "xarray"):
        raise ValueError(f"cannot export a source of container {source.container!r}")
    if not isinstance(path, str) or not path:
        raise ValueError(f"export needs a path or URL to write to, got {path!r}")
    if not isinstance(overwrite, bool):
        raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
    record = original_record(source)
    if is_local(path):
        path = os.path.abspath(os.path.expanduser(strip_file_scheme(path)))
    target = _Target(path, storage_options or {})
    old = target.contents()
    if [n for n in old if n is None or not _is_staging(n)] and not overwrite:
        raise FileExistsError(
            f"export location {path} exists and is not empty; pass overwrite=True "
            "(command line: --overwrite) to replace its content"
        )
    if old == [None]:  # a file where the copy's folder goes: replaced by it
        target.remove_file()
    old = [n for n in old if n is not None] if overwrite else []
    staging = layout.tmp_name(STAGING)
    try:
        info = target.retry(
            "write export data", staging,
            lambda: write(source, target.url(staging), storage_options=storage_options or None,
                          progress=progress, **kwargs),
            on_retry=lambda exc, wait: target.remove(staging),
        )
    except BaseException:
        with contextlib.suppress(Exception):
            target.remove(staging)
        raise
    target.replace(staging, old)
    args = dict(info.get("args") or {})
    args["urlpath"] = path
    args.pop("storage_options", None)
    if public_storage_options(storage_options):
        args["storage_options"] = public_storage_options(storage_options)
    name = record["original_name"] or getattr(source, "name", None) or "exported"
    entry = {
        "description": f"exported copy of {name}",
        "driver": info["driver"],
        "args": args,
        "metadata": {
            **record,
            "exported_at": round(time.time(), 6),
            "export_kwargs": kwargs,
            "container": source.container,
            "size": info.get("size"),
            "npartitions": info.get("npartitions"),
        },
    }
    return dump(plain({"metadata": {"version": 1}, "sources": {name: entry}}))


class _Target:
    """The export location: what is in it, and moves and deletes strictly inside it."""

    def __init__(self, path: str, storage_options: dict[str, Any]) -> None:
        self.path = path
        self.local = is_local(path)
        if not self.local:
            self.fs, self.fspath = get_fs(path, **storage_options)
            self.fspath = self.fspath.rstrip("/")

    def retry(self, operation: str, key: str | None, fn: Callable[[], T],
              on_retry: Any = None) -> T:
        """``fn()``, retried when it fails transiently (remote locations only)."""
        if self.local:
            return fn()
        from . import retry

        return retry.call(fn, store=self.path, operation=operation, key=key,
                          kind="export location", on_retry=on_retry)

    def url(self, name: str) -> str:
        return join(self.path, name)

    def contents(self) -> list[str] | list[None]:
        """Names in the location; ``[None]`` when it is a file; ``[]`` when absent or empty."""
        if self.local:
            if os.path.isdir(self.path) and not os.path.islink(self.path):
                return sorted(os.listdir(self.path))
            return [None] if os.path.lexists(self.path) else []
        fs = self.fs

        def look() -> list[str] | None:
            fs.invalidate_cache(self.fspath)
            if fs.isfile(self.fspath):
                return None
            try:
                names: list[str] = fs.ls(self.fspath, detail=False)
                return names
            except (FileNotFoundError, NotADirectoryError):
                return []

        items = self.retry("ls", None, look)
        if items is None:
            return [None]
        names = {p.rstrip("/").rsplit("/", 1)[-1] for p in items
                 if p.rstrip("/") != self.fspath}
        return sorted(names)

    def remove_file(self) -> None:
        if self.local:
            os.unlink(self.path)
        else:
            self.retry("rm_file", None, lambda: self.fs.rm_file(self.fspath))

    def _files(self, name: str) -> list[str]:
        """Every file under ``<location>/<name>`` (remote), the name itself if a file."""
        base = f"{self.fspath}/{name}"

        def find() -> list[str]:
            self.fs.invalidate_cache(self.fspath)
            if self.fs.isfile(base):
                return [base]
            return [p for p in self.fs.find(base) if p.startswith(base + "/")]

        return self.retry("find", name, find)

    def remove(self, name: str) -> None:
        """Delete ``<location>/<name>`` (a file or a folder), nothing else."""
        if self.local:
            p = os.path.join(self.path, name)
            if os.path.isdir(p) and not os.path.islink(p):
                import shutil

                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)
            return
        files = self._files(name)
        if files:
            def rm() -> None:
                try:
                    self.fs.rm(files)
                except FileNotFoundError:  # a retry after a delete that landed
                    pass

            self.retry("rm", name, rm)
        with contextlib.suppress(Exception):
            self.fs.rmdir(f"{self.fspath}/{name}")
        self.fs.invalidate_cache(self.fspath)

    def replace(self, staging: str, old: list[str]) -> None:
        """Delete the old content ``old``, then move the whole copy in ``staging`` up."""
        for name in old:
            if name != staging:
                self.remove(name)
        if self.local:
            src = os.path.join(self.path, staging)
            for name in sorted(os.listdir(src)):
                os.replace(os.path.join(src, name), os.path.join(self.path, name))
            os.rmdir(src)
            return
        base = f"{self.fspath}/{staging}"
        for f in self._files(staging):
            rel = f[len(base) + 1:]
            # copy, then delete the staging copy: each step can be retried as it is
            self.retry("copy", rel, functools.partial(self.fs.copy, f, f"{self.fspath}/{rel}"))
        self.remove(staging)
