"""Package layout of experiment/: no import cycle (function-level imports and ``__main__`` blocks included),
and ``run`` is the ``run`` command, not a hub other modules take helpers from."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "experiment"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, from every import statement anywhere in the file.

    Imports inside functions and under ``if __name__ == "__main__":`` count: a
    late import still makes two modules depend on each other, and ``python -m``
    runs the ``__main__`` block. ``from pkg import mod`` names the module ``mod``
    when it is one; ``from .x import y`` is resolved against the file's package.
    """
    files = {_module_name(p, root): p for p in (root / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
                targets.add(base)
                targets |= {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files}
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, colours white/grey/black)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "grey"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "grey":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "black"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_module_of_experiment_imports_itself_back():
    graph = import_graph(REPO, PACKAGE)
    assert {"experiment.run", "experiment.keys", "experiment.texts", "experiment.web.store"} <= set(graph)
    assert "experiment.keys" in graph["experiment.texts"]  # the graph sees ordinary imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_late_imports_and_main_blocks(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (pkg / "c.py").write_text("g = 1\nif __name__ == '__main__':\n    from . import a\n")
    graph = import_graph(tmp_path, "pkg")
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    (pkg / "c.py").write_text("g = 1\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) is None


def test_run_is_the_run_command_not_a_hub():
    """Display helpers live in screen/monitor and the time zone in logfile: only the command line imports run."""
    graph = import_graph(REPO, PACKAGE)
    importers = sorted(m for m, targets in graph.items() if "experiment.run" in targets)
    assert importers == ["experiment.cli"]
