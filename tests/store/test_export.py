"""export: a copy anywhere, a one-entry catalog that reads it, the store untouched."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import yaml
from store_helpers import (
    ItemsSource,
    array_source,
    csv_source,
    jsonl_source,
    open_exported,
    write_csv,
    write_jsonl,
)


def _store_untouched():
    path = os.environ["INTAKE_PERSIST_PATH"]
    assert not os.path.exists(path) or os.listdir(path) == []


def test_export_dataframe(tmp_path):
    df = write_csv(str(tmp_path / "t.csv"), rows=120)
    src = csv_source(str(tmp_path / "t.csv"), blocksize=600, name="tbl")
    src.metadata["owner"] = "team"
    text = src.export(str(tmp_path / "out"))
    doc = yaml.safe_load(text)
    entry = doc["sources"]["tbl"]
    assert entry["driver"] == "parquet"
    assert entry["args"]["urlpath"] == str(tmp_path / "out")
    orig = entry["metadata"]["original_source"]
    assert orig["driver"] == "csv" and orig["args"]["urlpath"] == str(tmp_path / "t.csv")
    assert entry["metadata"]["original_metadata"] == {"owner": "team"}
    copy = open_exported(tmp_path, text)
    pd.testing.assert_frame_equal(copy.read().reset_index(drop=True), df)
    _store_untouched()


def test_export_relative_path_is_made_absolute(tmp_path, monkeypatch):
    write_csv(str(tmp_path / "t.csv"))
    monkeypatch.chdir(tmp_path)
    text = csv_source(str(tmp_path / "t.csv")).export("rel/out")
    assert yaml.safe_load(text)["sources"]["table"]["args"]["urlpath"] == str(tmp_path / "rel/out")


def test_export_python(tmp_path):
    items = write_jsonl(str(tmp_path / "r.jsonl"))
    text = jsonl_source(str(tmp_path / "r.jsonl")).export(str(tmp_path / "out"))
    assert open_exported(tmp_path, text).read() == items
    gen = ItemsSource()
    text = gen.export(str(tmp_path / "out2"))
    assert open_exported(tmp_path, text).read() == gen.read()
    _store_untouched()


def test_export_ndarray(tmp_path):
    src, arr = array_source(str(tmp_path))
    text = src.export(str(tmp_path / "out"))
    np.testing.assert_array_equal(open_exported(tmp_path, text).read(), arr)
    _store_untouched()


def test_export_to_memory_url(tmp_path):
    df = write_csv(str(tmp_path / "t.csv"), rows=50)
    text = csv_source(str(tmp_path / "t.csv")).export("memory://exports/t")
    assert "memory://exports/t" in text
    pd.testing.assert_frame_equal(open_exported(tmp_path, text).read().reset_index(drop=True), df)


def test_export_needs_a_path(tmp_path):
    write_csv(str(tmp_path / "t.csv"))
    with pytest.raises(ValueError, match="path"):
        csv_source(str(tmp_path / "t.csv")).export("")
