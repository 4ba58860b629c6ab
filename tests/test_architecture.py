"""The package's shape, checked on its source: layers import downward only, no import circles (imports inside
functions count), no module over 400 lines, and only the command line ends the process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pixseek"
# lower layers first; a module may import its own layer and those before it (the top-level modules are the base)
LAYERS = ["pixseek", "pixseek.media", "pixseek.lexicon", "pixseek.encoders", "pixseek.store", "pixseek.ingest",
          "pixseek.search", "pixseek.learn", "pixseek.interfaces"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Every pixseek module `name` imports, at any depth of its code (type-checking-only imports included)."""
    tree = ast.parse(MODULES[name].read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):  # a package's own __init__ is not an edge
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> int:
    if name in ("pixseek", "pixseek.__main__"):  # the package's face: the Python API and the command
        return len(LAYERS)
    return max(i for i, layer in enumerate(LAYERS) if name == layer or name.startswith(layer + ".")
               or (layer == "pixseek" and name.count(".") == 1))


def test_imports_point_down():
    upward = [(a, b) for a, deps in GRAPH.items() for b in deps if _layer(b) > _layer(a)]
    assert upward == []


def test_no_import_circles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert circles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_under_400_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 400


def test_only_the_command_line_ends_the_process():
    enders = [name for name, path in MODULES.items() if ("sys.exit(" in path.read_text() or "SystemExit(" in path.read_text())
              and not name.startswith("pixseek.interfaces.cli") and name != "pixseek.__main__"]
    assert enders == []
