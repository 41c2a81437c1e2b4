"""What a fresh process imports to look up a persisted copy in a local store.

A first lookup (import, open the catalog or the store, look the key up, build the
source) is paid by every short script and worker, and it is bound by imports, not by
the index. So it must import no data library (a local store needs no fsspec), no
YAML or typing for a store lookup (``cat.yaml`` lines are JSON), and none of the standard
library modules taken off the lookup path (``dataclasses`` and with it ``inspect``,
``subprocess``, ``shutil``, ``string``, ``random``, ``hashlib``: a token's md5 comes
from CPython's ``_md5``). The child runs as ``python -S``
(site-packages on ``PYTHONPATH``), so that modules which ``.pth`` files happen to
import at startup count too.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap

from store_helpers import subprocess_env, write_csv

from intake_persist import open_catalog
from intake_persist.store.persist_store import PersistStore

DATA_LIBRARIES = ("pandas", "numpy", "dask", "pyarrow", "fsspec", "s3fs", "zarr", "xarray",
                  "jinja2")
OFF_THE_PATH = ("dataclasses", "inspect", "subprocess", "shutil", "string", "random", "hashlib")

CHILD = """
import json, sys
before = set(sys.modules)
{code}
print(json.dumps({{"new": sorted(set(sys.modules) - before), "result": result}}))
"""


def run_child(code: str, store_path: str) -> dict:
    env = subprocess_env()
    parts = env["PYTHONPATH"].split(os.pathsep) + site.getsitepackages()
    env.update(PYTHONPATH=os.pathsep.join(parts), INTAKE_PERSIST_PATH=store_path)
    out = subprocess.run([sys.executable, "-S", "-c", CHILD.format(code=textwrap.dedent(code))],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def persisted_catalog(tmp_path) -> tuple[str, str, str]:
    """A catalog of one CSV entry persisted into a local store whose index is
    journaled (so the lookup reads the journal too): (catalog, store, token)."""
    store_path = str(tmp_path / "store")
    write_csv(str(tmp_path / "t.csv"), rows=50)
    cat_path = tmp_path / "cat.yaml"
    cat_path.write_text("sources:\n  t:\n    driver: csv\n"
                        "    args: {urlpath: '{{ CATALOG_DIR }}/t.csv'}\n")
    store = PersistStore(store_path)
    store.index.journal_from = 0  # journaled from the first update
    src = open_catalog(str(cat_path), persist_mode="never")["t"]
    store.persist(src)
    return str(cat_path), store_path, src.token


def test_store_lookup_imports_no_data_library_yaml_or_heavy_stdlib(tmp_path):
    cat_path, store_path, token = persisted_catalog(tmp_path)
    got = run_child(f"""
        from intake_persist import PersistStore
        src = PersistStore({store_path!r})[{token!r}]
        result = [type(src).__name__, src.urlpath, src.metadata["original_tok"]]
    """, store_path)
    entry = PersistStore(store_path).index.lookup(token)
    assert entry is not None and PersistStore(store_path).index.snapshot().metadata["journal"] == 0
    copy_path = PersistStore(store_path)[token].urlpath
    assert copy_path.startswith(store_path) and entry["metadata"]["version"] in copy_path
    assert got["result"] == ["ParquetSource", copy_path, token]
    # nor typing: the store modules keep typing's names under TYPE_CHECKING
    off_the_path = {*DATA_LIBRARIES, "yaml", "datetime", "typing", *OFF_THE_PATH}
    assert sorted(set(got["new"]) & off_the_path) == []


def test_catalog_lookup_imports_no_data_library_or_heavy_stdlib(tmp_path):
    cat_path, store_path, token = persisted_catalog(tmp_path)
    got = run_child(f"""
        import intake_persist
        src = intake_persist.open_catalog({cat_path!r})["t"]
        result = [src.is_persisted, src.urlpath, src.metadata["original_tok"]]
    """, store_path)
    assert got["result"] == [True, PersistStore(store_path)[token].urlpath, token]
    new = set(got["new"])
    assert "yaml" in new  # the catalog file is YAML: the check sees what was imported
    assert sorted(new & {*DATA_LIBRARIES, *OFF_THE_PATH}) == []
