"""Rendering of Jinja2 templates in catalog entry arguments.

Every string in an entry's ``args`` (recursively through dicts and lists) is a
template rendered in a Jinja2 ``SandboxedEnvironment`` with the user parameters,
``CATALOG_DIR``, ``env("VAR")`` and ``shell("cmd")`` (refused unless the catalog
was opened with ``allow_shell=True``).

Importing ``jinja2.sandbox`` costs about 60 ms, so two fast paths avoid it:

* a string without ``{{`` / ``{%`` / ``{#`` is returned as it is;
* a string made only of plain text and ``{{ name }}`` placeholders is substituted
  directly with ``str(value)``, which is what Jinja2 would output.

A string that is exactly one ``{{ name }}`` keeps the value's type (an int stays
an int), as intake 0.x does.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
import re
import time
from typing import Any, TypeGuard

from ..errors import TemplateArithmeticError, TemplateLimitError, TemplateTypeError
from . import limits
from .errors import CatalogError, ShellNotAllowedError, TemplateError

_NAME = r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*"
_WHOLE = re.compile(r"\{\{" + _NAME + r"\}\}")
_PLACEHOLDER = re.compile(r"\{\{" + _NAME + r"\}\}")
_MARKERS = ("{{", "{%", "{#")


def has_template(text: str) -> bool:
    return "{" in text and any(m in text for m in _MARKERS)


def _undefined_name(value: Any) -> Any:
    """``env(VAR)`` with the name unquoted passes an undefined Jinja2 name: use it."""
    name = getattr(value, "_undefined_name", None)
    return name if name is not None else value


def getenv(name: Any, default: Any = "") -> str:
    """``env("VAR")`` (or ``env(VAR)``, as intake allows) in templates: the variable's
    value, or ``default`` (``""``) when unset."""
    return os.environ.get(str(_undefined_name(name)), _undefined_name(default))


def make_shell(allow_shell: bool):
    """``shell("cmd")`` for templates: runs ``cmd`` only when ``allow_shell`` is set."""

    def shell(cmd: Any) -> str:
        cmd = str(_undefined_name(cmd))
        if not allow_shell:
            raise ShellNotAllowedError(
                f"shell({cmd!r}) in a catalog template is refused: shell commands are disabled; "
                "pass allow_shell=True to open_catalog to allow them"
            )
        import subprocess

        out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True)
        return out.stdout.rstrip("\n")

    return shell


def base_context(catalog_dir: str | None, allow_shell: bool = False) -> dict[str, Any]:
    """The names every template sees, besides the user parameters."""
    return {"CATALOG_DIR": catalog_dir or "", "env": getenv, "shell": make_shell(allow_shell)}


# ---- limits ------------------------------------------------------------------------
# Rendering is bounded (numbers in .limits): every loop iteration, call, filter and
# intercepted operator counts against MAX_TEMPLATE_OPS; no string, list or output
# may exceed MAX_TEMPLATE_SIZE, nor their total MAX_TEMPLATE_WORK; integers stay
# under MAX_INT_BITS; MAX_TEMPLATE_SECONDS is a wall-clock backstop. Size-multiplying
# operations (``*``, ``**``, padding and format widths, ``replace``...) are refused
# *before* they run when their result would be too large.
_budget: contextvars.ContextVar = contextvars.ContextVar("intake_persist_template_budget")


class _Budget:
    __slots__ = ("ops", "work", "source", "deadline")

    def __init__(self) -> None:
        self.ops = 0
        self.work = 0
        self.source = 0
        self.deadline = time.monotonic() + limits.MAX_TEMPLATE_SECONDS

    def compile(self, n: int, text: str) -> None:
        """Count ``n`` characters of template source about to be compiled (Jinja2
        compiles some 50 KB a second: the limit keeps compiling bounded too)."""
        self.source += n
        if self.source > limits.MAX_TEMPLATE_SOURCE:
            raise TemplateLimitError(
                f"template {_short(text)}: more than {limits.MAX_TEMPLATE_SOURCE} characters "
                "of templates to compile; refused"
            )

    def tick(self, n: int = 1) -> None:
        self.ops += n
        if self.ops > limits.MAX_TEMPLATE_OPS:
            raise TemplateLimitError(
                f"more than {limits.MAX_TEMPLATE_OPS} operations (loop iterations, calls, "
                "filters, operators); refused"
            )
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"rendering took more than {limits.MAX_TEMPLATE_SECONDS} s; refused"
            )

    def charge(self, value: Any) -> Any:
        """Count a value a template built; refuse one too large."""
        if isinstance(value, (str, list, tuple, dict, set, bytes)):
            n = len(value)
            _check_size(n)
            self.work += n
            if self.work > limits.MAX_TEMPLATE_WORK:
                raise TemplateLimitError(
                    f"builds more than {limits.MAX_TEMPLATE_WORK} characters/items in all; "
                    "refused"
                )
        elif isinstance(value, int) and value.bit_length() > limits.MAX_INT_BITS:
            _too_big_int()
        return value


@contextlib.contextmanager
def one_budget() -> Any:
    """Every template rendered inside shares one budget of work (see the limits)."""
    if _budget.get(None) is not None:
        yield
        return
    token = _budget.set(_Budget())
    try:
        yield
    finally:
        _budget.reset(token)


def _current() -> _Budget:
    budget = _budget.get(None)
    if budget is None:  # a filter folded into a constant while compiling: a budget of its own
        budget = _Budget()
    return budget


def _check_size(n: int) -> None:
    if n > limits.MAX_TEMPLATE_SIZE:
        raise TemplateLimitError(
            f"would build a value or output of {n} characters/items, more than "
            f"{limits.MAX_TEMPLATE_SIZE}; refused"
        )


def _too_big_int() -> None:
    raise TemplateLimitError(
        f"would compute an integer of more than {limits.MAX_INT_BITS} bits; refused"
    )


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _bits(v: Any) -> int:
    return abs(v).bit_length() if _is_int(v) else 0


_PCT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_NUMBER = re.compile(r"\d+")


def _check_format(fmt: Any, args: tuple, percent: bool) -> None:
    """Refuse a format string whose width or precision would build a huge string."""
    if not isinstance(fmt, str):
        return
    big_args = any(_is_int(a) and a > limits.MAX_TEMPLATE_SIZE for a in args)
    if percent:
        for m in _PCT_SPEC.finditer(fmt):
            for group in m.groups():
                if group == "*" and big_args:
                    _check_size(max(a for a in args if _is_int(a)))
                elif group and group.isdigit():
                    _check_size(int(group) if len(group) < 12 else 10**12)
        return
    if big_args and "{" in fmt.replace("{{", "").split("}", 1)[-1]:
        # a nested field ("{:{}}") takes its width from the arguments
        _check_size(max(a for a in args if _is_int(a)))
    for m in _BRACE_SPEC.finditer(fmt):
        for num in _NUMBER.findall(m.group(1)):
            _check_size(int(num) if len(num) < 12 else 10**12)


def _len(v: Any) -> int:
    return len(v) if isinstance(v, (str, list, tuple, dict, set, bytes)) else 0


def _check_binop(op: str, left: Any, right: Any) -> None:
    if op == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            if right > limits.MAX_INT_BITS or right * math.log2(abs(left)) > limits.MAX_INT_BITS:
                _too_big_int()
    elif op == "*":
        if _is_int(left) and _is_int(right):
            if _bits(left) + _bits(right) > limits.MAX_INT_BITS + 1:
                _too_big_int()
        elif _is_int(right) and _len(left):
            _check_size(_len(left) * max(right, 0))
        elif _is_int(left) and _len(right):
            _check_size(_len(right) * max(left, 0))
    elif op == "+":
        if _len(left) and _len(right):
            _check_size(_len(left) + _len(right))
    elif op == "%" and isinstance(left, str):
        _check_format(left, right if isinstance(right, tuple) else (right,), percent=True)


def _replace_size(s: Any, old: Any, new: Any, count: Any = None) -> int:
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    n = len(s) + 1 if not old else s.count(old)
    if _is_int(count) and count >= 0:
        n = min(n, count)
    return len(s) + n * len(new)


def _check_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """Refuse a call of a string method whose result would be huge."""
    inner = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner = getattr(inner, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(inner, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill") and args and _is_int(args[0]):
        _check_size(args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            _check_size(len(owner) * max(size, 1))
    elif name == "replace" and len(args) >= 2:
        _check_size(_replace_size(owner, *args[:3]))
    elif name == "join" and isinstance(args[0] if args else None, (list, tuple)):
        items = args[0]
        _check_size(sum(_len(x) for x in items) + len(owner) * len(items))
    elif name in ("format", "format_map"):
        _check_format(owner, args + tuple(kwargs.values()), percent=False)


def _check_filter(name: str, args: tuple, kwargs: dict) -> None:
    """Refuse a filter application whose result would be huge (or take long)."""
    value = args[0] if args else None
    rest = args[1:]
    if name == "center":
        width = rest[0] if rest else kwargs.get("width", 80)
        if _is_int(width):
            _check_size(width)
    elif name == "indent":
        width = rest[0] if rest else kwargs.get("width", 4)
        lines = (value.count("\n") + 1) if isinstance(value, str) else 1
        if _is_int(width):
            _check_size(_len(value) + lines * max(width, 0))
        elif isinstance(width, str):
            _check_size(_len(value) + lines * len(width))
    elif name == "format":
        _check_format(value, rest + tuple(kwargs.values()), percent=True)
    elif name == "replace" and len(rest) >= 2:
        _check_size(_replace_size(str(value) if value is not None else "", *rest[:3]))
    elif name == "tojson":
        indent = rest[0] if rest else kwargs.get("indent")
        if _is_int(indent) and indent > 1000:
            _check_size(indent * limits.MAX_TEMPLATE_SIZE)
    elif name == "slice":
        slices = rest[0] if rest else kwargs.get("slices", 1)
        if _is_int(slices):
            _current().tick(min(max(slices, 0), limits.MAX_TEMPLATE_OPS + 1))
    elif name == "round":
        precision = rest[0] if rest else kwargs.get("precision", 0)
        if _is_int(precision) and abs(precision) > 400:
            _too_big_int()
    elif name == "join" and isinstance(value, (list, tuple)):
        sep = rest[0] if rest else kwargs.get("d", "")
        _check_size(sum(_len(x) for x in value) + _len(sep) * len(value))


def _guard_filter(name: str, func: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        # pass_context/pass_environment filters get that object first
        plain = args[1:] if getattr(func, "jinja_pass_arg", None) is not None else args
        _check_filter(name, plain, kwargs)
        return budget.charge(func(*args, **kwargs))

    functools.update_wrapper(guarded, func)
    return guarded


def _guarded_iter(iterable: Any) -> Any:
    """What every ``{% for %}`` loops over: the same items, each one counted."""
    budget = _current()
    for item in iterable:
        budget.tick()
        yield item


def _guarded_concat(*parts: Any) -> str:
    """``a ~ b``: refused past the size limit."""
    budget = _current()
    budget.tick()
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    _check_size(sum(map(len, texts)))
    return budget.charge("".join(texts))


def _output_concat(chunks: Any) -> str:
    """Joins a template's (or block's, or macro's) output: refused past the size limit."""
    out = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        _check_size(size)
        out.append(chunk)
    return "".join(out)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    from jinja2.utils import generate_lorem_ipsum

    if not all(_is_int(v) and v <= 1000 for v in (n, min, max)):
        raise TemplateLimitError("lipsum() arguments above 1000; refused")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


