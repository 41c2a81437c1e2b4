"""xarray_image: PNG files read into a DataArray, stacked along concat_dim, persisted."""

from __future__ import annotations

import fsspec
import imageio.v3 as iio
import numpy as np
import pytest
import xarray as xr

from intake_persist.sources.registry import get_driver_class
from intake_persist.sources.xr.image import ImageSource
from intake_persist.store.persist_store import PersistStore


def _png(url: str, array: np.ndarray) -> None:
    with fsspec.open(url, "wb") as f:
        f.write(iio.imwrite("<bytes>", array, extension=".png"))


def _images(n: int, shape=(12, 9, 3), seed=3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, shape, dtype="uint8") for _ in range(n)]


def test_names():
    assert get_driver_class("xarray_image") is ImageSource
    assert get_driver_class("intake_xarray.image.ImageSource") is ImageSource


def test_one_image(where):
    (img,) = _images(1)
    _png(f"{where.base}/a.png", img)
    src = ImageSource(f"{where.base}/a.png")
    arr = src.read()
    assert isinstance(arr, xr.DataArray)
    assert arr.dims == ("y", "x", "channel") and arr.shape == (12, 9, 3)
    np.testing.assert_array_equal(arr.values, img)
    assert arr["x"].values.tolist() == list(range(9))
    gray = _images(1, shape=(5, 4))[0]
    _png(f"{where.base}/g.png", gray)
    assert ImageSource(f"{where.base}/g.png").read().dims == ("y", "x")


def test_pattern_stack_chunks_and_persist(where, tmp_path):
    imgs = _images(3)
    for k, img in zip((20, 10, 30), imgs, strict=True):
        _png(f"{where.base}/img_{k}.png", img)
    src = ImageSource(f"{where.base}/img_{{n:d}}.png", concat_dim="n", chunks={"y": 6})
    arr = src.read()
    assert arr.dims == ("n", "y", "x", "channel")
    assert arr["n"].values.tolist() == [10, 20, 30]  # sorted by path
    np.testing.assert_array_equal(arr.sel(n=20).values, imgs[0])
    np.testing.assert_array_equal(arr.sel(n=10).values, imgs[1])
    assert src.npartitions == 3 * 2  # a chunk per image, split in two along y
    np.testing.assert_array_equal(src.read_partition(1).values, imgs[1][None, 6:])
    copy = src.persist(store=PersistStore(str(tmp_path / "store")))
    back = copy.read()
    assert isinstance(back, xr.DataArray)
    xr.testing.assert_identical(back, arr)


def test_coerce_shape_preprocess_and_a_custom_imread(tmp_path):
    imgs = _images(2, shape=(6, 5, 3))
    for k, img in enumerate(imgs):
        _png(str(tmp_path / f"p{k}.png"), img)
    src = ImageSource(str(tmp_path / "p*.png"), coerce_shape=[4, 7],
                      preprocess="numpy.fliplr", imread="imageio.v3.imread")
    arr = src.read()
    assert arr.dims == ("concat_dim", "y", "x", "channel") and arr.shape == (2, 4, 7, 3)
    expected = np.zeros((4, 7, 3), dtype="uint8")
    expected[:, :5] = imgs[1][:4]
    np.testing.assert_array_equal(arr.values[1], np.fliplr(expected))


def test_bad_arguments():
    with pytest.raises(ValueError, match="EXIF"):
        ImageSource("x.png", exif_tags=True)
    with pytest.raises(ValueError, match="concat_dim"):
        ImageSource("x_{a}_{b}.png", concat_dim=["a", "b"])
    with pytest.raises(ValueError, match="coerce_shape"):
        ImageSource("x.png", coerce_shape=(3,))
    with pytest.raises(TypeError, match="resize"):
        ImageSource("x.png", resize=True)
