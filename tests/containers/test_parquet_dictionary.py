"""The dataframe writer dictionary-encodes only the columns with few distinct values
(a sample of each partition tells), unless the caller chose with ``use_dictionary``."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from intake_persist.containers import write
from intake_persist.containers.dataframe import DICTIONARY_SAMPLE, dictionary_columns
from intake_persist.sources.parquet import ParquetSource

N = 3 * DICTIONARY_SAMPLE


def _frame(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": np.arange(n),  # all distinct
        "code": [f"C{i:07d}" for i in rng.permutation(n)],  # all distinct
        "word": rng.choice(["alpha", "bravo", "charlie"], n),  # three values
        "level": rng.integers(0, 10, n),
        "half": np.arange(n) % (DICTIONARY_SAMPLE // 2),  # exactly one per two rows
        "cat": pd.Categorical(rng.choice(["x", "y"], n)),
    })


class _Frames:
    """A two-partition dataframe source built from pandas frames."""

    container = "dataframe"
    npartitions = 2

    def __init__(self, df: pd.DataFrame):
        self.parts = [df.iloc[: len(df) // 2], df.iloc[len(df) // 2:]]

    def read_partition(self, i: int) -> pd.DataFrame:
        return self.parts[i]


def _dictionary_encoded(path: str) -> dict[str, bool]:
    md = pq.ParquetFile(path).metadata
    rg = md.row_group(0)
    return {rg.column(j).path_in_schema: rg.column(j).has_dictionary_page
            for j in range(md.num_columns)}


def test_columns_with_few_distinct_values_are_chosen():
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    assert dictionary_columns(table) == ["word", "level", "half", "cat"]


def test_small_nested_or_ambiguous_tables_keep_pyarrow_default():
    assert dictionary_columns(pa.Table.from_pandas(_frame(DICTIONARY_SAMPLE - 1))) is True
    nested = pa.table({"a": pa.array([[i] for i in range(N)]), "b": np.arange(N)})
    assert dictionary_columns(nested) is True
    twice = pa.Table.from_arrays([pa.array(np.arange(N)), pa.array(np.arange(N) % 2)],
                                 names=["x", "x"])
    assert dictionary_columns(twice) is True


def test_written_files_use_the_choice_and_read_back_equal(tmp_path):
    df = _frame()
    info = write(_Frames(df), str(tmp_path / "out"))
    for i in range(2):
        enc = _dictionary_encoded(str(tmp_path / "out" / f"part.0000{i}.parquet"))
        assert not enc["id"] and not enc["code"], enc
        assert enc["word"] and enc["level"] and enc["half"] and enc["cat"], enc
    back = ParquetSource(info["args"]["urlpath"]).read()
    pd.testing.assert_frame_equal(back, df)


@pytest.mark.parametrize("choice", [True, False, ["code"]])
def test_the_callers_use_dictionary_wins(tmp_path, choice):
    write(_Frames(_frame()), str(tmp_path / "out"), use_dictionary=choice)
    enc = _dictionary_encoded(str(tmp_path / "out" / "part.00000.parquet"))
    if choice is True:
        assert enc["id"] and enc["code"] and enc["word"], enc
    elif choice is False:
        assert not any(v for k, v in enc.items() if k != "cat"), enc
    else:
        assert enc["code"] and not enc["word"] and not enc["level"], enc
