"""The shared path helpers of intake_persist._io: one glob test and one join for
catalogs, drivers, containers and export."""

from __future__ import annotations

import os

import pytest

from intake_persist._io import has_glob, join


@pytest.mark.parametrize(
    "url, expected",
    [
        ("data/*.csv", True),
        ("data/file?.csv", True),
        ("data/[ab].csv", True),
        ("s3://bucket/part-?.parquet", True),
        ("data/plain.csv", False),
        ("s3://bucket/plain.csv", False),
        # in an http(s) URL a '?' starts the query string
        ("https://host/data.csv?version=2", False),
        ("http://host/cat.yaml?x=1", False),
        ("https://host/files/*.csv", True),
    ],
)
def test_has_glob(url, expected):
    assert has_glob(url) is expected


def test_join():
    assert join("s3://bucket/dir/", "/sub/", "file.csv") == "s3://bucket/dir/sub/file.csv"
    assert join("memory://root", "cat.yaml") == "memory://root/cat.yaml"
    assert join("/tmp/store", "a", "b.yaml") == os.path.join("/tmp/store", "a", "b.yaml")
