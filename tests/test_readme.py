"""README.rst's Python snippets run, twice in a row, in a fresh store.

The literal blocks of README.rst are taken from the document itself (docutils):
shell blocks (those starting with a command such as ``intake-persist`` or
``python -m``) are left out, every other block is Python and must compile. The
Python blocks run in order as one script, in a fresh interpreter, from a folder
holding a copy of ``catalogs/``, against a fresh store; then the same script runs
again on the same store. The explicit S3 store of the README
(``s3://bucket/intake-persist``) is a bucket on the moto server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rst_doc import parse

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.rst"
SHELL_STARTS = ("intake-persist", "python -m", "pip ", "export ", "$ ", "cd ")


def literal_blocks(path: Path) -> list[str]:
    import docutils.nodes

    return [node.astext() for node in parse(path).findall(docutils.nodes.literal_block)]


def python_blocks(path: Path) -> list[str]:
    blocks = []
    for text in literal_blocks(path):
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        if first.startswith(SHELL_STARTS):
            continue
        compile(text, f"{path.name} block {len(blocks) + 1}", "exec")  # Python, or fail
        blocks.append(text)
    return blocks


def test_readme_has_the_snippets_this_test_runs():
    blocks = python_blocks(README)
    text = "\n".join(blocks)
    for call in ("open_catalog(", ".persist(", ".export(", "store.gc()", "PersistStore("):
        assert call in text, call
    shell = [b for b in literal_blocks(README) if b not in blocks]
    assert any("intake-persist persist" in b for b in shell)


def test_readme_python_snippets_run_twice_in_a_fresh_store(tmp_path, s3_server):
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if not fs.exists("bucket"):
        fs.mkdir("bucket")
    if fs.exists("bucket/intake-persist"):
        fs.rm("bucket/intake-persist", recursive=True)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(REPO / "catalogs", work / "catalogs",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    script = work / "readme_snippets.py"
    script.write_text("\n\n".join(python_blocks(README)), encoding="utf-8")
    env = dict(__import__("os").environ)
    env.update(
        INTAKE_CONF_DIR=str(tmp_path / "conf"),
        INTAKE_PERSIST_PATH=str(tmp_path / "store"),
        PYTHONPATH=str(REPO),
    )
    try:
        for run in (1, 2):
            proc = subprocess.run([sys.executable, str(script)], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"run {run} failed:\n{proc.stderr}"
        assert (tmp_path / "store" / "cat.yaml").exists()
        fs.invalidate_cache()
        assert fs.exists("bucket/intake-persist/cat.yaml")
    finally:
        fs.invalidate_cache()
        if fs.exists("bucket/intake-persist"):
            fs.rm("bucket/intake-persist", recursive=True)
