"""Package layout the issue asks for: no import cycle inside recognition/, the training loop on one screen, and
an install that keeps a user's own torch."""
import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "recognition"


def _imports(path: Path) -> set[str]:
    """recognition.* modules a file imports anywhere: functions and `if __name__ == "__main__"` blocks included
    (`python -m recognition.train` runs train.py's block: a cycle through it loads train.py twice)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recognition"):
            if node.module == "recognition":
                out |= {f"recognition.{a.name}" for a in node.names}
            else:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("recognition.")}
    return out


def test_no_module_of_recognition_imports_itself_back():
    graph = {f"recognition.{p.stem}": _imports(p) - {f"recognition.{p.stem}"} for p in PKG.glob("*.py")}

    def reach(start, node, seen):
        for nxt in graph.get(node, ()):
            if nxt == start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reach(start, nxt, seen):
                    return True
        return False

    cycles = [m for m in graph if reach(m, m, set())]
    assert not cycles, f"import cycles through {cycles}"
    assert "recognition.train" not in graph["recognition.evaluate"]


def test_python_m_recognition_train_imports_every_module_once():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "recognition.train", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--resume" in proc.stdout, proc.stderr[-2000:]
    loaded = re.findall(r"\|\s+(recognition\.\w+)\s*$", proc.stderr, re.M)
    assert "recognition.train_cli" in loaded  # the measurement sees our modules...
    assert "recognition.train" not in loaded  # ...and train.py only as __main__, never a second copy


def test_the_training_loop_fits_on_one_screen_and_train_py_holds_only_the_step_and_loop():
    tree = ast.parse((PKG / "train.py").read_text())
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    assert run.end_lineno - run.lineno + 1 <= 75
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert not names & {"parse_args", "main", "save_checkpoint", "load_checkpoint", "stratified_folds"}


def test_the_recognition_extra_keeps_an_installed_torch_and_pins_live_in_constraints():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    torch_specs = [r for r in meta["recognition"] if re.match(r"torch(vision)?\b", r)]
    assert len(torch_specs) == 2 and all(">=" in r and "==" not in r for r in torch_specs)
    assert {"onnx", "onnxruntime", "onnxscript"} <= {re.split(r"[<>=!~ ]", r)[0] for r in meta["export"]}
    assert "export" in meta["all"][0]
    pins = (REPO / "constraints.txt").read_text()
    assert re.search(r"^torch==\S+$", pins, re.M) and re.search(r"^torchvision==\S+$", pins, re.M)
    assert "-c constraints.txt" in (REPO / "Makefile").read_text()
