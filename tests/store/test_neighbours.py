"""No store operation touches a file it did not write.

Unrelated files and folders beside the store root and inside it (not under a
``<token>/`` folder of its own) survive, byte for byte, every operation: persist,
re-persist, remove with and without ``delfiles``, gc (``grace=0`` and
``delete_detached=True`` included), clear, and an export with ``overwrite=True``
next to the store and inside its folder; for every container (dataframe, ndarray,
python, xarray, catalog). On local disk, ``memory://`` and S3 (moto).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import fsspec
import pytest
from store_helpers import ArraySource, FrameSource, ItemsSource

from intake_persist.store import layout
from intake_persist.store.persist_store import PersistStore

WEATHER = Path(__file__).resolve().parents[2] / "catalogs" / "data" / "weather.nc"


def _netcdf(seed: int, tmp_path: Path):
    from intake_persist.sources.xr.netcdf import NetCDFSource

    return NetCDFSource(str(WEATHER), chunks={"time": 8 * seed})


def _catalog(seed: int, tmp_path: Path):
    from intake_persist import open_catalog

    path = tmp_path / f"cat{seed}.yaml"
    path.write_text(f"sources:\n  e{seed}:\n    driver: csv\n    args: {{urlpath: x.csv}}\n")
    return open_catalog(str(path))


SOURCES = {
    "dataframe": lambda seed, tmp_path: FrameSource(nparts=3, rows=5, seed=seed),
    "ndarray": lambda seed, tmp_path: ArraySource(nparts=3, rows=4, cols=2, seed=seed),
    "python": lambda seed, tmp_path: ItemsSource(nparts=2, n=seed + 2),
    "xarray": _netcdf,
    "catalog": _catalog,
}


def _fs(url: str):
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return fs, path.rstrip("/")


def _put(url: str, data: bytes) -> None:
    fs, path = _fs(url)
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    fs.pipe_file(path, data)


def _tree(url: str) -> dict[str, bytes]:
    fs, path = _fs(url)
    return {p[len(path) + 1:]: fs.cat_file(p) for p in fs.find(path)}


def _plant(base: str, tokens: list[str]) -> dict[str, bytes]:
    """User files beside ``<base>/store`` and inside it, some named like ours."""
    root = f"{base}/store"
    rels = {
        # beside the store root, some sharing its name as a prefix
        "neighbour.txt": b"next to the store",
        "store.txt": b"a file named like the store",
        "store-old/keep.txt": b"a folder whose name starts with the store's",
        "storex/deep/keep.bin": bytes(range(256)),
        # inside the store root, not under a token folder of the store
        "store/notes.txt": b"my notes in the store folder",
        "store/mydata/part.00000.parquet": b"not written by intake-persist",
        "store/mydata/sub/x.zarr/zarr.json": b"{}",
        "store/cat.yaml.bak": b"my copy of the index",
        "store/cat.yaml-notes": b"notes on the index",
        "store/backup.tmp-otherhost-42-cafe1234": b"a name like a temporary file",
        f"store/{layout.INDEX}{layout.TMP_MARK}otherhost-42-cafe1234/keep.txt":
            b"a folder named like the index writer's temporary file",
        "store/0123456789abcdef0123456789abcdeg/keep.txt": b"almost a token (g)",
        "store/ABCDEF0123456789ABCDEF0123456789/keep.txt": b"upper-case hex",
        "store/20260101T000000.000000-deadbeef/keep.txt": b"named like a version",
        "store/20260101T000000.000000-deadbeef.meta.yaml": b"named like a meta file",
        "store/20260101T000000.000000-deadbeef.writing": b"named like a marker",
    }
    for tok in tokens:
        rels[f"store/{tok}.bak/keep.txt"] = b"beside a token folder"
        rels[f"store/{tok}-notes.txt"] = b"a file whose name starts with a token"
        rels[f"store/{tok}x"] = b"a token followed by a letter"
    items = {f"{base}/{rel}": data for rel, data in rels.items()}
    for url, data in items.items():
        _put(url, data)
    if not base.startswith(("memory://", "s3://")):
        old = time.time() - 30 * 86400  # old enough for any grace period
        for url in items:
            if url.startswith(root + "/"):
                os.utime(url, (old, old))
    return items


def _check(base: str, items: dict[str, bytes], contents: bool = False) -> None:
    """Every planted file is still there (one listing); with ``contents``, byte for
    byte as planted."""
    fs, path = _fs(base)
    present = set(fs.find(path))
    missing = [u for u in items if _fs(u)[1] not in present]
    changed = [u for u in items if contents and u not in missing
               and fs.cat_file(_fs(u)[1]) != items[u]]
    assert not missing and not changed, {"missing": missing, "changed": changed}


# Every container on local disk and memory://. On S3 only the two ways a copy reaches an
# object store: files written through fsspec's open() (dataframe; the python and catalog
# writers take the same route, and memory:// covers them as a non-local filesystem)
# and Zarr through its fsspec store (xarray; ndarray writes Zarr the same way). The
# store operations themselves (remove, gc, clear) do not depend on the container.
CASES = [pytest.param(c, where, id=f"{where}-{c}") for c in sorted(SOURCES)
         for where in ("local", "memory")]
CASES += [pytest.param(c, "s3", id=f"s3-{c}", marks=pytest.mark.s3)
          for c in ("dataframe", "xarray")]


@pytest.mark.parametrize(("container", "base"), CASES, indirect=["base"])
def test_neighbours_survive_every_store_operation(base, tmp_path, container):
    root = f"{base}/store"
    srcs = [SOURCES[container](s, tmp_path) for s in (1, 2, 3)]
    items = _plant(base, [s.token for s in srcs])
    store = PersistStore(root)
    steps = [
        ("persist", lambda: [store.persist(s) for s in srcs]),
        ("re-persist", lambda: store.persist(srcs[0], ttl=10)),
        ("re-persist keep=2", lambda: [store.persist(srcs[1], keep=2) for _ in range(3)]),
        ("remove", lambda: store.remove(srcs[0])),
        ("remove delfiles=False", lambda: store.remove(srcs[1], delfiles=False)),
        ("gc", lambda: store.gc()),
        ("gc grace=0", lambda: store.gc(grace=0)),
        ("gc delete_detached", lambda: store.gc(grace=0, delete_detached=True)),
        ("persist again", lambda: [store.persist(s) for s in srcs]),
        ("refresh", lambda: store.refresh(srcs[2].token)),
    ]
    if container != "catalog":  # a catalog is persisted, not exported
        steps += [
            ("export overwrite beside", lambda: [
                srcs[0].export(f"{base}/exported", overwrite=True) for _ in range(2)]),
            ("export overwrite inside", lambda: [
                srcs[1].export(f"{root}/mydata/exported", overwrite=True) for _ in range(2)]),
            ("export a copy", lambda: store[srcs[2].token].export(f"{base}/exported2")),
        ]
    steps += [
        ("gc after exports", lambda: store.gc(grace=0, delete_detached=True)),
        ("clear", lambda: store.clear()),
        ("gc after clear", lambda: PersistStore(root).gc(grace=0, delete_detached=True)),
    ]
    for name, step in steps:
        step()
        try:
            _check(base, items, contents=name.startswith(("gc", "clear")))
        except AssertionError as exc:
            raise AssertionError(f"after {name}: {exc}") from None
    # the copies the store wrote are gone (whether clear() also drops the index
    # file and its lock is tested with clear itself)
    left = {f"{root}/{rel}" for rel in _tree(root)}
    ours = {u for u in left if u not in items and "/exported" not in u
            and u.rsplit("/", 1)[-1] not in (layout.INDEX, layout.LOCK)}
    assert not ours, sorted(ours)


def test_store_inside_a_user_folder_shares_nothing(base):
    """A store at ``<base>/store`` and another at ``<base>/store2``: clearing one
    leaves the other (a prefix of its name) whole."""
    one, two = PersistStore(f"{base}/store"), PersistStore(f"{base}/store2")
    a, b = FrameSource(nparts=2, rows=3, seed=4), FrameSource(nparts=2, rows=3, seed=5)
    one.persist(a)
    copy = two.persist(b)
    before = _tree(f"{base}/store2")
    one.persist(b)
    one.remove(b)
    one.gc(grace=0, delete_detached=True)
    one.clear()
    assert _tree(f"{base}/store2") == before
    assert list(two) == [b.token]
    assert copy.read().equals(b.read())
