import datetime as dt

import pytest

from intake_persist import open_catalog
from intake_persist.catalog.entry import CatalogEntry
from intake_persist.catalog.errors import ParameterError, PersistModeError, ValidationError

CAT = """
metadata: {version: 1}
sources:
  trips:
    description: NYC taxi trips for one year
    driver: csv
    args:
      urlpath: '{{ CATALOG_DIR }}/trips_{{ year }}.csv'
      csv_kwargs: {parse_dates: [pickup]}
      storage_options: {anon: true}
    parameters:
      year: {description: which year, type: int, default: 2020, min: 2009, max: 2030}
    metadata: {owner: data-team}
  echo:
    description: echoes
    driver: echo
    args:
      value: '{{ n }}'
      other: 'm{{ "%02d" % month }}-{{ day.strftime("%Y%m%d") }}-{{ user }}'
    parameters:
      n: {type: int, default: 1, allowed: [1, 2, 3]}
      month: {type: int, default: 3}
      day: {type: datetime, default: 2021-03-04}
      user: {type: str, default: 'env(IP_TEST_USER)'}
      tags: {type: mlist, allowed: [a, b, c], default: [a]}
"""


@pytest.fixture
def cat(write_cat, monkeypatch):
    monkeypatch.setenv("IP_TEST_USER", "ann")
    return open_catalog(write_cat(CAT), persist_mode="never")


def test_describe_without_reading(cat):
    d = cat.trips.describe()
    assert d == {
        "name": "trips",
        "description": "NYC taxi trips for one year",
        "driver": "csv",
        "direct_access": "forbid",
        "container": "dataframe",
        "args": {
            "urlpath": "{{ CATALOG_DIR }}/trips_{{ year }}.csv",
            "csv_kwargs": {"parse_dates": ["pickup"]},
            "storage_options": {"anon": True},
        },
        "metadata": {"owner": "data-team"},
        "user_parameters": [
            {
                "name": "year",
                "description": "which year",
                "type": "int",
                "default": 2020,
                "min": 2009,
                "max": 2030,
                "allowed": None,
            }
        ],
    }
    assert cat["trips"].describe() == d
    assert cat.get_entry("trips").describe() == d


def test_source_from_entry(cat, tmp_path):
    src = cat.trips
    assert src.entry_name == "trips"
    assert src.description == "NYC taxi trips for one year"
    # as in intake 0.7.0: the catalog's directory joins the entry's metadata
    assert src.metadata == {"owner": "data-team", "catalog_dir": f"{tmp_path}/"}
    assert src.catalog_object is cat
    assert isinstance(src._entry, CatalogEntry)
    # a local CATALOG_DIR ends with "/" (intake 0.7.0), so "{{ CATALOG_DIR }}/x" has two
    assert src.token_args["urlpath"] == f"{tmp_path}//trips_2020.csv"
    src2 = cat.trips(year=2021)
    assert src2.token_args["urlpath"] == f"{tmp_path}//trips_2021.csv"
    assert src2.token != src.token
    # calling a source goes back through the entry
    assert src2(year="2022").token_args["urlpath"] == f"{tmp_path}//trips_2022.csv"
    assert cat.trips().token == src.token


def test_templates_people_use(cat):
    src = cat.echo
    assert src.value == 1  # a whole {{ n }} keeps the int
    assert src.other == "m03-20210304-ann"
    assert cat.echo(month="11", day="2022-01-02").other == "m11-20220102-ann"


def test_bad_values(cat):
    with pytest.raises(ValueError, match=r"'year'.*2000.*>= 2009"):
        cat.trips(year=2000)
    with pytest.raises(ValueError, match=r"'n'.*5.*allowed"):
        cat.echo(n=5)
    with pytest.raises(ParameterError, match=r"'tags'.*'z'"):
        cat.echo(tags=["a", "z"])


def test_unknown_parameter_names(cat):
    with pytest.raises(ValueError) as info:
        cat.trips(yeer=2021, colour="red")
    msg = str(info.value)
    assert "'yeer'" in msg and "'colour'" in msg and "year" in msg


def test_driver_arg_overrides(cat):
    src = cat.trips(storage_options={"anon": False})
    assert src.token_args["storage_options"] == {"anon": False}
    # an argument of the driver's signature not written in the entry
    assert cat.echo(other="x").other == "x"


def test_persist_mode_validation(cat, write_cat):
    with pytest.raises(PersistModeError, match="'default', 'always', 'never'"):
        cat.trips(persist_mode="sometimes")
    with pytest.raises(ValueError, match="valid modes"):
        open_catalog(write_cat(CAT), persist_mode="bogus")
    with pytest.raises(ValueError, match="disagree"):
        cat.trips(persist_mode="never", persist="always")
    assert cat.trips(persist="never").entry_name == "trips"


