"""Catalogs stored on S3 (moto's server) whose entries read data from the same bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.s3

CATALOGS = Path(__file__).resolve().parents[2] / "catalogs"  # also tests/conftest.py


@pytest.fixture
def s3_catalogs(s3_bucket, s3_fs):
    """The example catalogs and their data uploaded to ``<bucket>/cats/``; yields the prefix."""
    prefix = f"{s3_bucket}/cats"
    files = {
        f"{prefix}/{path.relative_to(CATALOGS).as_posix()}": path.read_bytes()
        for path in sorted(CATALOGS.rglob("*"))
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
    }
    s3_fs.pipe(files)
    s3_fs.invalidate_cache()
    return prefix


def test_open_catalog_from_s3_reads_csv_and_parquet(s3_catalogs):
    import pandas as pd

    from intake_persist import open_catalog

    cat = open_catalog(f"{s3_catalogs}/example.yaml")
    assert {"trips", "stations", "reference"} <= set(cat)

    trips = cat.trips
    # CATALOG_DIR is the catalog's S3 prefix
    assert trips.urlpath == f"{s3_catalogs}/data/trips_2020.csv"
    df = trips.read()
    local = pd.read_csv(CATALOGS / "data" / "trips_2020.csv", parse_dates=["pickup"])
    pd.testing.assert_frame_equal(df.reset_index(drop=True), local, check_dtype=False)

    df21 = cat.trips(year=2021).read()
    assert len(df21) == 40 and (df21.pickup.dt.year == 2021).all()

    stations = cat.stations.read()
    expected = pd.read_parquet(CATALOGS / "data" / "stations.parquet")
    pd.testing.assert_frame_equal(stations.reset_index(drop=True), expected, check_dtype=False)


def test_catalog_dir_of_nested_s3_catalog(s3_catalogs):
    from intake_persist import open_catalog

    cat = open_catalog(f"{s3_catalogs}/example.yaml")
    boroughs = cat.reference.boroughs
    assert boroughs.urlpath == f"{s3_catalogs}/data/boroughs.csv"
    assert list(boroughs.read().borough) == ["Bronx", "Brooklyn", "Manhattan", "Queens"]


def test_describe_keeps_template_for_s3_catalog(s3_catalogs):
    from intake_persist import open_catalog

    cat = open_catalog(f"{s3_catalogs}/example.yaml")
    d = cat.trips.describe()
    assert d["args"]["urlpath"] == "{{ CATALOG_DIR }}/data/trips_{{ year }}.csv"
    assert [p["name"] for p in d["user_parameters"]] == ["year"]


def test_s3_catalog_other_containers(s3_catalogs):
    import numpy as np

    from intake_persist import open_catalog

    cat = open_catalog(f"{s3_catalogs}/example.yaml")
    np.testing.assert_array_equal(cat.grid.read(), np.load(CATALOGS / "data" / "grid.npy"))
    assert len(cat.events.read()) == 12
    assert cat.temperature.read().shape == (48, 4)
    assert sum(len(p) for p in cat.notes.read_chunked()) == 5


def test_s3_glob_of_catalogs(s3_catalogs):
    from intake_persist import open_catalog

    cat = open_catalog(f"{s3_catalogs}/*.yaml")
    assert "boroughs" in cat and "trips" in cat
