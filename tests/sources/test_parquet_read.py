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
