import os
import tracemalloc

import fsspec
import numpy as np
import pandas as pd
import pytest

from intake_persist.containers import concat, write
from intake_persist.sources.csv import CSVSource
from intake_persist.sources.jsonfiles import JSONLinesFileSource
from intake_persist.sources.numpy import NumpySource
from intake_persist.sources.parquet import ParquetSource
from intake_persist.sources.textfiles import TextFilesSource
from intake_persist.sources.zarr import ZarrArraySource


def _csv(n):
    return ("a,b\n" + "".join(f"{i},s{i}\n" for i in range(n))).encode()


def test_concat():
    assert concat("python", [[1], [2, 3]]) == [1, 2, 3]
    assert concat("ndarray", [np.zeros(2), np.ones(1)]).tolist() == [0, 0, 1]
    df = concat("dataframe", [pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2]})])
    assert df.index.tolist() == [0, 1]
    with pytest.raises(ValueError):
        concat("catalog", [])


def test_dataframe_roundtrip(where):
    where("x.csv", _csv(400))
    src = CSVSource(f"{where.base}/x.csv", blocksize=500)
    n = src.npartitions
    calls = []
    out = f"{where.base}/out/copy"
    res = write(src, out, progress=lambda d, t: calls.append((d, t)))
    assert res["driver"] == "parquet"
    assert res["args"] == {"urlpath": out}
    assert res["npartitions"] == n
    assert calls == [(i + 1, n) for i in range(n)]
    fs, path = fsspec.core.url_to_fs(out)
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False))
    assert names == [f"part.{i:05d}.parquet" for i in range(n)]
    assert res["size"] == sum(fs.size(f"{path}/{nm}") for nm in names)
    copy = ParquetSource(**res["args"])
    assert copy.npartitions == n
    pd.testing.assert_frame_equal(copy.read(), src.read())
    pd.testing.assert_frame_equal(copy.read_partition(3), src.read_partition(3))


def test_dataframe_writer_kwargs_and_generic_path(where):
    # a source without read_partition_arrow goes through pandas
    where("x.csv", _csv(50))
    src = CSVSource(f"{where.base}/x.csv", csv_kwargs={"comment": "#"})
    res = write(src, f"{where.base}/o", compression="gzip")
    pd.testing.assert_frame_equal(ParquetSource(**res["args"]).read(), src.read())
    import pyarrow.parquet as pq

    with fsspec.open(f"{where.base}/o/part.00000.parquet", "rb") as f:
        assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "GZIP"


def test_ndarray_roundtrip(where):
    import io

    buf = io.BytesIO()
    arr = np.arange(1000, dtype="f4").reshape(250, 4)
    np.save(buf, arr)
    where("a.npy", buf.getvalue())
    src = NumpySource(f"{where.base}/a.npy", chunks=60)
    calls = []
    res = write(src, f"{where.base}/z", progress=lambda d, t: calls.append(d))
    assert res["driver"] == "ndzarr" and res["args"] == {"urlpath": f"{where.base}/z"}
    assert res["npartitions"] == 5 and calls == [1, 2, 3, 4, 5] and res["size"] > 0
    copy = ZarrArraySource(**res["args"])
    assert copy.discover()["shape"] == (250, 4)
    assert copy.partition_rows() == src.partition_rows()
    np.testing.assert_array_equal(copy.read(), arr)
    np.testing.assert_array_equal(copy.read_partition(4), arr[240:])


def test_ndarray_irregular_partitions(where):
    import io

    for name, n in (("a.npy", 7), ("b.npy", 13)):
        buf = io.BytesIO()
        np.save(buf, np.full((n, 2), n, dtype="i8"))
        where(name, buf.getvalue())
    src = NumpySource(f"{where.base}/*.npy")
    res = write(src, f"{where.base}/z", compressors=None)
    np.testing.assert_array_equal(ZarrArraySource(**res["args"]).read(), src.read())


@pytest.mark.parametrize("encoder", ["json", "str", "pickle"])
def test_python_roundtrip(where, encoder):
    where("a.txt", b"one\ntwo\n")
    where("b.txt", b"three\n")
    src = TextFilesSource(f"{where.base}/*.txt")
    calls = []
    res = write(src, f"{where.base}/j", encoder=encoder, progress=lambda d, t: calls.append(d))
    assert res["driver"] == "jsonl"
    assert res["args"]["urlpath"] == f"{where.base}/j"
    # the default encoder is left out of the entry; any other is recorded
    assert res["args"].get("encoder") == (None if encoder == "json" else encoder)
    assert res["npartitions"] == 2 and calls == [1, 2]
    copy = JSONLinesFileSource(**res["args"])
    assert copy.read() == ["one", "two", "three"]
    assert copy.npartitions == 2