_ITER = "_ip_guarded_iter"
_CONCAT = "_ip_guarded_concat"


# ---- the Jinja2 side (imported on first need) ------------------------------------
_env = None
_compiled: dict[str, Any] = {}


def _environment():
    global _env
    if _env is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        class _Limited(SandboxedEnvironment):
            intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/"})

            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.filters = {k: _guard_filter(k, f) for k, f in self.filters.items()}
                self.globals["lipsum"] = _lipsum
                self.globals[_ITER] = _guarded_iter
                self.globals[_CONCAT] = _guarded_concat
                # jinja2 declares `concat = "".join` on the class, which mypy reads as a method
                self.concat = _output_concat  # type: ignore[method-assign]

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                budget = _current()
                budget.tick()
                _check_binop(operator, left, right)
                return budget.charge(super().call_binop(context, operator, left, right))

            def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
                budget = _current()
                budget.tick()
                _check_call(__obj, args, kwargs)
                result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
                owner = getattr(__obj, "__self__", None)
                if isinstance(owner, (list, dict, set)):  # l.extend(l) in a loop...
                    _check_size(len(owner))
                return budget.charge(result)

        _env = _Limited(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return _env


def _guard_ast(env: Any, ast: Any) -> Any:
    """Route every ``{% for %}`` through :func:`_guarded_iter` and every ``~`` through
    :func:`_guarded_concat`."""
    from jinja2 import nodes
    from jinja2.visitor import NodeTransformer

    def call(name: str, args: list, lineno: int) -> Any:
        node = nodes.Call(nodes.Name(name, "load"), args, [], None, None)
        node.set_lineno(lineno)
        node.set_environment(env)
        return node

    class Guard(NodeTransformer):
        def visit_For(self, node: Any) -> Any:
            node = self.generic_visit(node)
            node.iter = call(_ITER, [node.iter], node.lineno)
            return node

        def visit_Concat(self, node: Any) -> Any:
            node = self.generic_visit(node)
            return call(_CONCAT, list(node.nodes), node.lineno)

    return Guard().visit(ast)


def _compile(text: str) -> Any:
    from jinja2 import TemplateError as JinjaTemplateError

    env = _environment()
    try:
        return env.from_string(_guard_ast(env, env.parse(text)))
    except JinjaTemplateError as exc:
        raise TemplateError(f"invalid template {_short(text)}: {exc}") from exc
    except RecursionError as exc:
        raise TemplateLimitError(f"invalid template {_short(text)}: nested too deep") from exc
    except (MemoryError, SyntaxError, ValueError, TypeError, OverflowError) as exc:
        raise TemplateLimitError(
            f"invalid template {_short(text)}: too complex to compile ({type(exc).__name__})"
        ) from exc


def _short(text: str, limit: int = 200) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _render_error(text: str, exc: BaseException) -> TemplateError:
    if isinstance(exc, TemplateError):
        if isinstance(exc, TemplateLimitError) and "template" not in str(exc)[:40]:
            new: TemplateError = TemplateLimitError(f"template {_short(text)}: {exc}")
            new.__cause__ = exc
            return new
        return exc
    if isinstance(exc, (RecursionError, MemoryError)):
        cls: type[TemplateError] = TemplateLimitError
        detail = "nested too deep" if isinstance(exc, RecursionError) else "out of memory"
    else:
        cls = TemplateError
        if isinstance(exc, ArithmeticError):
            cls = TemplateArithmeticError
        elif isinstance(exc, TypeError):
            cls = TemplateTypeError
        detail = str(exc) or type(exc).__name__
    new = cls(f"could not render template {_short(text)}: {detail}")
    new.__cause__ = exc
    return new


def _jinja_render(text: str, context: dict[str, Any]) -> str:
    import subprocess  # shell() raises its CalledProcessError; jinja2 weighs far more

    from jinja2 import TemplateError as JinjaTemplateError

    token = None
    if _budget.get(None) is None:
        token = _budget.set(_Budget())
    try:
        template = _compiled.get(text)
        if template is None:
            _current().compile(len(text), text)
            template = _compile(text)
            if len(_compiled) < 4096:
                _compiled[text] = template
        return template.render(context)
    except CatalogError as exc:
        if isinstance(exc, TemplateLimitError):
            raise _render_error(text, exc) from exc.__cause__
        raise
    except (
        ValueError,
        TypeError,
        ArithmeticError,
        LookupError,
        AttributeError,
        RecursionError,
        MemoryError,
        OSError,
        subprocess.CalledProcessError,
        JinjaTemplateError,
    ) as exc:
        raise _render_error(text, exc) from exc
    finally:
        if token is not None:
            _budget.reset(token)


def _undefined(name: str, text: str) -> TemplateError:
    return TemplateError(f"could not render template {text!r}: {name!r} is undefined")


def render_string(text: str, context: dict[str, Any]) -> Any:
    """Render one string; see the module docstring for the fast paths."""
    if "{" not in text or not any(m in text for m in _MARKERS):
        return text
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        name = whole.group(1)
        if name not in context:
            raise _undefined(name, text)
        return context[name]
    if "{%" not in text and "{#" not in text:
        parts = _PLACEHOLDER.split(text)
        # parts: text, name, text, name, ..., text
        literal = parts[0::2]
        if not any("{{" in p or "{%" in p or "{#" in p for p in literal):
            out = []
            for i, part in enumerate(parts):
                if i % 2:
                    if part not in context:
                        raise _undefined(part, text)
                    out.append(str(context[part]))
                else:
                    out.append(part)
            return "".join(out)
    return _jinja_render(text, context)


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render every string in ``value``, recursing through dicts, lists and tuples.

    All the templates of one call share one budget of work (see the limits above)."""
    if _budget.get(None) is None:
        token = _budget.set(_Budget())
        try:
            return _render(value, context)
        finally:
            _budget.reset(token)
    return _render(value, context)


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, dict):
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(_render(v, context) for v in value)
    return value
