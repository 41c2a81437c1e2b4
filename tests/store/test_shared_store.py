"""``from intake_persist import store`` is the configured store:
a PersistStore bound at each use to the configured persist path, with a repr that
names it, whatever was imported before; the ``intake_persist.store`` sub-package's
modules stay importable."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import pytest
from store_helpers import FrameSource, subprocess_env

import intake_persist
from intake_persist.store.persist_store import PersistStore


def test_the_imported_name_is_the_configured_store(tmp_path, monkeypatch):
    import intake_persist.store.persist_store  # noqa: F401 - the sub-package is imported
    from intake_persist import store

    assert isinstance(store, PersistStore)
    assert store is intake_persist.store
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    monkeypatch.setenv("INTAKE_PERSIST_PATH", one)
    assert store.path == one and one in repr(store)
    src = FrameSource(nparts=2, rows=3)
    copy = store.persist(src)
    assert src in store and list(store) == [src.token]
    # the configuration changes between uses: the same name follows it
    monkeypatch.setenv("INTAKE_PERSIST_PATH", two)
    assert store.path == two and two in repr(store) and one not in repr(store)
    assert src not in store and len(store) == 0
    store.persist(src, ttl=5)
    assert store.info(src)["ttl"] == 5
    monkeypatch.setenv("INTAKE_PERSIST_PATH", one)
    assert store.info(src)["ttl"] is None
    assert store[src.token].read().equals(copy.read())


def test_it_follows_conf_yaml_too(tmp_path, monkeypatch):
    from intake_persist import store

    conf = tmp_path / "conf"
    conf.mkdir()
    monkeypatch.setenv("INTAKE_CONF_DIR", str(conf))
    monkeypatch.delenv("INTAKE_PERSIST_PATH")
    assert store.path == str(conf / "persisted")
    (conf / "conf.yaml").write_text(f"persist_path: {tmp_path / 'elsewhere'}\n")
    assert store.path == str(tmp_path / "elsewhere")
    assert repr(store) == f"<PersistStore {str(tmp_path / 'elsewhere')!r} (the configured store)>"


def test_dir_and_attributes_are_those_of_a_store(tmp_path):
    from intake_persist import store

    names = dir(store)
    for name in ("persist", "remove", "gc", "clear", "backtrack", "refresh", "path", "index"):
        assert name in names
    for internal in ("get_store", "reset_store", "json", "os", "sys", "_stores", "__path__"):
        assert internal not in names
    with pytest.raises(AttributeError, match="'PersistStore' object has no attribute 'nope'"):
        store.nope  # noqa: B018
    with pytest.raises(AttributeError, match="INTAKE_PERSIST_PATH"):
        store.path = str(tmp_path)
    with pytest.raises(AttributeError, match="configured store"):
        intake_persist.store = PersistStore(str(tmp_path))
    assert pickle.loads(pickle.dumps(store)) is store
    assert "store" in dir(intake_persist)


def test_submodules_and_relative_imports_still_work():
    import intake_persist.store.layout as layout
    import intake_persist.store.persist_store
    from intake_persist.store import get_store, persist_store, reset_store  # noqa: F401
    from intake_persist.store.persist_store import PersistStore as P

    assert layout.INDEX == "cat.yaml"
    assert intake_persist.store.persist_store.PersistStore is P is persist_store.PersistStore
    assert isinstance(get_store(), P)
    assert sys.modules["intake_persist.store"].get_store is get_store
    assert intake_persist.store.get_store is get_store


def test_fresh_interpreter_cheap_import_and_any_import_order(tmp_path):
    """In a new process: importing is cheap and reads nothing; the store is the store
    whether the sub-package was imported before or after."""
    code = textwrap.dedent(
        f"""
        import os, sys
        os.environ["INTAKE_PERSIST_PATH"] = {str(tmp_path / "st")!r}
        import intake_persist
        assert "intake_persist.store" not in sys.modules, "imported too early"
        import intake_persist.store.persist_store as ps
        from intake_persist import store
        assert isinstance(store, ps.PersistStore), type(store)
        assert not os.path.exists({str(tmp_path / "st")!r}), "read or created at import"
        from intake_persist.store import get_store
        from intake_persist import open_catalog  # the catalog layer imports the store too
        from intake_persist import store as again
        assert again is store
        print(repr(store))
        print(sorted(n for n in dir(store) if not n.startswith("_"))[:3])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"<PersistStore {str(tmp_path / 'st')!r} (the configured store)>"
    assert lines[1] == "['add', 'as_of', 'backend']"
    assert os.path.exists(tmp_path / "st") is False