def test_python_pickle_objects_and_str_refusal(where):
    where("x.jsonl", b'{"a": 1}\n')

    class Obj(JSONLinesFileSource):
        def _get_partition(self, i):
            return [{1, 2}, (3, 4)]

    src = Obj(f"{where.base}/x.jsonl")
    with pytest.raises(TypeError):
        write(src, f"{where.base}/j1")  # sets are not JSON
    res = write(src, f"{where.base}/j2", encoder="pickle")
    assert JSONLinesFileSource(**res["args"]).read() == [{1, 2}, (3, 4)]

    class Multi(JSONLinesFileSource):
        def _get_partition(self, i):
            return ["a\nb"]

    with pytest.raises(ValueError, match="line break"):
        write(Multi(f"{where.base}/x.jsonl"), f"{where.base}/j3", encoder="str")
    with pytest.raises(ValueError, match="encoder"):
        write(src, f"{where.base}/j4", encoder="yaml")


def test_storage_options_in_args(tmp_path):
    (tmp_path / "x.csv").write_bytes(_csv(10))
    so = {"path": str(tmp_path), "target_protocol": "file"}
    src = CSVSource("dir://x.csv", storage_options=so)
    res = write(src, "dir://out", storage_options=so)
    assert res["args"] == {"urlpath": "dir://out", "storage_options": so}
    assert (tmp_path / "out" / "part.00000.parquet").exists()
    pd.testing.assert_frame_equal(ParquetSource(**res["args"]).read(), src.read())


def test_csv_write_streams(tmp_path):
    """Many blocks: write() holds about one (two, with read-ahead) partitions at a time.
    The pandas parser (forced by ``decimal``) allocates through numpy, which tracemalloc
    sees; the pyarrow path is checked by the next test."""
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("a,b,c\n")
        for i in range(200_000):
            f.write(f"{i},{i * 0.5},text{i % 1000}\n")
    size = path.stat().st_size
    src = CSVSource(str(path), blocksize=size // 20 + 1, csv_kwargs={"decimal": "."})
    assert src.npartitions == 20
    src.discover()
    tracemalloc.start()
    try:
        res = write(src, str(tmp_path / "out"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = pd.read_csv(path)
    full_bytes = full.memory_usage(deep=True).sum()
    assert res["npartitions"] == 20
    assert len(os.listdir(tmp_path / "out")) == 20
    assert peak < full_bytes / 4, (peak, full_bytes)
    pd.testing.assert_frame_equal(ParquetSource(str(tmp_path / "out")).read(), full)


@pytest.mark.distributed
def test_distributed_write(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "d.csv"
    path.write_bytes(_csv(5000))
    src = CSVSource(str(path), blocksize=4000)
    n = src.npartitions
    assert n > 4
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker_pids = client.run(os.getpid)  # {worker address: pid}
        calls = []
        with distributed.get_task_stream(client) as stream:
            res = write(src, str(tmp_path / "out"), progress=lambda d, t: calls.append(d))
        assert calls == list(range(1, n + 1))
        # ndarray and python containers go through the workers too
        arr = np.arange(100 * 3).reshape(100, 3)
        np.save(tmp_path / "a.npy", arr)
        with distributed.get_task_stream(client) as stream2:
            zres = write(NumpySource(str(tmp_path / "a.npy"), chunks=30), str(tmp_path / "z"))
            (tmp_path / "t1.txt").write_text("a\nb\n")
            (tmp_path / "t2.txt").write_text("c\n")
            jres = write(TextFilesSource(str(tmp_path / "t*.txt")), str(tmp_path / "j"))
        keys = [str(t["key"]) for t in stream2.data]
        assert sum(k.startswith("intake-persist-write-") for k in keys) == 4 + 2
    np.testing.assert_array_equal(ZarrArraySource(**zres["args"]).read(), arr)
    assert JSONLinesFileSource(**jres["args"]).read() == ["a", "b", "c"]
    writes = [t for t in stream.data if str(t["key"]).startswith("intake-persist-write-")]
    assert len(writes) == n
    # every partition was read and written by a worker process, not by this one
    assert {t["worker"] for t in writes} <= set(worker_pids)
    assert os.getpid() not in set(worker_pids.values())
    assert res["npartitions"] == n
    got = ParquetSource(**res["args"]).read()
    pd.testing.assert_frame_equal(got, src.read())
    assert len(os.listdir(tmp_path / "out")) == n


_ARROW_PEAK = """
import sys
import pyarrow as pa
import pyarrow.csv as pc
from intake_persist.containers import write
from intake_persist.sources.csv import CSVSource

path, out, blocksize = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = CSVSource(path, blocksize=blocksize)
res = write(src, out)
peak = pa.default_memory_pool().max_memory()
print(res["npartitions"], peak, pc.read_csv(path).nbytes)
"""


def test_csv_write_arrow_memory_bounded(tmp_path):
    """Arrow's own allocations (invisible to tracemalloc) stay far below the table
    size: measured in a fresh process, whose memory pool peak is this write only."""
    import subprocess
    import sys

    path = tmp_path / "m.csv"
    with open(path, "w") as f:
        f.write("a,b,c\n")
        f.write("".join(f"{i},{i * 0.5},text{i % 1000}\n" for i in range(600_000)))
    blocksize = path.stat().st_size // 30 + 1
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run(
        [sys.executable, "-c", _ARROW_PEAK, str(path), str(tmp_path / "out"), str(blocksize)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")},
        check=True,
    )
    nparts, peak, full = map(int, proc.stdout.split())
    assert nparts == 30
    assert peak < full / 2, (peak, full)
