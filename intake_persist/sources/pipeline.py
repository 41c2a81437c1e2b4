"""intake 0.x's ``DataFramePipeline``: a list of steps applied to a dask dataframe.

Each step is ``{method: ..., kwargs: {...}}``. ``method`` is, in this order: an
accessor method (``str.lower``, ``dt.floor``) of what the previous step gave; the
special ``cols`` (``kwargs: {columns: ...}``); ``assign``, ``join``, ``merge`` and
``concat`` whose arguments may name other targets of the pipeline; ``apply`` or
``transform`` with ``func`` a dotted path; a method of the dataframe (``query``,
``groupby``, ``mean``...); else a dotted path to ``function(df, **kwargs)``.
``loc`` and ``iloc`` are refused (use ``cols`` and ``query``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from ..errors import MissingTargetError, PipelineStepError
from .derived import DataFrameTransform, DerivedSource, function_token, import_name

_SPECIAL = frozenset({"cols", "assign", "join", "merge", "apply", "transform", "concat"})
_LOC_ADVICE = (
    "loc and iloc are not supported: select columns with "
    "{method: cols, kwargs: {columns: [...]}} and filter rows with "
    "{method: query, kwargs: {expr: 'A > 2'}}"
)


def _check_steps(steps: Any) -> list[dict]:
    if not isinstance(steps, (list, tuple)):
        raise TypeError(f"steps must be a list of {{method, kwargs}} mappings, got {steps!r}")
    out = []
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict) or "method" not in step:
            raise TypeError(f"step {i} must be a mapping with a 'method', got {step!r}")
        kwargs = step.get("kwargs")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError(f"step {i} ({step['method']!r}): 'kwargs' must be a mapping")
        out.append(step)
    return out


def step_functions(steps: list[dict]) -> dict:
    """``{step label: code token}`` for the steps that call a function of the user's
    (a dotted ``method``, or ``func`` of ``apply``/``transform``)."""
    code = {}
    for i, step in enumerate(steps, 1):
        method = step["method"]
        if callable(method):
            code[f"step {i}"] = function_token(method)
        elif method in ("apply", "transform"):
            func = (step.get("kwargs") or {}).get("func")
            if func is not None:
                code[f"step {i}"] = function_token(func)
        elif isinstance(method, str) and "." in method:
            try:
                func = import_name(method)
            except ImportError:  # an accessor such as str.lower
                continue
            if callable(func):
                code[f"step {i}"] = function_token(func)
    return code


def _describe_kwargs(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class DataFramePipeline(DataFrameTransform):
    """The first target's dask dataframe through ``steps``; other targets can be
    named by ``merge``, ``join``, ``assign`` and ``concat`` steps."""

    name = "dataframe_pipeline"

    def __init__(self, steps: Any, **kwargs: Any):
        kwargs["transform"] = _unused
        kwargs.setdefault("transform_kwargs", {})
        super().__init__(**kwargs)
        self.steps = _check_steps(steps)

    def _code(self) -> dict:
        return {**DerivedSource._code(self), **step_functions(self.steps)}

    def _frames(self) -> dict:
        frames = self.__dict__.get("_ip_frames")
        if frames is None:
            frames = {up.name: up.source().to_dask() for up in self._upstreams()}
            self.__dict__["_ip_frames"] = frames
        return frames

    def _target(self, i: int, method: str, name: Any) -> Any:
        if isinstance(name, str) and name in self.targets:
            return self._frames()[name]
        raise MissingTargetError(
            f"DataFramePipeline {self.entry_name!r} step {i} ({method}): {name!r} is not "
            f"one of its targets ({', '.join(map(str, self.targets))})",
            entry=self.entry_name,
        )

    def _bind(self, df: Any, i: int, method: Any, kwargs: dict) -> tuple[Callable[..., Any], dict]:
        """The function a step calls and the keyword arguments it gets."""
        if callable(method):
            return functools.partial(method, df), kwargs
        if method in ("loc", "iloc"):
            raise PipelineStepError(
                f"DataFramePipeline {self.entry_name!r} step {i}: {_LOC_ADVICE}",
                entry=self.entry_name,
            )
        head, dot, tail = method.partition(".")
        if dot and "." not in tail and hasattr(df, head):
            return getattr(getattr(df, head), tail), kwargs
        if method in _SPECIAL:
            return self._special(df, i, method, kwargs)
        bound = getattr(df, method, None)
        if bound is not None:
            return bound, kwargs
        return functools.partial(import_name(method), df), kwargs

    def _special(self, df: Any, i: int, method: str, kwargs: dict) -> tuple[Callable, dict]:
        if method == "cols":
            columns = kwargs.pop("columns")
            return functools.partial(df.__getitem__, columns), kwargs
        if method == "assign":
            targets = self.targets
            values = {
                k: self._target(i, method, v) if isinstance(v, str) and v in targets else v
                for k, v in kwargs.items()
            }
            return df.assign, values
        if method == "join":
            other = kwargs.get("other")
            if isinstance(other, list):
                kwargs["other"] = [self._target(i, method, n) for n in other]
            else:  # one frame (a list of one would refuse lsuffix/rsuffix)
                kwargs["other"] = self._target(i, method, other)
            return df.join, kwargs
        if method == "merge":
            kwargs["right"] = self._target(i, method, kwargs.get("right"))
            return df.merge, kwargs
        if method in ("apply", "transform"):
            func = kwargs.pop("func")
            func = func if callable(func) else import_name(func)
            return functools.partial(getattr(df, method), func), kwargs
        # concat: of targets named in 'dfs'
        import dask.dataframe as dd

        kwargs["dfs"] = [self._target(i, method, n) for n in kwargs.get("dfs") or []]
        return dd.concat, kwargs

    def _apply(self, df: Any) -> Any:
        for i, step in enumerate(self.steps, 1):
            method = step["method"]
            kwargs = copy.deepcopy(step.get("kwargs") or {})
            try:
                func, kwargs = self._bind(df, i, method, kwargs)
                df = func(**kwargs)
            except PipelineStepError:
                raise
            except Exception as exc:
                label = getattr(method, "__name__", method)
                raise PipelineStepError(
                    f"DataFramePipeline {self.entry_name!r} step {i} failed: "
                    f"{label}({_describe_kwargs(step.get('kwargs') or {})}): "
                    f"{type(exc).__name__}: {exc}",
                    entry=self.entry_name,
                ) from exc
        return df


def _unused(df: Any) -> Any:  # pragma: no cover - DataFramePipeline applies its steps
    return df
