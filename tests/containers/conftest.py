import os

import fsspec
import pytest


@pytest.fixture
def memfs():
    """The fsspec memory filesystem, emptied before and after the test."""
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


@pytest.fixture(params=["local", "memory"])
def where(request, tmp_path, memfs):
    """A base URL (local directory or memory://) and a function to put bytes there."""
    if request.param == "local":
        base = str(tmp_path / "data")
        os.makedirs(base)
    else:
        base = "memory://data"

    def put(name: str, data: bytes) -> str:
        url = f"{base}/{name}"
        with fsspec.open(url, "wb") as f:
            f.write(data)
        return url

    put.base = base
    return put
