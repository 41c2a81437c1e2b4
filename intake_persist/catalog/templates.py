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

import os
import re
import subprocess
from typing import Any

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
        out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True)
        return out.stdout.rstrip("\n")

    return shell


def base_context(catalog_dir: str | None, allow_shell: bool = False) -> dict[str, Any]:
    """The names every template sees, besides the user parameters."""
    return {"CATALOG_DIR": catalog_dir or "", "env": getenv, "shell": make_shell(allow_shell)}


# ---- the Jinja2 side (imported on first need) ------------------------------------
_env = None
_compiled: dict[str, Any] = {}


def _environment():
    global _env
    if _env is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        _env = SandboxedEnvironment(
            undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
    return _env


def _jinja_render(text: str, context: dict[str, Any]) -> str:
    template = _compiled.get(text)
    if template is None:
        from jinja2 import TemplateError as JinjaTemplateError

        try:
            template = _environment().from_string(text)
        except JinjaTemplateError as exc:
            raise TemplateError(f"invalid template {text!r}: {exc}") from exc
        if len(_compiled) < 4096:
            _compiled[text] = template
    from jinja2 import TemplateError as JinjaTemplateError

    try:
        return template.render(context)
    except (CatalogError, ValueError, TypeError, OSError, subprocess.CalledProcessError) as exc:
        if isinstance(exc, CatalogError):
            raise
        raise TemplateError(f"could not render template {text!r}: {exc}") from exc
    except JinjaTemplateError as exc:
        raise TemplateError(f"could not render template {text!r}: {exc}") from exc


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
    """Render every string in ``value``, recursing through dicts, lists and tuples."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(render(v, context) for v in value)
    return value
