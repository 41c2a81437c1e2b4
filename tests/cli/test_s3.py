"""The command line against a store on S3 (moto's server on loopback)."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_env(s3_server, s3_bucket):
    """Variables the subprocess needs to reach the moto server (set by s3_server)."""
    keys = [k for k in os.environ if k.startswith("AWS_")]
    return {k: os.environ[k] for k in keys}


def test_persist_list_show_remove_on_s3(cli, catalog, s3_bucket, s3_env):
    store = f"{s3_bucket}/team-store"
    r = cli("persist", catalog, "trips", "logs", "--store", store, "--json", env=s3_env)
    assert r.code == 0, r
    assert {p["entry"] for p in r.json()["persisted"]} == {"trips", "logs"}

    listing = cli("list", "--store", store, "--json", env=s3_env)
    assert listing.code == 0, listing
    entries = {e["name"]: e for e in listing.json()["entries"]}
    assert set(entries) == {"trips", "logs"}
    assert entries["trips"]["location"].startswith(store)

    human = cli("list", "--store", store, env=s3_env)
    assert human.code == 0 and "trips" in human.out

    key = entries["logs"]["key"]
    show = cli("show", key[:8], "--store", store, "--json", env=s3_env)
    assert show.code == 0 and show.json()["key"] == key

    assert cli("refresh", "logs", "--store", store, "--json", env=s3_env).code == 0
    assert cli("remove", "logs", "--store", store, env=s3_env).code == 0
    assert cli("gc", "--store", store, "--json", env=s3_env).code == 0
    left = cli("list", "--store", store, "--json", env=s3_env).json()["entries"]
    assert [e["name"] for e in left] == ["trips"]


def test_missing_s3_store(cli, s3_bucket, s3_env):
    r = cli("list", "--store", f"{s3_bucket}/nothing-here", env=s3_env)
    assert r.code == 1
    assert "no persist store" in r.err
