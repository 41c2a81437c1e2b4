"""``zarr`` is intake-xarray's dataset reader; the array reader is ``ndzarr``.
Stores and exports written when the array reader was called ``zarr`` still read."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import zarr

from intake_persist.catalog.loader import open_catalog
from intake_persist.sources.registry import get_driver_class
from intake_persist.sources.xr.zarr import ZarrSource
from intake_persist.sources.zarr import ZarrArraySource
from intake_persist.store.persist_store import PersistStore


def test_names():
    assert get_driver_class("zarr") is ZarrSource
    assert get_driver_class("intake_xarray.xzarr.ZarrSource") is ZarrSource
    assert get_driver_class("ndzarr") is ZarrArraySource
    assert get_driver_class("intake.source.zarr.ZarrArraySource") is ZarrArraySource
    assert ZarrArraySource.name == "ndzarr" and ZarrSource.name == "zarr"


def _old_layout(store_path: str) -> None:
    """Rewrite a store as versions before the split wrote it: the array reader
    recorded as ``zarr`` in the index, in each copy's meta file and in the
    original's record."""
    files = [os.path.join(store_path, "cat.yaml")]
    files += glob.glob(os.path.join(store_path, "*", "*.meta.yaml"))
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert "ndzarr" in text
        text = text.replace('"driver": "ndzarr"', '"driver": "zarr"')
        text = text.replace("driver: ndzarr", "driver: zarr")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


@pytest.fixture
def old_store(tmp_path):
    """A store laid out the old way, holding a copy of a Zarr array source."""
    arr = np.arange(60.0).reshape(12, 5)
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=arr.shape, chunks=(4, 5), dtype="f8")
    z[:] = arr
    original = ZarrArraySource(str(tmp_path / "a.zarr"))
    path = str(tmp_path / "store")
    original.persist(store=PersistStore(path))
    _old_layout(path)
    return path, original, arr


def test_old_store_copy_reads_as_an_array(old_store):
    path, original, arr = old_store
    store = PersistStore(path)
    entry = store.index.lookup(original.token)
    assert entry["driver"] == "zarr"  # really the old layout
    assert entry["metadata"]["original_source"]["driver"] == "zarr"
    copy = store[original.token]
    assert isinstance(copy, ZarrArraySource)
    np.testing.assert_array_equal(copy.read(), arr)
    assert copy.npartitions == 3


def test_old_store_original_is_rebuilt_as_an_array_reader(old_store):
    path, original, arr = old_store
    store = PersistStore(path)
    rebuilt = store.backtrack(original.token)
    assert isinstance(rebuilt, ZarrArraySource) and rebuilt.token == original.token
    fresh = store.refresh(original.token)
    assert isinstance(fresh, ZarrArraySource)
    np.testing.assert_array_equal(fresh.read(), arr)
    # re-persisting the old copy acts on its original
    again = store[original.token].persist(store=store)
    np.testing.assert_array_equal(again.read(), arr)


def test_old_export_catalog_reads_as_an_array(tmp_path):
    arr = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "g.npy", arr)
    from intake_persist.sources.numpy import NumpySource

    text = NumpySource(str(tmp_path / "g.npy")).export(str(tmp_path / "out"))
    assert "driver: ndzarr" in text
    (tmp_path / "old.yaml").write_text(text.replace("driver: ndzarr", "driver: zarr"))
    cat = open_catalog(str(tmp_path / "old.yaml"))
    src = cat[list(cat)[0]]
    assert isinstance(src, ZarrArraySource)
    np.testing.assert_array_equal(src.read(), arr)


def test_catalog_zarr_entry_is_an_xarray_dataset(tmp_path):
    import xarray as xr

    ds = xr.Dataset({"v": (("x",), np.arange(4.0))}, coords={"x": [1, 2, 3, 4]})
    ds.to_zarr(str(tmp_path / "d.zarr"), zarr_format=2, consolidated=True)
    (tmp_path / "cat.yaml").write_text(
        "sources:\n  d:\n    driver: zarr\n    args:\n"
        "      urlpath: '{{ CATALOG_DIR }}/d.zarr'\n"
    )
    src = open_catalog(str(tmp_path / "cat.yaml")).d
    assert src.container == "xarray"
    xr.testing.assert_identical(src.read(), ds)
