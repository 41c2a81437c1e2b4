"""Reading real data through catalogs (csv driver), local and memory://."""

import pytest

from intake_persist import open_catalog

CAT = """
sources:
  trips:
    driver: csv
    args:
      urlpath: '{{ CATALOG_DIR }}/data/trips_{{ year }}.csv'
      csv_kwargs: {parse_dates: [pickup]}
    parameters:
      year: {type: int, default: 2020, allowed: [2020, 2021]}
"""


def _data(root):
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "trips_2020.csv").write_text("pickup,n\n2020-01-01,1\n2020-02-01,2\n")
    (root / "data" / "trips_2021.csv").write_text("pickup,n\n2021-01-01,3\n")


@pytest.mark.parametrize("mode", ["never", "default"])
def test_read_local(write_cat, tmp_path, mode):
    _data(tmp_path)
    cat = open_catalog(write_cat(CAT), persist_mode=mode)
    df = cat.trips.read()
    assert list(df.n) == [1, 2]
    assert str(df.pickup.dtype).startswith("datetime64")
    assert list(cat.trips(year="2021").read().n) == [3]
    assert cat.trips.discover()["npartitions"] == 1  # a 50-byte file: one block


def test_read_memory_catalog_and_data():
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/ipread/cat.yaml", CAT.encode())
    fs.pipe("/ipread/data/trips_2020.csv", b"pickup,n\n2020-01-01,1\n")
    try:
        cat = open_catalog("memory://ipread/cat.yaml", persist_mode="never")
        src = cat.trips
        # a remote CATALOG_DIR is the parent URL as the filesystem gives it (intake 0.7.0)
        assert src.token_args["urlpath"] == "memory:///ipread/data/trips_2020.csv"
        assert list(src.read().n) == [1]
    finally:
        fs.rm("/ipread", recursive=True)
