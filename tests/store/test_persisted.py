"""``@persisted`` functions: a hit reads the copy without calling
the function, a miss computes and persists; the key follows the code (not its
formatting) and the arguments; TTL, keep, versions, refresh and lineage apply.
The store-bound tests run on local disk and on S3 (moto)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from store_helpers import FrameSource

from intake_persist import persisted
from intake_persist.functions import PersistedFunction
from intake_persist.store.persist_store import PersistStore

MODULE = """
import numpy as np
import pandas as pd

CALLS = []


def frame(n, scale=1.0):
    CALLS.append((n, scale))
    return pd.DataFrame({{"i": np.arange(n), "x": np.arange(n) * scale {extra}}})


def double(df):
    CALLS.append("double")
    return df * 2


def total(src, column="i"):
    CALLS.append(column)
    return pd.DataFrame({{"total": [src.read()[column].sum()]}})
"""


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A temporary module ``pfmod`` whose ``frame`` can be rewritten (``write(extra)``)
    and reloaded; the decorated function is made with the store given."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    name = f"pfmod_{id(tmp_path)}"
    path = tmp_path / f"{name}.py"

    def write(extra: str = "") -> object:
        path.write_text(textwrap.dedent(MODULE.format(extra=extra)))
        importlib.invalidate_caches()
        if name in sys.modules:
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)

    yield write
    sys.modules.pop(name, None)


def decorate(mod, store, **kw) -> PersistedFunction:
    fn = persisted(store=store, **kw)(mod.frame)
    mod.frame = fn  # as if decorated in the module: refresh imports it by name
    return fn


def test_hit_miss_and_argument_change(store, module):
    mod = module()
    frame = decorate(mod, store)
    first = frame(4)
    assert mod.CALLS == [(4, 1.0)]
    again = frame(4)
    assert mod.CALLS == [(4, 1.0)]  # a hit: not called
    pd.testing.assert_frame_equal(again, first)
    assert isinstance(again, pd.DataFrame)
    frame(n=4, scale=1.0)  # the same call bound to the signature
    assert mod.CALLS == [(4, 1.0)]
    other = frame(4, scale=2.0)  # another argument: a miss
    assert mod.CALLS == [(4, 1.0), (4, 2.0)]
    assert other["x"].tolist() == [0.0, 2.0, 4.0, 6.0]
    frame(5)
    assert mod.CALLS[-1] == (5, 1.0)
    assert len(store) == 3
    assert frame.token(4) != frame.token(4, 2.0) != frame.token(5)
    assert frame.token(4) in store and frame.source(4).read().equals(first)
    assert frame.source(6) is None  # never called with 6: nothing computed
    assert mod.CALLS[-1] == (5, 1.0)


def test_code_change_misses_and_reformatting_hits(store, module):
    mod = module()
    frame = decorate(mod, store)
    frame(3)
    key = frame.token(3)
    # reformatted, with a comment: the same code
    mod = module(extra="  # same logic\n")
    frame = decorate(mod, store)
    assert frame.token(3) == key
    frame(3)
    assert mod.CALLS == []  # a hit in the reloaded module
    mod = module(extra=', "y": 1')  # the logic changed
    frame = decorate(mod, store)
    assert frame.token(3) != key
    got = frame(3)
    assert mod.CALLS == [(3, 1.0)] and list(got.columns) == ["i", "x", "y"]
    frame(3)
    assert mod.CALLS == [(3, 1.0)]
    assert len(store) == 2


def test_ttl_keep_versions_and_refresh(local_store, module):
    mod = module()
    frame = decorate(mod, local_store, ttl=0.2, keep=2)
    frame(2)
    frame(2)
    assert len(mod.CALLS) == 1
    time.sleep(0.25)
    frame(2)  # expired: computed again, the older copy kept
    assert len(mod.CALLS) == 2
    versions = local_store.versions(frame.token(2))
    assert len(versions) == 2 and versions[0].ttl == 0.2 and versions[0].keep == 2
    copy = local_store.refresh(frame.token(2))  # recomputed from the record
    assert len(mod.CALLS) == 3 and copy.metadata["original_tok"] == frame.token(2)
    assert [v.vid for v in local_store.versions(frame.token(2))][1] == versions[0].vid


def test_containers(local_store):
    calls = []

    @persisted(store=local_store)
    def array(n):
        calls.append("array")
        return np.arange(n * 2, dtype="int32").reshape(n, 2)

    @persisted(store=local_store)
    def items(n):
        calls.append("items")
        return [{"i": i, "s": str(i)} for i in range(n)]

    @persisted(store=local_store)
    def lazy(n):
        import dask.dataframe as dd

        calls.append("lazy")
        return dd.from_pandas(pd.DataFrame({"i": np.arange(n)}), npartitions=2)

    want = array(3)
    got = array(3)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int32
    assert items(2) == items(2) == [{"i": 0, "s": "0"}, {"i": 1, "s": "1"}]
    first = lazy(6)
    second = lazy(6)
    assert type(second).__name__ == "DataFrame" and hasattr(second, "npartitions")
    assert second.npartitions == 2
    assert second.compute()["i"].tolist() == first.compute()["i"].tolist() == list(range(6))
    assert calls == ["array", "items", "lazy"]


def test_xarray_result(local_store):
    xr = pytest.importorskip("xarray")
    calls = []

    @persisted(store=local_store)
    def grid(n):
        calls.append(n)
        return xr.Dataset({"t": (("x",), np.arange(n, dtype="float64"))},
                          coords={"x": np.arange(n)}, attrs={"units": "K"})

    want = grid(4)
    got = grid(4)
    assert calls == [4]
    xr.testing.assert_identical(got.load(), want)


def test_upstream_sources_join_the_lineage(local_store, module):
    mod = module()
    total = persisted(store=local_store)(mod.total)
    mod.total = total
    calls = mod.CALLS
    upstream = FrameSource(nparts=2, rows=3, seed=5)
    assert total(upstream)["total"].tolist() == [15]
    key = total.token(upstream)
    # a copy of the upstream counts as its original
    assert total.token(local_store.persist(upstream)) == key
    total(upstream)
    assert calls == ["i"]
    assert total.token(FrameSource(nparts=2, rows=3, seed=6)) != key
    md = local_store[key].metadata["original_metadata"]
    lineage = [{"argument": "src", "token": upstream.token, "name": None,
                "driver": "store_helpers.FrameSource",
                "args": {"nparts": 2, "rows": 3, "seed": 5}}]
    assert md["derived_from"] == {"upstream": lineage}
    assert local_store.backtrack(key).describe()["lineage"] == lineage
    # refresh orders by it: the upstream first, then the function's copy, once each
    before = local_store.info(upstream).version
    fresh = local_store.refresh(key, upstream=True)
    assert calls == ["i", "i"] and fresh.metadata["original_tok"] == key
    assert local_store.info(upstream).version > before  # refreshed first


def test_unrecorded_arguments_cache_but_do_not_refresh(local_store, module):
    mod = module()
    double = persisted(store=local_store)(mod.double)
    mod.double = double
    df = pd.DataFrame({"a": [1, 2]})
    double(df)
    double(df.copy())  # equal data, equal dask token: a hit
    assert mod.CALLS == ["double"]
    double(pd.DataFrame({"a": [1, 3]}))
    assert mod.CALLS == ["double", "double"]
    with pytest.raises(ValueError, match=r"argument args\[0\] was a pandas.*DataFrame"):
        local_store.refresh(double.token(df))

    @persisted(store=local_store)
    def local(n):
        return [n]

    local(1)
    with pytest.raises(ValueError, match="local' cannot be imported again"):
        local_store.refresh(local.token(1))


def test_bad_uses(local_store):
    with pytest.raises(ValueError, match="ttl must be.*-1"):
        persisted(ttl=-1)
    with pytest.raises(ValueError, match="keep must be.*0"):
        persisted(keep=0)
    with pytest.raises(TypeError, match="store must be.*42"):
        persisted(store=42)

    @persisted(store=local_store)
    def number(n):
        return n

    with pytest.raises(TypeError, match="must return a pandas.*got builtins.int"):
        number(1)
    assert len(local_store) == 0
    with pytest.raises(TypeError, match="number: missing a required argument: .n."):
        number(m=1)


def test_default_store_is_the_configured_one(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_PERSIST_PATH", str(tmp_path / "configured"))
    calls = []

    @persisted
    def one():
        calls.append(1)
        return [1]

    assert one() == one() == [1] and calls == [1]
    assert one.token() in PersistStore(str(tmp_path / "configured"))


def test_unwritable_store_still_returns_the_result(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    calls = []

    @persisted(store=str(tmp_path / "file" / "store"))
    def rows():
        calls.append(1)
        return [{"a": 1}]

    with pytest.warns(RuntimeWarning, match="persist store .*file/store could not be read.*"
                      "NotADirectoryError"):
        assert rows() == [{"a": 1}]
    assert calls == [1]
    store = PersistStore(str(tmp_path / "store"))
    store.persist(FrameSource(nparts=1, rows=1))  # a readable index
    cached = persisted(store=store)(rows.__wrapped__)
    # a file where the pending markers go: no copy can be published
    pending = tmp_path / "store" / "pending"
    if pending.is_dir():
        pending.rmdir()
    pending.write_text("in the way")
    with pytest.warns(RuntimeWarning, match="could not be persisted into .*store"):
        assert cached() == [{"a": 1}]
    assert calls == [1, 1] and len(store) == 1


def test_dask_array_result(local_store):
    da = pytest.importorskip("dask.array")
    calls = []

    @persisted(store=local_store)
    def lazy(n):
        calls.append(n)
        return da.arange(n, chunks=3)

    lazy(7)
    got = lazy(7)
    assert calls == [7] and hasattr(got, "chunks")
    assert got.compute().tolist() == list(range(7))


def test_writer_keyword_arguments(local_store):
    @persisted(store=local_store)
    def plain(n):
        return pd.DataFrame({"a": range(n)})

    @persisted(store=local_store, compression="zstd")
    def small(n):
        return pd.DataFrame({"a": range(n)})

    plain(3)
    small(3)
    assert local_store.versions(plain.token(3))[0].persist_kwargs == {"compression": "none"}
    assert local_store.versions(small.token(3))[0].persist_kwargs == {"compression": "zstd"}
    import pyarrow.parquet as pq

    for fn, codec in ((plain, "UNCOMPRESSED"), (small, "ZSTD")):
        part = local_store.versions(fn.token(3))[0].location + "/part.00000.parquet"
        assert pq.ParquetFile(part).metadata.row_group(0).column(0).compression == codec
