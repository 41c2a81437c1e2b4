"""export never deletes or mixes into what it did not write.

The same tests run on a local folder, ``memory://`` and S3 (moto): an existing,
non-empty location is refused unless ``overwrite=True``; with it, only the
location's own content is replaced; a failed or killed export leaves nothing
that reads as a complete copy.
"""

from __future__ import annotations

import os
import subprocess
import sys

import fsspec
import numpy as np
import pandas as pd
import pytest
import yaml
from store_helpers import (
    ArraySource,
    FrameSource,
    ItemsSource,
    PartFailSource,
    open_exported,
    subprocess_env,
)

SOURCES = {
    "dataframe": lambda: FrameSource(nparts=3, rows=7, seed=3),
    "ndarray": lambda: ArraySource(nparts=3, rows=4, cols=2, seed=5),
    "python": lambda: ItemsSource(nparts=2, n=4),
}


def _put(url: str, data: bytes) -> None:
    with fsspec.open(url, "wb") as f:
        f.write(data)


def _read(url: str) -> bytes:
    with fsspec.open(url, "rb") as f:
        return f.read()


def _files(url: str) -> dict[str, bytes]:
    """Every file under ``url`` (relative name -> bytes)."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    path = path.rstrip("/")
    return {p[len(path) + 1:]: fs.cat_file(p) for p in fs.find(path)}


def _neighbours(base: str) -> dict[str, bytes]:
    """Files beside the export location ``<base>/out`` that must survive anything."""
    items = {
        f"{base}/out-sibling/keep.txt": b"sibling folder",
        f"{base}/out.txt": b"a file whose name starts like the location",
        f"{base}/outer/deep/keep.bin": b"\x00\x01",
    }
    for url, data in items.items():
        _put(url, data)
    return items


def _check_neighbours(items: dict[str, bytes]) -> None:
    for url, data in items.items():
        assert _read(url) == data, url


def _same(container, a, b):
    if container == "dataframe":
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    elif container == "ndarray":
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("container", sorted(SOURCES))
def test_non_empty_location_refused_and_left_as_is(base, container):
    user = {"notes.txt": b"my notes", "sub/data.csv": b"a,b\n1,2\n"}
    for name, data in user.items():
        _put(f"{base}/out/{name}", data)
    neighbours = _neighbours(base)
    with pytest.raises(FileExistsError) as err:
        SOURCES[container]().export(f"{base}/out")
    assert f"{base}/out".split("://")[-1] in str(err.value)
    assert "overwrite=True" in str(err.value)
    assert _files(f"{base}/out") == user
    _check_neighbours(neighbours)


@pytest.mark.parametrize("container", sorted(SOURCES))
def test_overwrite_replaces_only_the_location(base, tmp_path, container):
    _put(f"{base}/out/notes.txt", b"old")
    _put(f"{base}/out/sub/old.parquet", b"not parquet at all")
    neighbours = _neighbours(base)
    src = SOURCES[container]()
    text = src.export(f"{base}/out", overwrite=True)
    after = _files(f"{base}/out")
    assert "notes.txt" not in after and "sub/old.parquet" not in after
    assert not [n for n in after if n.startswith(".")]  # no staging left behind
    _same(container, open_exported(tmp_path, text).read(), src.read())
    _check_neighbours(neighbours)
    # a second export over the first one: still only the new data
    src2 = type(src)(nparts=1, **({"n": 2} if container == "python" else {"rows": 3}))
    text2 = src2.export(f"{base}/out", overwrite=True)
    _same(container, open_exported(tmp_path, text2).read(), src2.read())
    _check_neighbours(neighbours)


@pytest.mark.parametrize("container", sorted(SOURCES))
def test_new_or_empty_location_needs_no_overwrite(base, tmp_path, container):
    fs, path = fsspec.core.url_to_fs(f"{base}/empty")
    fs.makedirs(path, exist_ok=True)
    neighbours = _neighbours(base)
    src = SOURCES[container]()
    for where in (f"{base}/empty", f"{base}/new/deeper"):
        text = src.export(where)
        assert yaml.safe_load(text)["sources"][src.name]["args"]["urlpath"] == where
        _same(container, open_exported(tmp_path, text).read(), src.read())
    _check_neighbours(neighbours)


def test_a_file_at_the_location_is_refused(base):
    _put(f"{base}/out", b"i am a file")
    with pytest.raises(FileExistsError, match="not empty"):
        FrameSource().export(f"{base}/out")
    assert _read(f"{base}/out") == b"i am a file"


def test_failed_export_leaves_no_copy(base):
    neighbours = _neighbours(base)
    with pytest.raises(OSError, match="partition 2 cannot be read"):
        PartFailSource(nparts=4, fail_at=2).export(f"{base}/out")
    assert not _exists(f"{base}/out") or _files(f"{base}/out") == {}
    _check_neighbours(neighbours)


def _exists(url):
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return fs.exists(path)


def test_failed_overwrite_keeps_the_previous_export(base, tmp_path):
    good = FrameSource(nparts=2, rows=5, seed=9)
    text = good.export(f"{base}/out")
    before = _files(f"{base}/out")
    with pytest.raises(OSError, match="partition 1 cannot be read"):
        PartFailSource(nparts=3, fail_at=1).export(f"{base}/out", overwrite=True)
    assert _files(f"{base}/out") == before
    _same("dataframe", open_exported(tmp_path, text).read(), good.read())


def test_killed_export_leaves_nothing_that_reads_as_a_copy(tmp_path):
    out = tmp_path / "out"
    code = (
        "from store_helpers import PartFailSource\n"
        f"PartFailSource(nparts=4, fail_at=2, crash=True).export({str(out)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 17, proc.stderr
    # what was written before the kill is only inside a hidden staging folder
    names = os.listdir(out)
    assert len(names) == 1 and names[0].startswith(".intake-persist-export"), names
    assert "part.00000.parquet" in os.listdir(out / names[0])
    from intake_persist.sources.parquet import ParquetSource

    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        ParquetSource(urlpath=str(out)).read()
    # the leftover is ours: a new export proceeds, and --overwrite removes it
    FrameSource(nparts=1, rows=2).export(str(out), overwrite=True)
    assert sorted(os.listdir(out)) == ["part.00000.parquet"]
