"""The persist store on S3 beyond the shared store tests (tests/store run on moto too):
credentials kept out of files, logs and errors; storage options from conf.yaml;
unreachable endpoints; export to s3://; persisting on a dask.distributed cluster."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from store_helpers import FrameSource, ItemsSource, csv_source, write_csv

from intake_persist.errors import StoreUnavailableError
from intake_persist.store.persist_store import PersistStore

pytestmark = pytest.mark.s3

KEY = "AKIAEXAMPLEKEY7Q3Z9W"
SECRET = "s3cr3t-Xq9vTz81Lm0pRk4Ws7Yb2"
TOKEN = "sess-token-Pq3Rs8Tu1Vw6"
CREDS = {"key": KEY, "secret": SECRET, "token": TOKEN}


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return


def _all_objects(fs, bucket: str) -> dict[str, bytes]:
    fs.invalidate_cache()
    return {p: fs.cat_file(p) for p in fs.find(bucket)}


def test_credentials_never_written_logged_or_shown(s3_bucket, s3_fs, tmp_path, caplog,
                                                   s3_server):
    caplog.set_level(logging.DEBUG, logger="intake_persist")
    # an original on S3 read with explicit credentials too
    write_csv(str(tmp_path / "t.csv"), rows=60)
    s3_fs.put_file(str(tmp_path / "t.csv"), f"{s3_bucket}/data/t.csv")
    from intake_persist.sources.csv import CSVSource

    original = CSVSource(urlpath=f"{s3_bucket}/data/t.csv", blocksize=500,
                         storage_options={**CREDS, "endpoint_url": s3_server})
    original.entry_name = "t"
    store = PersistStore(f"{s3_bucket}/store", endpoint_url=s3_server, **CREDS)
    copy = store.persist(original, ttl=60)
    pd.testing.assert_frame_equal(copy.read(), original.read())
    items = store.persist(ItemsSource())
    assert items.read() == ItemsSource().read()
    store.index.update(lambda entries: None)  # one more index rewrite
    store.add("f" * 32, copy)  # recording a copy keeps credentials out too

    # what a failing operation says
    messages = [repr(store), str(store.entries())]
    with pytest.raises(OSError) as err:
        store.persist(FrameSource(fail=True))
    messages.append(str(err.value))
    bad = PersistStore(f"{s3_bucket}/store", endpoint_url=f"http://127.0.0.1:{_closed_port()}",
                       config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 1},
                       retry=2, **CREDS)
    with pytest.raises(ConnectionError) as err2:
        bad.persist(FrameSource())
    messages += [str(err2.value), repr(err2.value.__cause__)]

    objects = _all_objects(s3_fs, s3_bucket.removeprefix("s3://"))
    assert any(p.endswith("cat.yaml") for p in objects)
    assert sum(p.endswith(".meta.yaml") for p in objects) == 2
    for secret in (KEY, SECRET, TOKEN):
        for path, data in objects.items():
            assert secret.encode() not in data, path
        for text in messages:
            assert secret not in text
        assert secret not in caplog.text
    # what is recorded is still enough to rebuild and read (credentials from the env)
    rebuilt = store.backtrack(original.token)
    assert rebuilt.storage_options == {"endpoint_url": s3_server}
    assert len(rebuilt.read()) == 60


def test_storage_options_from_conf_yaml(s3_bucket, s3_server, monkeypatch, tmp_path):
    from intake_persist import open_catalog
    from intake_persist.store import get_store

    conf = Path(os.environ["INTAKE_CONF_DIR"])
    (conf / "conf.yaml").write_text(
        f"persist_path: {s3_bucket}/from-conf\n"
        f"persist_storage_options:\n  endpoint_url: {s3_server}\n"
        f"  key: {KEY}\n  secret: {SECRET}\n"
    )
    monkeypatch.delenv("INTAKE_PERSIST_PATH")
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # only conf.yaml says where the server is
    write_csv(str(tmp_path / "t.csv"), rows=30)
    (tmp_path / "cat.yaml").write_text(
        "sources:\n  tbl:\n    driver: csv\n    args:\n      urlpath: '{{ CATALOG_DIR }}/t.csv'\n"
    )
    cat = open_catalog(str(tmp_path / "cat.yaml"))
    copy = cat.tbl.persist(ttl=100)
    st = get_store()
    assert st.path == f"{s3_bucket}/from-conf" and type(st.backend).__name__ == "S3Backend"
    assert st.storage_options["endpoint_url"] == s3_server
    assert copy.urlpath.startswith(f"{s3_bucket}/from-conf/")
    again = open_catalog(str(tmp_path / "cat.yaml")).tbl
    assert again.is_persisted
    pd.testing.assert_frame_equal(again.read(), cat.tbl(persist_mode="never").read())
    assert SECRET.encode() not in st.backend.read_bytes("cat.yaml")


def test_unreachable_endpoint_is_a_clear_error(s3_bucket):
    port = _closed_port()
    st = PersistStore(f"{s3_bucket}/store", endpoint_url=f"http://127.0.0.1:{port}",
                      config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 1},
                      retry=2)
    for op in (lambda: st.persist(FrameSource()), lambda: len(st), st.gc,
               lambda: st.remove("0" * 32)):
        with pytest.raises(ConnectionError) as err:
            op()
        msg = str(err.value)
        assert f"{s3_bucket}/store" in msg and f"127.0.0.1:{port}" in msg, msg
        assert isinstance(err.value, StoreUnavailableError) and err.value.operation
    # a catalog lookup through an unreachable store gives the original, with a warning
    src = FrameSource()
    with pytest.warns(RuntimeWarning, match=f"{s3_bucket}/store could not be read"):
        assert st.resolve(src, "default") is src


def test_export_to_s3(s3_bucket, s3_fs, tmp_path, s3_server):
    import yaml

    from intake_persist import open_catalog

    df = write_csv(str(tmp_path / "t.csv"), rows=80)
    src = csv_source(str(tmp_path / "t.csv"), blocksize=500)
    text = src.export(f"{s3_bucket}/exports/t",
                      storage_options={"endpoint_url": s3_server, **CREDS})
    assert SECRET not in text and KEY not in text
    entry = yaml.safe_load(text)["sources"]["table"]
    assert entry["args"]["urlpath"] == f"{s3_bucket}/exports/t"
    s3_fs.pipe_file(f"{s3_bucket}/exports/cat.yaml", text.encode())
    cat = open_catalog(f"{s3_bucket}/exports/cat.yaml")
    pd.testing.assert_frame_equal(cat.table.read().reset_index(drop=True), df)
    for data in _all_objects(s3_fs, s3_bucket.removeprefix("s3://")).values():
        assert SECRET.encode() not in data
    assert not os.path.exists(os.environ["INTAKE_PERSIST_PATH"])  # the store untouched
