"""Runs the examples of one documentation page, in order, in one namespace (used by
tests/test_doc_examples.py, in a fresh interpreter from the page's work folder).

Usage: ``python doc_examples_runner.py STEPS.json``. Each step is a dict with
``kind`` (``code``: a Python block; ``doctest``: ``>>>`` examples; ``file``: text to
write to ``name``), ``source`` and ``where`` (page and line, for tracebacks).
A ``>>>`` example whose output is a traceback must raise an exception of that
type (or a subclass: the pages name the builtin a caller catches) with that
message; other outputs are not compared, only run.
"""

from __future__ import annotations

import builtins
import doctest
import json
import sys


def exception_type(name: str) -> type[BaseException]:
    """A builtin exception or one of intake_persist.errors, by (dotted) name."""
    import intake_persist.errors

    name = name.rsplit(".", 1)[-1]
    found = getattr(builtins, name, None) or getattr(intake_persist.errors, name, None)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise AssertionError(f"not an exception type: {name!r}")
    return found


def run_doctest(source: str, where: str, ns: dict) -> None:
    for ex in doctest.DocTestParser().get_examples(source, where):
        code = compile(ex.source, f"{where} (+{ex.lineno})", "single")
        if ex.exc_msg is None:
            exec(code, ns)
            continue
        # doctest's exc_msg: "Type: message", perhaps over several lines
        name, _, shown = " ".join(ex.exc_msg.split()).partition(": ")
        try:
            exec(code, ns)
        except exception_type(name) as exc:
            got = " ".join(str(exc).split())
            assert got == shown, f"{where}: {ex.source.strip()}\n  shown: {shown}\n  got:   {got}"
        else:
            raise AssertionError(f"{where}: {ex.source.strip()} did not raise {name}")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        steps = json.load(f)
    ns: dict = {"__name__": "__main__"}
    for step in steps:
        if step["kind"] == "file":
            with open(step["name"], "w", encoding="utf-8") as f:
                f.write(step["source"] + "\n")
        elif step["kind"] == "doctest":
            run_doctest(step["source"], step["where"], ns)
        else:
            exec(compile(step["source"], step["where"], "exec"), ns)
    print(f"ran {len(steps)} steps")


if __name__ == "__main__":
    main()
