import pytest

from intake_persist import open_catalog
from intake_persist.catalog.catalog import YAMLFileCatalog


@pytest.fixture
def tree(write_cat, tmp_path):
    write_cat(
        """
        metadata: {level: leaf}
        sources:
          leaf1: {driver: echo, args: {value: '{{ CATALOG_DIR }}'}}
          leaf2: {driver: echo}
    """,
        "sub/deeper/leaf.yaml",
    )
    write_cat(
        """
        sources:
          mid1: {driver: echo, args: {value: '{{ CATALOG_DIR }}'}}
          deeper:
            driver: intake.catalog.local.YAMLFileCatalog
            args: {path: '{{ CATALOG_DIR }}/deeper/leaf.yaml'}
    """,
        "sub/mid.yaml",
    )
    return write_cat("""
        sources:
          top: {driver: echo}
          sub:
            description: a nested catalog
            driver: yaml_file_cat
            args: {path: '{{ CATALOG_DIR }}/sub/mid.yaml'}
            metadata: {kind: nested}
          many:
            driver: yaml_files_cat
            args: {path: ['{{ CATALOG_DIR }}/sub/*.yaml']}
    """)


def test_nested_access(tree, tmp_path):
    cat = open_catalog(tree, persist_mode="never")
    sub = cat.sub
    assert isinstance(sub, YAMLFileCatalog)
    assert sub.entry_name == "sub" and sub.catalog_object is cat
    assert list(sub) == ["mid1", "deeper"]
    # CATALOG_DIR of a nested file is its own directory, ending with "/" (intake 0.7.0)
    assert sub.mid1.value == f"{tmp_path / 'sub'}/"
    assert sub.deeper.leaf1.value == f"{tmp_path / 'sub' / 'deeper'}/"
    assert cat["sub.deeper.leaf1"].value == f"{tmp_path / 'sub' / 'deeper'}/"
    assert cat.sub.describe()["container"] == "catalog"
    assert cat.sub.describe()["description"] == "a nested catalog"
    assert list(cat.many) == ["mid1", "deeper"]


def test_nested_inherit_mode(tree):
    cat = open_catalog(tree, persist_mode="never", allow_shell=True)
    assert cat.sub.persist_mode == "never"
    assert cat.sub._allow_shell is True
    assert cat.sub.deeper.persist_mode == "never"
    assert cat.sub(persist_mode="always").persist_mode == "always"
    assert "persist_mode" not in cat.sub.token_args


def test_walk(tree):
    cat = open_catalog(tree, persist_mode="never")
    assert list(cat.walk(depth=1)) == ["top", "sub", "many"]
    assert list(cat.walk(depth=2)) == [
        "top",
        "sub",
        "sub.mid1",
        "sub.deeper",
        "many",
        "many.mid1",
        "many.deeper",
    ]
    w = cat.walk(depth=3)
    assert "sub.deeper.leaf1" in w and "many.deeper.leaf2" in w
    assert w["sub.deeper.leaf1"].describe()["driver"] == "echo"


@pytest.fixture
def broken_tree(write_cat):
    write_cat(
        """
        sources:
          ok: {driver: echo}
          broken: {driver: yaml_file_cat, args: {path: '{{ CATALOG_DIR }}/missing.yaml'}}
          after: {driver: echo}
    """,
        "sub/mid.yaml",
    )
    return write_cat("""
        sources:
          sub: {driver: yaml_file_cat, args: {path: '{{ CATALOG_DIR }}/sub/mid.yaml'}}
          last: {driver: echo}
    """)


def test_walk_on_error(broken_tree):
    cat = open_catalog(broken_tree, persist_mode="never")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        cat.walk(depth=3)
    assert list(cat.walk(depth=2)) == ["sub", "sub.ok", "sub.broken", "sub.after", "last"]
    skipped = cat.walk(depth=3, on_error="skip")
    assert list(skipped) == ["sub", "sub.ok", "sub.broken", "sub.after", "last"]
    seen = []

    def keep(name, exc):
        seen.append((name, type(exc)))
        return exc

    kept = cat.walk(3, keep)
    # the stand-in comes where the nested entries would have, named after the walk
    assert list(kept) == ["sub", "sub.ok", "sub.broken", "sub.broken.*", "sub.after", "last"]
    assert isinstance(kept["sub.broken.*"], FileNotFoundError)
    assert seen == [("sub.broken.*", FileNotFoundError)]
    assert list(cat.walk(depth=3, on_error=lambda name, exc: None)) == list(skipped)
    with pytest.raises(ValueError, match="on_error"):
        cat.walk(on_error="ignore")


def test_nested_yaml_cannot_grant_shell(write_cat):
    write_cat(
        "sources: {e: {driver: echo, args: {value: '{{ shell(\"echo hi\") }}'}}}", "inner.yaml"
    )
    path = write_cat("""
        sources:
          sub:
            driver: yaml_file_cat
            args: {path: '{{ CATALOG_DIR }}/inner.yaml', allow_shell: true, getshell: true}
    """)
    with pytest.raises(PermissionError):
        _ = open_catalog(path, persist_mode="never").sub.e
    assert open_catalog(path, persist_mode="never", allow_shell=True).sub.e.value == "hi"
