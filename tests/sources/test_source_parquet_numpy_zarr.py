import numpy as np
import pandas as pd
import pytest

from intake_persist.sources.numpy import NumpySource
from intake_persist.sources.parquet import ParquetSource
from intake_persist.sources.zarr import ZarrArraySource


def _put_parquet(where, name, df, **kw):
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, **kw)
    return where(name, buf.getvalue())


def test_parquet_dir_glob_list(where):
    df1 = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    df2 = pd.DataFrame({"x": [4, 5], "y": ["d", "e"]})
    _put_parquet(where, "d/part.00000.parquet", df1)
    _put_parquet(where, "d/part.00001.parquet", df2)
    where("d/_SUCCESS", b"")
    full = pd.concat([df1, df2], ignore_index=True)
    for url in (
        f"{where.base}/d",
        f"{where.base}/d/*.parquet",
        [f"{where.base}/d/part.00000.parquet", f"{where.base}/d/part.00001.parquet"],
    ):
        src = ParquetSource(url)
        info = src.discover()
        assert info["npartitions"] == 2 and info["shape"] == (5, 2)
        pd.testing.assert_frame_equal(src.read(), full)
    src = ParquetSource(f"{where.base}/d", columns=["y"])
    assert list(src.read().columns) == ["y"]
    pd.testing.assert_frame_equal(src.read_partition(1), df2[["y"]])
    got = src.to_dask().compute(scheduler="threads").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, full[["y"]], check_dtype=False)
    src = ParquetSource(f"{where.base}/d", filters=[("x", ">", 2)])
    assert list(src.read().x) == [3, 4, 5]


def test_parquet_row_groups_and_index(where):
    df = pd.DataFrame({"x": range(100)}, index=pd.Index([f"r{i}" for i in range(100)], name="k"))
    _put_parquet(where, "one.parquet", df, row_group_size=30)
    src = ParquetSource(f"{where.base}/one.parquet", split_row_groups=True)
    assert src.npartitions == 4
    pd.testing.assert_frame_equal(src.read(), df)
    assert src.read_partition(3).index[0] == "r90"


def test_parquet_hive(where):
    _put_parquet(where, "h/year=2020/a.parquet", pd.DataFrame({"v": [1]}))
    _put_parquet(where, "h/year=2021/a.parquet", pd.DataFrame({"v": [2]}))
    df = ParquetSource(f"{where.base}/h").read()
    assert list(df.year) == ["2020", "2021"] and list(df.v) == [1, 2]


def _put_npy(where, name, arr):
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return where(name, buf.getvalue())


def test_numpy(where):
    a = np.arange(300, dtype="int32").reshape(100, 3)
    b = np.arange(60, dtype="int32").reshape(20, 3)
    _put_npy(where, "a.npy", a)
    _put_npy(where, "b.npy", b)
    src = NumpySource(f"{where.base}/*.npy", chunks=30)
    info = src.discover()
    assert info["shape"] == (120, 3) and info["dtype"] == np.dtype("int32")
    assert src.partition_rows() == [30, 30, 30, 10, 20]
    np.testing.assert_array_equal(src.read(), np.concatenate([a, b]))
    np.testing.assert_array_equal(src.read_partition(1), a[30:60])
    assert [p.shape[0] for p in src.read_chunked()] == [30, 30, 30, 10, 20]
    d = src.to_dask()
    assert d.chunks[0] == (30, 30, 30, 10, 20)
    np.testing.assert_array_equal(d.compute(scheduler="threads"), np.concatenate([a, b]))
    with pytest.raises(ValueError, match="shape"):
        NumpySource(f"{where.base}/a.npy", shape=[5, 3]).discover()
    _put_npy(where, "f.npy", np.asfortranarray(a))
    np.testing.assert_array_equal(NumpySource(f"{where.base}/f.npy", chunks=7).read(), a)


def test_numpy_default_chunks(where):
    _put_npy(where, "s.npy", np.zeros((10, 2)))
    src = NumpySource(f"{where.base}/s.npy")
    assert src.npartitions == 1
    with src:
        assert src.read().shape == (10, 2)


def test_zarr(where):
    import zarr

    arr = np.arange(250.0).reshape(50, 5)
    url = f"{where.base}/z.zarr"
    z = zarr.create_array(url if "://" in url else url, shape=arr.shape, chunks=(20, 5), dtype="f8")
    z[:] = arr
    src = ZarrArraySource(url)
    info = src.discover()
    assert info["shape"] == (50, 5) and info["npartitions"] == 3
    np.testing.assert_array_equal(src.read(), arr)
    np.testing.assert_array_equal(src.read_partition(2), arr[40:])
    np.testing.assert_array_equal(src.to_dask().compute(scheduler="threads"), arr)
    src.close()
    # group + component
    g = zarr.open_group(f"{where.base}/g.zarr", mode="w")
    a2 = g.create_array("inner", shape=(4,), chunks=(2,), dtype="i4")
    a2[:] = [1, 2, 3, 4]
    src = ZarrArraySource(f"{where.base}/g.zarr", component="inner")
    assert src.read().tolist() == [1, 2, 3, 4]
    assert src.npartitions == 2
    with pytest.raises(FileNotFoundError):
        ZarrArraySource(f"{where.base}/nothing.zarr").discover()
