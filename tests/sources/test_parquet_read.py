"""ParquetSource.read() joins partitions as Arrow tables: the result must be what
joining the pandas partitions gives, index included."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from intake_persist.sources.parquet import ParquetSource


def _write(folder, frames, preserve_index=None):
    folder.mkdir()
    for i, df in enumerate(frames):
        table = pa.Table.from_pandas(df, preserve_index=preserve_index)
        pq.write_table(table, folder / f"part.{i:05d}.parquet")
    return str(folder)


def test_range_indexed_parts_are_renumbered(tmp_path):
    parts = [pd.DataFrame({"x": [1, 2, 3]}), pd.DataFrame({"x": [4, 5]}, index=range(3, 5))]
    src = ParquetSource(_write(tmp_path / "d", parts))
    df = src.read()
    pd.testing.assert_frame_equal(df, pd.DataFrame({"x": [1, 2, 3, 4, 5]}))
    assert isinstance(df.index, pd.RangeIndex)


def test_unindexed_parts_are_numbered_from_zero(tmp_path):
    parts = [pd.DataFrame({"x": [1.5, 2.5]}), pd.DataFrame({"x": [3.5]})]
    df = ParquetSource(_write(tmp_path / "d", parts, preserve_index=False)).read()
    assert list(df.index) == [0, 1, 2]
    assert list(df.x) == [1.5, 2.5, 3.5]


def test_stored_index_is_kept(tmp_path):
    parts = [pd.DataFrame({"x": [1, 2]}, index=pd.Index([10, 20], name="k")),
             pd.DataFrame({"x": [3]}, index=pd.Index([5], name="k"))]
    df = ParquetSource(_write(tmp_path / "d", parts)).read()
    assert df.index.name == "k"
    assert list(df.index) == [10, 20, 5]
    assert list(df.x) == [1, 2, 3]


def test_parts_with_different_types_fall_back_to_pandas(tmp_path):
    parts = [pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [0.5]})]
    df = ParquetSource(_write(tmp_path / "d", parts)).read()
    assert list(df.x) == [1.0, 2.0, 0.5]
    assert list(df.index) == [0, 1, 2]


def test_hive_columns_and_column_subset(tmp_path):
    for year, vals in (("2020", [1, 2]), ("2021", [3])):
        d = tmp_path / "h" / f"year={year}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"x": vals, "y": [0] * len(vals)}), d / "part.parquet")
    df = ParquetSource(str(tmp_path / "h"), columns=["x", "year"]).read()
    assert list(df.columns) == ["x", "year"]
    assert list(df.year) == ["2020", "2020", "2021"]
    assert list(df.x) == [1, 2, 3]


def test_npartitions_opens_no_file(tmp_path):
    folder = _write(tmp_path / "d", [pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [2]})])
    (tmp_path / "d" / "part.00001.parquet").write_bytes(b"not parquet")
    src = ParquetSource(folder)
    assert src.npartitions == 2
    with pytest.raises(pa.ArrowInvalid):
        src.read()


def test_range_index_renumbered_when_other_parts_are_empty(tmp_path):
    parts = [pd.DataFrame({"x": [1, 2, 3]}, index=range(5, 8)),
             pd.DataFrame({"x": pd.Series([], dtype="int64")})]
    df = ParquetSource(_write(tmp_path / "d", parts)).read()
    assert list(df.index) == [0, 1, 2]


def test_folder_without_parquet_files_is_named(tmp_path):
    (tmp_path / "d" / ".hidden").mkdir(parents=True)
    (tmp_path / "d" / ".hidden" / "part.00000.parquet").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no Parquet files under") as err:
        ParquetSource(str(tmp_path / "d")).read()
    assert str(tmp_path / "d") in str(err.value)


def _tree(root):
    """Parquet files at two depths, hidden and ``_`` ones, other suffixes."""
    for rel in ("b/part.00001.parquet", "a.parquet", "b/c/x.pq", "notes.txt", "_meta.parquet",
                ".hid/part.parquet", "b/_tmp/y.parq", "z.parq"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def test_local_listing_is_what_fsspec_lists(tmp_path):
    from intake_persist.sources._files import expand_paths, local_files

    root = str(_tree(tmp_path / "d"))
    suffixes = (".parquet", ".parq", ".pq")
    mine = local_files(root, None, suffixes)
    _fs, theirs = expand_paths(root, None, dir_suffixes=suffixes)
    assert mine == theirs
    assert [p[len(root) + 1:] for p in mine] == ["a.parquet", "b/c/x.pq", "b/part.00001.parquet",
                                                 "z.parq"]
    one = str(tmp_path / "d" / "a.parquet")
    assert local_files(f"file://{one}", {}, suffixes) == [one]


def test_remote_globbed_or_optioned_paths_are_left_to_fsspec(tmp_path):
    from intake_persist.sources._files import local_files

    suffixes = (".parquet",)
    assert local_files("memory://d", None, suffixes) is None
    assert local_files(str(tmp_path / "*.parquet"), None, suffixes) is None
    assert local_files(str(tmp_path), {"auto_mkdir": True}, suffixes) is None
    assert local_files([str(tmp_path), "s3://b/k"], None, suffixes) is None


def test_reading_a_local_copy_imports_no_fsspec(tmp_path):
    import subprocess
    import sys

    folder = _write(tmp_path / "d", [pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]})])
    code = ("import sys\nfrom intake_persist.sources.parquet import ParquetSource\n"
            f"df = ParquetSource({folder!r}).read()\n"
            "assert list(df.x) == [1, 2, 3], df\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fsspec'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---- a local multi-file copy is read as one pyarrow dataset ---------------------------


def _by_hand(folder, columns=None):
    """What joining the files one by one gives, with pyarrow and pandas alone."""
    import pathlib

    frames = []
    for f in sorted(pathlib.Path(folder).glob("*.parquet")):
        names = pq.read_schema(f).names
        cols = None if columns is None else [c for c in columns if c in names]
        frames.append(pq.read_table(f, columns=cols, use_pandas_metadata=True).to_pandas())
    return pd.concat(frames)


def _rich(n, start):
    return pd.DataFrame(
        {"i": range(start, start + n), "f": [0.5 * j for j in range(n)],
         "s": [f"s{start + j}" for j in range(n)],
         "c": pd.Categorical(["a", "b", "a", "b", "a"][:n], categories=["a", "b", "z"]),
         "t": pd.date_range("2021-03-01", periods=n, freq="h", tz="Europe/Paris"),
         "n": pd.array([1, None, 3, None, 5][:n], dtype="Int64")},
        index=pd.Index([10 * (start + j) for j in range(n)], name="k"))


@pytest.mark.parametrize("columns", [None, ["s", "i"], ["c", "missing"], []])
def test_multi_file_copy_read_in_one_go_equals_file_by_file(tmp_path, columns):
    folder = _write(tmp_path / "d", [_rich(5, 0), _rich(3, 5), _rich(4, 8)])
    src = ParquetSource(folder, columns=columns)
    assert src._read_together() is not None
    df = src.read()
    pd.testing.assert_frame_equal(df, _by_hand(folder, columns))
    assert df.index.name == "k" and list(df.index[:6]) == [0, 10, 20, 30, 40, 50]
    if columns is None:
        assert df.c.dtype == pd.CategoricalDtype(["a", "b", "z"])
        assert str(df.t.dtype).endswith("Europe/Paris]") and df.n.dtype == "Int64"


def test_many_files_keep_their_order(tmp_path):
    parts = [pd.DataFrame({"x": [i, i]}) for i in range(12)]
    src = ParquetSource(_write(tmp_path / "d", parts, preserve_index=False))
    assert src._read_together() is not None
    df = src.read()
    assert list(df.x) == [i // 2 for i in range(24)]
    assert isinstance(df.index, pd.RangeIndex) and list(df.index) == list(range(24))


def test_local_glob_is_read_in_one_go(tmp_path):
    folder = _write(tmp_path / "d", [_rich(2, 0), _rich(2, 2)])
    src = ParquetSource(folder + "/*.parquet")
    assert src._read_together() is not None
    pd.testing.assert_frame_equal(src.read(), _by_hand(folder))


def test_one_file_keeps_its_range_index(tmp_path):
    folder = _write(tmp_path / "d", [pd.DataFrame({"x": [1, 2, 3]}, index=range(5, 8))])
    src = ParquetSource(folder)
    assert src._read_together() is None
    assert list(src.read().index) == [5, 6, 7]


def test_index_asked_as_a_column_is_read_file_by_file(tmp_path):
    folder = _write(tmp_path / "d", [_rich(2, 0), _rich(3, 2)])
    for columns in (["k", "i"], ["i", "i"]):
        src = ParquetSource(folder, columns=columns)
        assert src._read_together() is None
        pd.testing.assert_frame_equal(src.read(), _by_hand(folder, ["i"]))


def test_same_columns_with_another_index_are_read_file_by_file(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    indexed = pd.DataFrame({"x": [1, 2]}, index=pd.Index([7, 8], name="k"))
    pq.write_table(pa.Table.from_pandas(indexed), folder / "part.00000.parquet")
    plain = pd.DataFrame({"x": [3], "k": [9]})
    pq.write_table(pa.Table.from_pandas(plain, preserve_index=False),
                   folder / "part.00001.parquet")
    src = ParquetSource(str(folder))
    assert src._read_together() is None
    df = src.read()
    pd.testing.assert_frame_equal(df, _by_hand(folder))
    assert list(df.index) == [7, 8, 0]


def test_repeated_column_names_are_read_file_by_file(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for i in range(2):
        table = pa.Table.from_arrays([pa.array([i]), pa.array([i + 10])], names=["x", "x"])
        pq.write_table(table, folder / f"part.{i:05d}.parquet")
    src = ParquetSource(str(folder))
    assert src._read_together() is None
    df = src.read()
    assert list(df.columns) == ["x", "x"]
    assert df.values.tolist() == [[0, 10], [1, 11]]


def test_missing_index_column_fails_as_file_by_file(tmp_path):
    import json

    folder = tmp_path / "d"
    folder.mkdir()
    md = {b"pandas": json.dumps({"index_columns": ["k"], "columns": []}).encode()}
    for i in range(2):
        pq.write_table(pa.table({"x": [i]}).replace_schema_metadata(md),
                       folder / f"part.{i:05d}.parquet")
    src = ParquetSource(str(folder), columns=["x"])
    assert src._read_together() is None
    with pytest.raises(KeyError):
        src.read()


def test_filters_and_reader_options_are_applied_file_by_file(tmp_path):
    folder = _write(tmp_path / "d", [_rich(5, 0), _rich(3, 5)])
    src = ParquetSource(folder, filters=[("i", ">", 3)])
    assert src._read_together() is None
    assert list(src.read().i) == [4, 5, 6, 7]
    with pytest.raises(TypeError, match="bogus"):
        ParquetSource(folder, bogus=1).read()
    rows = ParquetSource(folder, split_row_groups=True)
    assert rows._read_together() is None
    pd.testing.assert_frame_equal(rows.read(), _by_hand(folder))
