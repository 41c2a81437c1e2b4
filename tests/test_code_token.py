"""code_token: the hash of a function's code, blind to formatting, comments and docstrings."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import textwrap

from intake_persist.tokens import code_token

_counter = itertools.count()


def _load(tmp_path, source, name="f"):
    """Import ``source`` as a fresh module file and return its attribute ``name``."""
    modname = f"_codetok_{next(_counter)}"
    path = tmp_path / f"{modname}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


BASE = """
def f(df, n=2):
    '''Scale the column.'''
    out = df * n
    return out + 1
"""


def test_reformat_comments_docstring_keep_the_token(tmp_path):
    base = code_token(_load(tmp_path, BASE))
    variants = [
        # reformatted
        """
        def f(df,   n = 2):
            '''Scale the column.'''
            out = (df
                   * n)

            return out+1
        """,
        # comments added
        """
        def f(df, n=2):  # scale
            '''Scale the column.'''
            # multiply first
            out = df * n
            return out + 1  # shift
        """,
        # docstring edited, then removed
        """
        def f(df, n=2):
            '''Scale the column by n and shift it by one (edited).'''
            out = df * n
            return out + 1
        """,
        """
        def f(df, n=2):
            out = df * n
            return out + 1
        """,
        # moved down the file behind other code, renamed, decorated
        """
        import functools
        X = 1


        @functools.lru_cache
        def g(df, n=2):
            out = df * n
            return out + 1
        """,
    ]
    for i, src in enumerate(variants):
        name = "g" if "def g" in src else "f"
        assert code_token(_load(tmp_path, src, name)) == base, i


def test_logic_changes_change_the_token(tmp_path):
    base = code_token(_load(tmp_path, BASE))
    variants = [
        BASE.replace("df * n", "df * n * n"),
        BASE.replace("out + 1", "out + 2"),
        BASE.replace("n=2", "n=3"),
        BASE.replace("return out + 1", "return out - 1"),
        BASE.replace("'''Scale the column.'''", "'''Scale.'''\n    df = df.dropna()"),
    ]
    tokens = {code_token(_load(tmp_path, src)) for src in variants}
    assert base not in tokens
    assert len(tokens) == len(variants)


def test_nested_docstrings_and_string_statements(tmp_path):
    src = """
    def f(x):
        def inner(y):
            '''Inner doc.'''
            return y + 1
        return inner(x)
    """
    base = code_token(_load(tmp_path, src))
    assert code_token(_load(tmp_path, src.replace("Inner doc.", "Other doc."))) == base
    assert code_token(_load(tmp_path, src.replace("y + 1", "y + 5"))) != base
    # a string used as a value is logic, not a docstring
    val = "def f(x):\n    return 'a'\n"
    other = val.replace("'a'", "'b'")
    assert code_token(_load(tmp_path, val)) != code_token(_load(tmp_path, other))


def test_without_source_falls_back_to_bytecode():
    def make(body):
        scope: dict = {}
        exec(f"def h(x):\n    {body}\n", scope)
        return scope["h"]

    one, same, other = make("return x + 1"), make("return x + 1"), make("return x + 2")
    assert code_token(one) == code_token(same)
    assert code_token(one) != code_token(other)
    assert code_token(one) != code_token(make("return math.floor(x)"))


def test_lambdas_partials_methods_builtins(tmp_path):
    lam = _load(tmp_path, "f = lambda x: x * 2\n")
    assert code_token(lam) == code_token(_load(tmp_path, "f = lambda x:   x*2  # double\n"))
    assert code_token(lam) != code_token(_load(tmp_path, "f = lambda x: x * 3\n"))

    func = _load(tmp_path, BASE)
    assert code_token(functools.partial(func, n=3)) == code_token(functools.partial(func, n=3))
    assert code_token(functools.partial(func, n=3)) != code_token(functools.partial(func, n=4))
    assert code_token(functools.partial(func, n=3)) != code_token(func)

    cls = _load(tmp_path, "class C:\n    def m(self, x):\n        return x + 1\n", "C")
    cls2 = _load(tmp_path, "class C:\n    def m(self, x):\n        return x + 9\n", "C")
    assert code_token(cls().m) == code_token(cls.m)
    assert code_token(cls().m) != code_token(cls2().m)

    assert code_token(math.floor) == code_token(math.floor)
    assert code_token(math.floor) != code_token(math.ceil)
    assert len(code_token(math.floor)) == 32
