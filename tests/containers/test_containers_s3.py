"""Drivers and writers against a real S3 protocol server (moto), storage_options passed."""

import io

import numpy as np
import pandas as pd
import pytest

from intake_persist.containers import write
from intake_persist.sources.csv import CSVSource
from intake_persist.sources.jsonfiles import JSONLinesFileSource
from intake_persist.sources.numpy import NumpySource
from intake_persist.sources.parquet import ParquetSource
from intake_persist.sources.textfiles import TextFilesSource
from intake_persist.sources.zarr import ZarrArraySource

pytestmark = pytest.mark.s3


def test_s3_roundtrips(s3_bucket, s3_fs, s3_server):
    so = {"endpoint_url": s3_server, "skip_instance_cache": True}
    data = ("a,b\n" + "".join(f"{i},x{i}\n" for i in range(300))).encode()
    s3_fs.pipe(f"{s3_bucket}/in/y_2020.csv", data)
    buf = io.BytesIO()
    arr = np.arange(120.0).reshape(40, 3)
    np.save(buf, arr)
    s3_fs.pipe(f"{s3_bucket}/in/a.npy", buf.getvalue())
    s3_fs.pipe(f"{s3_bucket}/in/t.txt", b"l1\nl2\n")

    csv = CSVSource(f"{s3_bucket}/in/y_{{year:d}}.csv", blocksize=700, storage_options=so)
    assert csv.npartitions > 2
    df = csv.read()
    assert len(df) == 300 and set(df.year) == {2020}
    res = write(csv, f"{s3_bucket}/out/df", storage_options=so)
    assert res["args"] == {"urlpath": f"{s3_bucket}/out/df", "storage_options": so}
    pd.testing.assert_frame_equal(ParquetSource(**res["args"]).read(), df)

    npy = NumpySource(f"{s3_bucket}/in/a.npy", chunks=16, storage_options=so)
    res = write(npy, f"{s3_bucket}/out/arr", storage_options=so)
    z = ZarrArraySource(**res["args"])
    np.testing.assert_array_equal(z.read(), arr)
    assert z.npartitions == 3
    np.testing.assert_array_equal(z.to_dask().compute(scheduler="sync"), arr)

    txt = TextFilesSource(f"{s3_bucket}/in/*.txt", storage_options=so)
    res = write(txt, f"{s3_bucket}/out/py", storage_options=so, encoder="str")
    assert JSONLinesFileSource(**res["args"]).read() == ["l1", "l2"]
