"""The driver registry both ways for recorded entries: the name a source's driver is
recorded under (source_driver_name) and the source a record describes (make_source)."""

from __future__ import annotations

import pytest

from intake_persist import DataSource
from intake_persist.errors import UnknownDriverError
from intake_persist.sources import registry
from intake_persist.sources.csv import CSVSource


class _Unregistered(DataSource):
    container = "python"
    name = "csv"  # a registered name that maps to another class


class _Dotted(DataSource):
    container = "python"
    name = "storesplit_dotted_test"

    def __init__(self, a, b=2, metadata=None):
        super().__init__(metadata=metadata)
        self.a, self.b = a, b


def test_source_driver_name_short_only_when_it_maps_back(monkeypatch):
    assert registry.source_driver_name(CSVSource("x.csv")) == "csv"
    path = f"{__name__}._Unregistered"
    assert registry.source_driver_name(_Unregistered()) == path
    # registered under its name, as a dotted path or as the class: the short name
    monkeypatch.setitem(registry._registry, "storesplit_dotted_test", f"{__name__}._Dotted")
    assert registry.source_driver_name(_Dotted(1)) == "storesplit_dotted_test"
    monkeypatch.setitem(registry._registry, "storesplit_dotted_test", _Dotted)
    assert registry.source_driver_name(_Dotted(1)) == "storesplit_dotted_test"
    monkeypatch.delitem(registry._registry, "storesplit_dotted_test")
    assert registry.source_driver_name(_Dotted(1)) == f"{__name__}._Dotted"


def test_make_source_from_a_record():
    md = {"deep": {"list": [1]}}
    src = registry.make_source(f"{__name__}._Dotted", {"__args__": [5], "b": 7}, md,
                               "described")
    assert type(src) is _Dotted and (src.a, src.b) == (5, 7)
    assert src.description == "described" and src.metadata == md
    assert src.metadata["deep"] is not md["deep"]  # a copy: the record is not shared
    plain = registry.make_source("csv", {"urlpath": "x.csv"})
    assert type(plain) is CSVSource and plain.metadata == {} and not plain.description
    # an array copy recorded as "zarr" by older versions reads with ndzarr
    old = registry.make_source("zarr", {"urlpath": "a.zarr"}, container="ndarray")
    assert type(old).name == "ndzarr"
    with pytest.raises(UnknownDriverError, match="nope"):
        registry.make_source("nope", {})
