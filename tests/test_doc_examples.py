"""The Python examples of the user pages in docs/ run, twice in a row, against a
fresh store, so that they cannot rot.

From each page (read with docutils) the test takes, in order, every
``.. code-block:: python`` and every ``>>>`` example, and runs them as one
script in a fresh interpreter (tests/doc_examples_runner.py), from a folder
holding a copy of ``catalogs/``, with ``INTAKE_PERSIST_PATH`` a fresh store;
then once more on the same store. ``s3://bucket/...`` is a bucket on the moto
server, holding a copy of the catalogs' YAML files under ``catalogs/``. A ``>>>``
example shown raising must raise that exception with that message.

Comments in the page source (invisible on the rendered page) steer the test:

- ``.. test: skip REASON``: the next example is not run (REASON says why);
- ``.. test: file NAME``: the next block (any language) is written to NAME in the
  work folder, so a page's catalog is the one it shows;
- ``.. test: setup (NOTE)`` with an indented body: Python run at that point, for
  what an example takes as given but does not show (its data, its module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rst_doc import parse

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
RUNNER = Path(__file__).resolve().parent / "doc_examples_runner.py"
USER_PAGES = ["index.rst", "usage.rst", "persisting.rst", "derived.rst", "versions.rst"]
MARK = "test:"


def block_kind(node) -> str | None:
    """``code`` (a Python block), ``doctest`` (``>>>`` examples) or None."""
    import docutils.nodes

    if isinstance(node, docutils.nodes.doctest_block):
        return "doctest"
    classes = node.get("classes", [])
    interactive = node.astext().lstrip().startswith(">>>")
    if "python" in classes:
        return "doctest" if interactive else "code"
    return "doctest" if interactive and not classes else None


def page_examples(path: Path) -> tuple[list[dict], list[str]]:
    """The steps the runner takes for a page, and the examples left out (with why)."""
    import docutils.nodes as nodes

    steps: list[dict] = []
    skipped: list[str] = []
    pending: tuple[str, str] | None = None
    wanted = (nodes.comment, nodes.literal_block, nodes.doctest_block)
    for node in parse(path).findall(lambda n: isinstance(n, wanted)):
        text = node.astext()
        where = f"{path.name}, block near line {node.line}"
        if isinstance(node, nodes.comment):
            if not text.startswith(MARK):
                continue
            head, _, body = text.partition("\n")
            word, _, arg = head[len(MARK):].strip().partition(" ")
            assert pending is None, f"{where}: two test comments in a row"
            if word == "setup":
                assert body.strip(), f"{where}: empty setup"
                steps.append({"kind": "code", "source": body.strip(), "where": where + " (setup)"})
            elif word in ("skip", "file") and arg.strip():
                pending = (word, arg.strip())
            else:
                raise AssertionError(f"{where}: not a test comment: {head!r}")
            continue
        kind = block_kind(node)
        if pending is not None:
            word, arg = pending
            pending = None
            if word == "file":
                steps.append({"kind": "file", "name": arg, "source": text, "where": where})
                continue
            assert kind, f"{where}: 'test: skip' before a block that would not run"
            skipped.append(f"{where}: {arg}")
            continue
        if kind:
            if kind == "code":
                compile(text, where, "exec")  # Python, or fail here
            steps.append({"kind": kind, "source": text, "where": where})
    assert pending is None, f"{path.name}: a test comment at the end steers nothing"
    return steps, skipped


def test_the_user_pages_are_the_pages_with_examples():
    """A new page with Python examples joins USER_PAGES (else this test would not
    run it), and each user page has examples to run."""
    with_examples = {p.name for p in DOCS.glob("*.rst")
                     if any(s["kind"] != "file" for s in page_examples(p)[0])}
    assert with_examples == set(USER_PAGES)


def test_a_comment_steers_the_next_block(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(
        "T\n=\n\n.. test: skip needs S3\n\n.. code-block:: python\n\n    a = 1\n\n"
        ".. test: file cat.yaml\n\n.. code-block:: yaml\n\n    x: 1\n\n"
        ".. test: setup\n\n    b = 2\n\n"
        ".. code-block:: python\n\n    c = b\n\n"
        "Text::\n\n    >>> c\n    2\n\n.. code-block:: console\n\n    $ ls\n")
    steps, skipped = page_examples(page)
    assert [(s["kind"], s["source"]) for s in steps] == [
        ("file", "x: 1"), ("code", "b = 2"), ("code", "c = b"), ("doctest", ">>> c\n2")]
    assert steps[0]["name"] == "cat.yaml"
    assert len(skipped) == 1 and skipped[0].endswith(": needs S3")


@pytest.fixture
def docs_bucket(s3_server, tmp_path):
    """``s3://bucket``, emptied, holding the example catalogs' YAML under catalogs/,
    and open to anonymous reads."""
    import s3fs

    def empty() -> None:
        fs.invalidate_cache()
        left = fs.find("bucket")
        if left:
            fs.rm(left)

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if fs.exists("bucket"):
        empty()
    else:
        fs.mkdir("bucket")
    # readable without credentials too, as the page's storage_options={"anon": True}
    fs.call_s3("put_bucket_policy", Bucket="bucket", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"]}]}))
    for yaml_file in sorted((REPO / "catalogs").glob("*.yaml")):
        fs.put_file(str(yaml_file), f"bucket/catalogs/{yaml_file.name}")
    yield fs
    empty()
    fs.call_s3("delete_bucket_policy", Bucket="bucket")


@pytest.mark.parametrize("page", USER_PAGES)
def test_doc_examples_run_twice_in_a_fresh_store(page, tmp_path, docs_bucket):
    steps, _skipped = page_examples(DOCS / page)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(REPO / "catalogs", work / "catalogs",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    script = tmp_path / "steps.json"
    script.write_text(json.dumps(steps), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        INTAKE_CONF_DIR=str(tmp_path / "conf"),
        INTAKE_PERSIST_PATH=str(tmp_path / "store"),
        PYTHONPATH=os.pathsep.join([str(work), str(REPO)]),
    )
    for run in (1, 2):
        proc = subprocess.run([sys.executable, str(RUNNER), str(script)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{page}, run {run}:\n{proc.stderr[-6000:]}"
        assert proc.stdout.splitlines()[-1] == f"ran {len(steps)} steps", proc.stdout[-2000:]
