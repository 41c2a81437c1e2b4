"""Small real sources for the store tests (importable by subprocesses too)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from intake_persist.sources.base import DataSource, Schema

HERE = os.path.dirname(os.path.abspath(__file__))


class FrameSource(DataSource):
    """A generated dataframe: ``nparts`` partitions of ``rows`` rows (seeded)."""

    container = "dataframe"
    name = "test_frames"

    def __init__(self, nparts: int = 3, rows: int = 10, seed: int = 0, fail: bool = False,
                 metadata: dict | None = None):
        super().__init__(metadata=metadata)
        self.nparts, self.rows, self.seed, self.fail = nparts, rows, seed, fail

    def _get_schema(self) -> Schema:
        if self.fail:
            raise OSError("the original is gone")
        return Schema(dtype={"i": "int64", "x": "float64", "s": "str"},
                      shape=(self.nparts * self.rows, 3), npartitions=self.nparts)

    def _get_partition(self, i: int) -> pd.DataFrame:
        if self.fail:
            raise OSError("the original is gone")
        rng = np.random.default_rng(abs(self.seed) * 1000 + i + (7 if self.seed < 0 else 0))
        start = i * self.rows
        return pd.DataFrame({
            "i": np.arange(start, start + self.rows, dtype="int64"),
            "x": rng.random(self.rows),
            "s": [f"r{j}" for j in range(start, start + self.rows)],
        }, index=pd.RangeIndex(start, start + self.rows))


class PartFailSource(FrameSource):
    """Frames whose partition ``fail_at`` raises (``crash=True``: the process dies
    there at once, as if killed, leaving whatever was written)."""

    name = "test_part_fail"

    def __init__(self, nparts: int = 4, rows: int = 10, seed: int = 0, fail_at: int = 2,
                 crash: bool = False, metadata: dict | None = None):
        super().__init__(nparts=nparts, rows=rows, seed=seed, metadata=metadata)
        self.fail_at, self.crash = fail_at, crash

    def _get_partition(self, i: int) -> pd.DataFrame:
        if i == self.fail_at:
            if self.crash:
                os._exit(17)
            raise OSError(f"partition {i} cannot be read")
        return super()._get_partition(i)


class ArraySource(DataSource):
    """A generated 2-d float array split along axis 0."""

    container = "ndarray"
    name = "test_array"

    def __init__(self, nparts: int = 3, rows: int = 4, cols: int = 5, seed: int = 0,
                 metadata: dict | None = None):
        super().__init__(metadata=metadata)
        self.nparts, self.rows, self.cols, self.seed = nparts, rows, cols, seed

    def _get_schema(self) -> Schema:
        return Schema(dtype="float64", shape=(self.nparts * self.rows, self.cols),
                      npartitions=self.nparts)

    def partition_rows(self):
        return [self.rows] * self.nparts

    def _get_partition(self, i: int) -> np.ndarray:
        rng = np.random.default_rng(abs(self.seed) * 1000 + i + (7 if self.seed < 0 else 0))
        return rng.random((self.rows, self.cols))


class ItemsSource(DataSource):
    """Generated Python records."""

    container = "python"
    name = "test_items"

    def __init__(self, nparts: int = 2, n: int = 5, metadata: dict | None = None):
        super().__init__(metadata=metadata)
        self.nparts, self.n = nparts, n

    def _get_schema(self) -> Schema:
        return Schema(dtype=None, shape=(self.nparts * self.n,), npartitions=self.nparts)

    def _get_partition(self, i: int) -> list:
        return [{"part": i, "k": k, "name": f"it{i}-{k}", "vals": [k, k * 0.5]}
                for k in range(self.n)]


def write_csv(path: str, rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": np.arange(rows), "b": rng.random(rows).round(6),
                       "c": [f"w{i % 7}" for i in range(rows)]})
    df.to_csv(path, index=False)
    return df


def write_jsonl(path: str, n: int = 30) -> list:
    items = [{"i": i, "name": f"n{i}", "tags": ["a", "b"][: i % 3]} for i in range(n)]
    with open(path, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    return items


def open_exported(tmp_path, text: str):
    """The source of the one-entry catalog that ``export`` returned, opened from a file."""
    from intake_persist import open_catalog

    path = tmp_path / "exported.yaml"
    path.write_text(text)
    cat = open_catalog(str(path))
    (name,) = list(cat)
    return cat[name]


def csv_source(path: str, blocksize: int = 1000, name: str = "table"):
    from intake_persist.sources.csv import CSVSource

    src = CSVSource(urlpath=path, blocksize=blocksize)
    src.entry_name = name
    return src


def jsonl_source(path: str, name: str = "records"):
    from intake_persist.sources.jsonfiles import JSONLinesFileSource

    src = JSONLinesFileSource(urlpath=path)
    src.entry_name = name
    return src


def array_source(tmpdir: str, nparts: int = 3, name: str = "array"):
    """A real ``numpy`` driver source when that driver exists, else ArraySource."""
    try:
        from intake_persist.sources.numpy import NumpySource
    except ImportError:
        src = ArraySource(nparts=nparts)
        src.entry_name = name
        return src, src.read()
    arr = np.arange(nparts * 20, dtype="float64").reshape(nparts * 4, 5) / 7
    path = os.path.join(tmpdir, f"{name}.npy")
    np.save(path, arr)
    src = NumpySource(urlpath=path)
    src.entry_name = name
    return src, arr


def set_timestamp(store, key: str, timestamp: float) -> None:
    """Rewrite an entry's timestamp in cat.yaml, as a person editing it would."""
    def fn(entries):
        entries[key]["metadata"]["timestamp"] = timestamp
    store.index.update(fn)


def subprocess_env() -> dict:
    """Environment for a child Python that imports intake_persist and these helpers."""
    root = os.path.dirname(os.path.dirname(HERE))
    env = dict(os.environ)
    parts = [root, HERE] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


# ---- looking at a store through its backend (local disk or S3 alike) -----------------


def ls(store, rel: str = "") -> list[str]:
    """Names under ``rel`` in the store (files and directories), sorted."""
    return sorted(i.name for i in store.backend.listdir(rel))


def exists(store, rel: str) -> bool:
    return store.backend.exists(rel)


def index_bytes(store) -> bytes:
    return store.backend.read_bytes("cat.yaml")


def put_index(store, data) -> None:
    """Replace cat.yaml, as a person editing it would."""
    store.backend.put("cat.yaml", data.encode() if isinstance(data, str) else data)


def rel_of(store, url: str) -> str:
    """The store-relative path of a URL or path under the store."""
    assert url.startswith(store.path), (url, store.path)
    return url[len(store.path):].lstrip("/").replace("\\", "/")
