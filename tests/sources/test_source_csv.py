import gzip
import io
import pickle

import fsspec
import pandas as pd
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from intake_persist.sources.csv import CSVSource, parse_bytes


def _csv(n, start=0):
    lines = ["a,b,c"]
    for i in range(start, start + n):
        lines.append(f"{i},name{i},2020-01-{i % 28 + 1:02d}")
    return ("\n".join(lines) + "\n").encode()


def test_read_blocks(where):
    where("x.csv", _csv(500))
    src = CSVSource(f"{where.base}/x.csv", blocksize=1000)
    info = src.discover()
    assert info["dtype"] == {"a": "int64", "b": "str", "c": "str"}
    assert info["npartitions"] > 5
    df = src.read()
    assert list(df.a) == list(range(500))
    parts = list(src.read_chunked())
    assert len(parts) == info["npartitions"]
    assert sum(len(p) for p in parts) == 500
    assert all(list(p.columns) == ["a", "b", "c"] for p in parts)
    pd.testing.assert_frame_equal(src.read_partition(2), parts[2])
    dd = src.to_dask()
    assert dd.npartitions == info["npartitions"]
    got = dd.compute(scheduler="threads").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, df, check_dtype=False)
    with pytest.raises(IndexError):
        src.read_partition(info["npartitions"])
    src.close()
    assert src.read().shape == (500, 3)


def test_blocks_match_pandas(where):
    where("x.csv", _csv(1000))
    expected = pd.read_csv(io.BytesIO(_csv(1000)))
    for bs in (777, 4096, None):
        got = CSVSource(f"{where.base}/x.csv", blocksize=bs).read()
        pd.testing.assert_frame_equal(got, expected)


def test_glob_list_and_kwargs(where):
    where("p1.csv", _csv(10))
    where("p2.csv", _csv(10, 10))
    src = CSVSource(
        f"{where.base}/p*.csv",
        csv_kwargs={"usecols": ["a", "c"], "parse_dates": ["c"], "dtype": {"a": "float64"}},
    )
    df = src.read()
    assert list(df.columns) == ["a", "c"]
    assert df.a.dtype == "float64"
    assert str(df.c.dtype).startswith("datetime64")
    assert src.npartitions == 2
    lst = CSVSource([f"{where.base}/p2.csv", f"{where.base}/p1.csv"], blocksize=None)
    assert list(lst.read().a) == list(range(10, 20)) + list(range(10))


def test_pandas_fallback(where):
    data = b"# comment\na;b\n1;x\n2;y\n"
    where("c.csv", data)
    src = CSVSource(f"{where.base}/c.csv", csv_kwargs={"sep": ";", "comment": "#"})
    df = src.read()
    assert list(df.a) == [1, 2] and list(df.b) == ["x", "y"]
    # header=None without names: pandas numbers the columns (pandas C engine)
    where("n.csv", b"1,2\n3,4\n" * 50)
    src = CSVSource(f"{where.base}/n.csv", csv_kwargs={"header": None}, blocksize=64)
    df = src.read()
    assert list(df.columns) == [0, 1] and len(df) == 100
    assert sum(src.read_partition_arrow(i).num_rows for i in range(src.npartitions)) == 100
    assert src.npartitions == 7  # 400 bytes in blocks of 64


def test_names_and_skiprows(where):
    where("s.csv", b"junk\nA,B\n1,2\n3,4\n5,6\n")
    src = CSVSource(f"{where.base}/s.csv", csv_kwargs={"skiprows": 1}, blocksize=12)
    assert src.read().to_dict("list") == {"A": [1, 3, 5], "B": [2, 4, 6]}
    src = CSVSource(
        f"{where.base}/s.csv",
        csv_kwargs={"skiprows": 1, "header": 0, "names": ["x", "y"]},
        blocksize=12,
    )
    assert src.read().to_dict("list") == {"x": [1, 3, 5], "y": [2, 4, 6]}


def test_compressed_file_is_one_partition(where):
    where("z.csv.gz", gzip.compress(_csv(100)))
    src = CSVSource(f"{where.base}/z.csv.gz", blocksize=100)
    assert src.npartitions == 1
    assert len(src.read()) == 100


