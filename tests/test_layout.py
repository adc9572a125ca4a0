"""The toolkit's layout (docs/architecture.md): no import cycle anywhere, and a shared core with no dependency.

The import graph is read from the source with ``ast`` (nothing is imported), counting every import a file makes:
at the top, inside functions, and under ``if __name__ == "__main__":`` (``python -m pkg.mod`` runs that block, so a
cycle through it loads the module twice).
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("halfface", "stimuli", "experiment", "analysis", "recognition")
STDLIB_ONLY = ("halfface.schema", "halfface.cli")
KNOWN_CYCLES: list[set[str]] = []  # none: every cycle fails


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every .py of the packages (a package's own name for its __init__.py)."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules) -> set[str]:
    """The toolkit modules ``path`` imports anywhere in the file (absolute and relative imports)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def add(target):
        while target and target not in modules:  # an attribute of a module: the module itself
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan), each a set of module names."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph():
    """The toolkit's import graph, parsed once for the tests that read it (every .py of the packages)."""
    return import_graph()


def test_the_import_graph_sees_imports_in_functions_and_main_blocks(graph):
    assert {"stimuli", "experiment", "analysis", "recognition", "halfface.schema"} <= set(graph)
    assert "stimuli.cli" in graph["stimuli.__main__"]  # top level
    assert "recognition.train_cli" in graph["recognition.train"]  # inside `if __name__ == "__main__":`
    assert "halfface.schema" in graph["recognition.data"]


def test_a_cycle_through_a_main_block_or_a_relative_import_is_found(tmp_path):
    (tmp_path / "train.py").write_text("import os\n\nif __name__ == '__main__':\n    from pkg.train_cli import main\n")
    (tmp_path / "train_cli.py").write_text("def main():\n    from . import train\n")
    (tmp_path / "data.py").write_text("from pkg.train import *\n")
    modules = {f"pkg.{p.stem}": p for p in tmp_path.glob("*.py")}
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert graph == {"pkg.train": {"pkg.train_cli"}, "pkg.train_cli": {"pkg.train"}, "pkg.data": {"pkg.train"}}
    assert cycles(graph) == [{"pkg.train", "pkg.train_cli"}]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_across_the_toolkit(graph):
    found = [c for c in cycles(graph) if c not in KNOWN_CYCLES]
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_the_shared_core_imports_no_toolkit_package(graph):
    """halfface/ is imported by all four packages (and by recognition on a bare torch machine): it uses none."""
    for name, targets in graph.items():
        if name.split(".")[0] == "halfface":
            assert {t.split(".")[0] for t in targets} <= {"halfface"}, (name, targets)


def test_schema_and_cli_import_only_the_standard_library():
    for name in STDLIB_ONLY:
        tree = ast.parse(module_files()[name].read_text(encoding="utf-8"))
        tops = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        tops |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                 and not n.level}
        assert tops <= set(sys.stdlib_module_names) | {"__future__"}, (name, tops - set(sys.stdlib_module_names))
    # and at run time: importing them loads no third-party or toolkit module
    code = ("import sys; before = set(sys.modules); import halfface.schema, halfface.cli; "
            "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(new - set(sys.stdlib_module_names) - {'halfface'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
