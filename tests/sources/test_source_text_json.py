import gzip
import json
import pickle

import pytest

from intake_persist.sources.jsonfiles import JSONFileSource, JSONLinesFileSource
from intake_persist.sources.textfiles import TextFilesSource


def test_textfiles(where):
    where("a.txt", b"one\ntwo\r\nthree\n")
    where("b.txt", b"four\n\nsix")
    src = TextFilesSource(f"{where.base}/*.txt")
    assert src.container == "python"
    assert src.discover()["npartitions"] == 2
    assert src.read_partition(0) == ["one", "two", "three"]
    assert src.read() == ["one", "two", "three", "four", "", "six"]
    assert list(src.read_chunked()) == [["one", "two", "three"], ["four", "", "six"]]
    assert src.to_dask().compute(scheduler="threads") == src.read()
    with TextFilesSource(f"{where.base}/b.txt", text_mode=False) as s2:
        assert s2.read() == [b"four", b"", b"six"]


def test_textfiles_compression_and_decoder(where):
    where("a.txt.gz", gzip.compress(b"x\ny\n"))
    assert TextFilesSource(f"{where.base}/a.txt.gz", compression="infer").read() == ["x", "y"]
    assert TextFilesSource(f"{where.base}/a.txt.gz", compression="gzip").read() == ["x", "y"]
    where("d.json", b'{"k": [1, 2]}')
    src = TextFilesSource(f"{where.base}/d.json", decoder="json.load")
    assert src.read() == [{"k": [1, 2]}]


def test_json(where):
    where("a.json", json.dumps([{"a": 1}, {"a": 2}]).encode())
    where("b.json", json.dumps({"a": 3}).encode())
    src = JSONFileSource(f"{where.base}/*.json")
    assert src.npartitions == 2
    assert src.read() == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert src.read_partition(1) == [{"a": 3}]
    assert JSONFileSource(f"{where.base}/b.json").read() == [{"a": 3}]


def test_jsonl_encoders(where):
    where("a.jsonl", b'{"a": 1}\n\n{"a": 2}\n')
    where("b.jsonl", b"[3]\n")
    src = JSONLinesFileSource(f"{where.base}/*.jsonl")
    assert src.npartitions == 2
    assert src.read() == [{"a": 1}, {"a": 2}, [3]]
    assert src.to_dask().npartitions == 2
    assert JSONLinesFileSource(f"{where.base}/a.jsonl", encoder="str").read() == [
        '{"a": 1}',
        "",
        '{"a": 2}',
    ]
    import base64

    where("p/x.jsonl", base64.b64encode(pickle.dumps({1, 2})) + b"\n")
    # a directory means its .jsonl files
    assert JSONLinesFileSource(f"{where.base}/p", encoder="pickle").read() == [{1, 2}]
    with pytest.raises(ValueError):
        JSONLinesFileSource(f"{where.base}/p/x.jsonl").read()  # not JSON: never unpickled
    with pytest.raises(ValueError, match="encoder"):
        JSONLinesFileSource("x.jsonl", encoder="yaml")


def test_missing_files(where):
    with pytest.raises(FileNotFoundError):
        TextFilesSource(f"{where.base}/nothing*.txt").discover()


def test_pickle_roundtrip_of_source(where):
    where("a.txt", b"1\n2\n")
    src = TextFilesSource(f"{where.base}/a.txt")
    src.discover()
    clone = pickle.loads(pickle.dumps(src))
    assert clone.read() == ["1", "2"]
    assert clone.token == src.token
