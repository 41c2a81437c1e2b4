"""Persisting and exporting through ``cat.name`` act on the entry's original."""

from __future__ import annotations

import pandas as pd
import yaml

from intake_persist import PersistStore, open_catalog


def _catalog(tmp_path):
    pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).to_csv(tmp_path / "t.csv", index=False)
    path = tmp_path / "cat.yaml"
    path.write_text(
        "sources:\n"
        "  t:\n"
        "    driver: csv\n"
        "    args: {urlpath: '{{ CATALOG_DIR }}/t.csv'}\n"
    )
    return path


def test_persist_twice_through_attribute_refreshes_the_copy(tmp_path):
    cat = open_catalog(str(_catalog(tmp_path)))
    first = cat.t.persist()
    assert cat.t.has_been_persisted
    assert cat.t.is_persisted  # default mode hands back the fresh copy
    second = cat.t.persist()  # the original is persisted again, not the copy
    assert second.is_persisted
    assert second.metadata["original_tok"] == first.metadata["original_tok"]
    assert second.metadata["version"] != first.metadata["version"]
    pd.testing.assert_frame_equal(second.read(), cat.t(persist_mode="never").read())


def test_persist_into_an_explicit_empty_store(tmp_path):
    store = PersistStore(str(tmp_path / "own-store"))
    assert len(store) == 0
    cat = open_catalog(str(_catalog(tmp_path)))
    cat.t.persist(store=store)
    assert len(store) == 1
    assert cat.t(persist_mode="never").token in store


def test_export_leaves_credentials_out_of_the_yaml(tmp_path):
    cat = open_catalog(str(_catalog(tmp_path)))
    text = cat.t.export(
        str(tmp_path / "out"),
        storage_options={"secret": "S3CR3T-VALUE", "key": "AKIA-KEY", "auto_mkdir": True},
    )
    assert "S3CR3T-VALUE" not in text and "AKIA-KEY" not in text
    entry = next(iter(yaml.safe_load(text)["sources"].values()))
    assert entry["args"]["storage_options"] == {"auto_mkdir": True}