def test_path_as_pattern(where):
    where("t_2020_20200105.csv", b"v\n1\n2\n")
    where("t_2021_20210302.csv", b"v\n3\n")
    src = CSVSource(where.base + "/t_{year:d}_{day:%Y%m%d}.csv")
    df = src.read()
    assert list(df.year) == [2020, 2020, 2021]
    assert list(df.day) == [pd.Timestamp("2020-01-05")] * 2 + [pd.Timestamp("2021-03-02")]
    assert src.discover()["dtype"]["year"] == "int64"
    src = CSVSource(where.base + "/t_{year}_{day}.csv", blocksize=3)
    df = src.read()
    assert list(df.year) == ["2020", "2020", "2021"] and list(df.v) == [1, 2, 3]
    # disabled: the braces are literal
    with pytest.raises(FileNotFoundError):
        CSVSource(where.base + "/t_{year}_{day}.csv", path_as_pattern=False).read()


def test_storage_options_passed(memfs, tmp_path):
    (tmp_path / "x.csv").write_bytes(_csv(5))
    # fsspec's "dir" filesystem takes its root from storage_options
    src = CSVSource(
        "dir://x.csv", storage_options={"path": str(tmp_path), "target_protocol": "file"}
    )
    assert len(src.read()) == 5


def test_pickle_and_token(where):
    where("x.csv", _csv(50))
    src = CSVSource(f"{where.base}/x.csv", blocksize=200)
    src.discover()
    clone = pickle.loads(pickle.dumps(src))
    assert clone.token == src.token
    pd.testing.assert_frame_equal(clone.read(), src.read())
    assert CSVSource(f"{where.base}/x.csv", blocksize=200, metadata={"a": 1}).token == src.token


class CountingFS(MemoryFileSystem):
    """A real fsspec filesystem (in memory) that counts the bytes its files hand out."""

    protocol = "countmem"
    root_marker = "/"
    bytes_read = 0

    @classmethod
    def _strip_protocol(cls, path):
        if path.startswith("countmem://"):
            path = path[len("countmem://") :]
        return super()._strip_protocol(path)

    def _open(self, path, mode="rb", **kwargs):
        f = super()._open(path, mode, **kwargs)
        if "r" in mode:
            fs = self

            class Counting(type(f)):
                def read(self, *args):
                    out = super().read(*args)
                    type(fs).bytes_read += len(out)
                    return out

            f.__class__ = Counting
        return f


def test_discover_reads_only_head(memfs):
    fsspec.register_implementation("countmem", CountingFS, clobber=True)
    data = _csv(200_000)
    with fsspec.open("memory://big.csv", "wb") as f:
        f.write(data)
    CountingFS.bytes_read = 0
    src = CSVSource("countmem://big.csv", blocksize=10**6)
    src.discover()
    assert 0 < CountingFS.bytes_read < 1_000_000 < len(data)
    assert src.npartitions == -(-len(data) // 10**6)


def test_parse_bytes():
    assert parse_bytes("64MiB") == 64 * 2**20
    assert parse_bytes("1 kB") == 1024
    assert parse_bytes(10) == 10 and parse_bytes(None) is None


def test_block_types_follow_the_head(where):
    # column d: ints, then a block with no values, then floats; column e looks like dates
    rows = [f"{i},{i},2020-01-01" for i in range(200)]
    rows += [f"{i},,2020-01-02" for i in range(200, 400)]
    rows += [f"{i},{i}.5,2020-01-03" for i in range(400, 600)]
    data = ("a,d,e\n" + "\n".join(rows) + "\n").encode()
    where("t.csv", data)
    src = CSVSource(f"{where.base}/t.csv", blocksize=500)
    assert src.npartitions > 10
    expected = pd.read_csv(io.BytesIO(data))
    got = src.read()
    pd.testing.assert_frame_equal(got, expected)
    assert src.discover()["dtype"]["e"] == "str"  # not parsed unless parse_dates says so
    # every block, the all-empty ones included, gets the types of the head
    schemas = {str(t.schema) for t in map(src.read_partition_arrow, range(src.npartitions))}
    assert len(schemas) == 1


def test_comment_lines_with_blocks(where):
    data = b"# a comment\n# another\nx,y\n" + b"".join(
        f"{i},{i * 2}\n".encode() + (b"# note\n" if i % 7 == 0 else b"") for i in range(300)
    )
    where("c.csv", data)
    src = CSVSource(f"{where.base}/c.csv", csv_kwargs={"comment": "#"}, blocksize=256)
    assert src.npartitions > 5
    pd.testing.assert_frame_equal(src.read(), pd.read_csv(io.BytesIO(data), comment="#"))
