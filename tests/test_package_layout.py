"""The package's house rules that a reader of the code relies on: no import cycle
among module-level imports, and no module importing another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "intake_persist"


def module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported(name: str, path: Path, node: ast.ImportFrom) -> tuple[str, list[str]]:
    """The module an ``from ... import`` names, and the names it takes."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return target, [a.name for a in node.names]


def top_level_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Edges of imports run at import time (module body, outside TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                target, names = imported(name, path, node)
                for cand in [target, *(f"{target}.{n}" for n in names)]:
                    if cand in mods and cand != name:
                        graph[name].add(cand)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in mods)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package importing its own submodule, and that submodule being imported
            # through the package, is how packages work, not a cycle of two modules
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_at_import_time():
    assert find_cycle(top_level_graph(module_names())) is None


def test_no_private_names_imported_across_modules():
    mods = module_names()
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target, names = imported(name, path, node)
                if target.split(".")[0] != "intake_persist":
                    continue
                found += [f"{name} imports {target}.{n}" for n in names
                          if n.startswith("_") and not n.startswith("__")
                          and f"{target}.{n}" not in mods]  # a private module is fine
    assert found == []