def test_entry_objects_are_cached_and_lazy(cat):
    assert cat._entry_cache == {}
    list(cat)
    assert cat._entry_cache == {}
    e = cat.get_entry("trips")
    assert cat.get_entry("trips") is e
    assert cat._entries["trips"] is e
    assert list(cat._entries) == ["trips", "echo"]


def test_missing_entry(cat):
    with pytest.raises(KeyError, match="no entry 'nope'"):
        cat["nope"]
    with pytest.raises(AttributeError, match="nope"):
        _ = cat.nope


def test_dir_lists_entries(cat):
    assert {"trips", "echo"} <= set(dir(cat))


def test_items(cat):
    assert [name for name, _ in cat.items()] == ["trips", "echo"]


def test_source_call_without_entry(echo_driver):
    src = echo_driver(value=1, other=2)
    new = src(other=3)
    assert (new.value, new.other) == (1, 3)
    with pytest.raises(TypeError):
        src(persist_mode="never")


def test_bad_parameter_spec(write_cat):
    # refused at open, as intake 0.7.0 refuses it (a ValidationError naming the entry)
    path = write_cat("""
        sources:
          e:
            driver: echo
            parameters: {p: {type: complex}}
    """)
    with pytest.raises(ParameterError, match="unknown type 'complex'") as info:
        open_catalog(path, persist_mode="never")
    assert isinstance(info.value, ValidationError)
    assert info.value.entry == "e" and info.value.line == 5 and path in str(info.value)


def test_catalog_level_parameters(write_cat):
    cat = open_catalog(
        write_cat("""
        parameters:
          region: {type: str, default: eu}
        sources:
          e:
            driver: echo
            args: {value: 'data-{{ region }}'}
    """),
        persist_mode="never",
    )
    assert cat.e.value == "data-eu"
    assert cat.e(region="us").value == "data-us"


def test_datetime_param_stays_datetime(write_cat):
    cat = open_catalog(
        write_cat("""
        sources:
          e:
            driver: echo
            args: {value: '{{ day }}'}
            parameters: {day: {type: datetime, default: '2021-01-02T03:04:05'}}
    """),
        persist_mode="never",
    )
    assert cat.e.value == dt.datetime(2021, 1, 2, 3, 4, 5)


def test_shell_in_args(write_cat):
    path = write_cat("""
        sources:
          e:
            driver: echo
            args: {value: '{{ shell("echo hi") }}'}
    """)
    with pytest.raises(PermissionError, match="allow_shell"):
        _ = open_catalog(path, persist_mode="never").e
    assert open_catalog(path, persist_mode="never", allow_shell=True).e.value == "hi"


def test_args_must_be_a_mapping(write_cat):
    # refused at open, as intake 0.7.0 refuses it
    with pytest.raises(ValidationError, match="entry 'e' has 'args' that is not a mapping"):
        open_catalog(write_cat("sources: {e: {driver: echo, args: [1, 2]}}"))


def test_metadata_among_args_is_merged(write_cat):
    cat = open_catalog(
        write_cat(
            "sources: {e: {driver: echo, args: {value: 1, metadata: {a: 1}}, metadata: {b: 2}}}"
        ),
        persist_mode="never",
    )
    assert cat.e.metadata == {"a": 1, "b": 2, "catalog_dir": cat.get_entry("e").catalog_dir}


def test_open_catalog_persist_alias(write_cat, cat):
    c = open_catalog(write_cat(CAT), persist="never")
    assert c.persist_mode == "never"


def test_template_errors_name_the_entry(write_cat):
    cat = open_catalog(
        write_cat("sources: {e: {driver: echo, args: {value: 'a{{ nope }}'}}}"),
        persist_mode="never",
    )
    with pytest.raises(ValueError, match=r"entry 'e' of catalog .*cat.yaml.*'nope' is undefined"):
        _ = cat.e


def test_from_dict(tmp_path):
    from intake_persist.catalog.catalog import Catalog

    cat = Catalog.from_dict(
        {"e": {"driver": "echo", "args": {"value": "{{ CATALOG_DIR }}"}}},
        metadata={"m": 1},
        catalog_dir=str(tmp_path),
        persist_mode="never",
    )
    assert list(cat) == ["e"] and cat.metadata == {"m": 1}
    assert cat.e.value == str(tmp_path)


def test_top_level_catalog_call(write_cat):
    cat = open_catalog(write_cat(CAT))
    other = cat(persist_mode="never")
    assert other.persist_mode == "never" and list(other) == list(cat)
    assert cat.persist_mode == "default"
    assert other.token == cat.token
