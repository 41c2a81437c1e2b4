"""Deterministic tokens for sources, equal to ``dask.base.tokenize(source)``.

Importing ``dask.base`` costs about a quarter of a second, which would dominate a
catalog lookup, so the token is computed here with md5. ``DataSource`` returns
a hex digest from ``__dask_tokenize__``; dask hashes ``str((digest,))`` with md5,
and :func:`token_of` does exactly that. ``tests/test_tokens.py`` checks that the
two agree.
"""

from __future__ import annotations

import functools
import json
import sys
import types
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:  # ast, inspect and textwrap are imported by code_token only
    import ast
    from typing import Any


def _normalize(value: Any) -> Any:
    """Turn argument values into JSON-able data with one spelling per value."""
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_normalize(v) for v in value), key=repr)
    dt = sys.modules.get("datetime")  # no datetime value exists before it is imported
    if dt is not None and isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"__datetime__": value.isoformat()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"}


def digest(*parts: Any) -> str:
    """md5 of the canonical JSON of ``parts``: what ``__dask_tokenize__`` returns."""
    text = json.dumps(_normalize(list(parts)), sort_keys=True, separators=(",", ":"))
    return _md5_hex(text.encode())


def _md5_hex(data: bytes) -> str:
    """The md5 hex digest of ``data``, from CPython's built-in ``_md5`` where there is
    one: importing hashlib loads OpenSSL, several ms of a fresh catalog lookup."""
    try:
        from _md5 import md5  # type: ignore[import-not-found]  # no stub: md5 as hashlib's
    except ImportError:  # a Python built without its own md5
        from hashlib import md5
    return md5(data, usedforsecurity=False).hexdigest()


def token_of(obj: Any) -> str:
    """The token dask would give ``obj``, for objects that define ``__dask_tokenize__``
    returning a string; falls back to dask itself for anything else."""
    method = getattr(obj, "__dask_tokenize__", None)
    if method is not None and not isinstance(obj, type):
        inner = method()
        if isinstance(inner, str):
            return _md5_hex(str((inner,)).encode())
    from dask.base import tokenize

    return tokenize(obj)


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of every function and class in ``tree``, in place."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]


def _function_node(func: Callable[..., Any]) -> ast.AST | None:
    """The AST of ``func``'s own definition, or None when its source is unavailable
    or ambiguous (a lambda sharing its lines with another lambda)."""
    import ast
    import inspect
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.name = ""
            node.decorator_list = []
            _strip_docstrings(node)
            return node
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    return lambdas[0] if len(lambdas) == 1 else None


def _bytecode_parts(code: types.CodeType) -> list[Any]:
    """Instructions, names and constants of ``code``, nested code objects included;
    line numbers and file names are left out so moving the code keeps the token."""
    consts: list[Any] = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            consts.append(_bytecode_parts(const))
        else:
            consts.append(repr(const))
    return [code.co_code.hex(), list(code.co_names), list(code.co_varnames), consts]


def code_token(func: Callable[..., Any]) -> str:
    """A hash of what ``func`` does, blind to its name, decorators, docstrings,
    comments and formatting, so reformatting keeps a derived copy and editing the
    logic invalidates it.

    It hashes the function's syntax tree (``ast.dump`` without positions). Without
    source (a function made by ``exec``, a lambda sharing its line with another)
    it hashes the bytecode, constants and names; a builtin hashes as its module and
    qualified name. ``functools.partial`` covers its function and bound arguments.
    The caller adds the function's name when it should count. Trees differ between
    Python versions, so an interpreter upgrade changes the hash.
    """
    import ast
    import inspect

    if isinstance(func, functools.partial):
        return digest("partial", code_token(func.func), list(func.args), func.keywords)
    func = inspect.unwrap(func)
    target = getattr(func, "__func__", func)
    node = _function_node(target)
    if node is not None:
        return digest("ast", ast.dump(node, include_attributes=False))
    code = getattr(target, "__code__", None)
    if isinstance(code, types.CodeType):
        return digest("code", _bytecode_parts(code))
    module = getattr(target, "__module__", None) or type(target).__module__
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return digest("name", module, name)
