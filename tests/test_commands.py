"""One error and exit convention for every command (halfface.cli; docs/architecture.md, "Errors and exit codes").

A user mistake is one line ``error: ...`` on stderr and exit 2 in every package; Ctrl-C exits 130; a bug keeps
its traceback; ``python -m <package>`` lists every command of the package with an example.
"""
import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from halfface.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR, CommandFailed, UserError, print_error, run_main

from .test_layout import module_files

REPO = Path(__file__).resolve().parents[1]


# --- run_main --------------------------------------------------------------------------------------------

def test_run_main_turns_a_user_error_into_one_line_and_exit_2(capsys):
    @run_main
    def main(argv=None):
        raise UserError(f"{argv[0]} row 3: emotion 'joy' is not one of happiness, ...; fix the row")

    assert main(["labels.csv"]) == EXIT_USER_ERROR == 2
    err = capsys.readouterr().err
    assert err == "error: labels.csv row 3: emotion 'joy' is not one of happiness, ...; fix the row\n"


def test_run_main_passes_the_exit_code_and_catches_only_what_it_is_told(capsys):
    @run_main(also=(KeyError,))
    def main(code, exc=None):
        if exc is not None:
            raise exc
        return code

    assert main(0) == 0 and main(3) == 3
    assert main(0, KeyError("no such column")) == 2
    assert capsys.readouterr().err == "error: 'no such column'\n"
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        main(0, ZeroDivisionError("bug"))


def test_run_main_exits_130_on_ctrl_c_saying_what_was_kept(capsys):
    @run_main(interrupted="interrupted; nothing was written")
    def main():
        raise KeyboardInterrupt

    assert main() == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "interrupted; nothing was written\n"


def test_a_documented_failing_outcome_is_one_line_with_its_own_exit_code(capsys):
    class Undetected(UserError):
        exit_code = 1

    @run_main
    def main(exc):
        raise exc

    assert main(CommandFailed("bound(s) broken: first_trial; please report this")) == 1
    assert main(CommandFailed("every simulated data set failed", exit_code=5)) == 5
    assert main(Undetected("2 photo(s) without a face: blank.png, ...")) == 1
    assert capsys.readouterr().err == ("error: bound(s) broken: first_trial; please report this\n"
                                       "error: every simulated data set failed\n"
                                       "error: 2 photo(s) without a face: blank.png, ...\n")


def test_a_message_of_several_problems_is_one_error_line_each(capsys):
    assert print_error(ValueError("a.csv line 2: empty emotion\na.csv line 5: empty stimulus")) == 2
    assert capsys.readouterr().err == "error: a.csv line 2: empty emotion\nerror: a.csv line 5: empty stimulus\n"


@pytest.mark.parametrize("module, name", [
    ("stimuli.errors", "StimulusError"), ("stimuli.build", "UndetectedFaces"),
    ("recognition.errors", "DataError"), ("recognition.errors", "MissingSplitError"),
    ("experiment.run", "UserError"), ("experiment.run", "ParticipantError"),
    ("experiment.conditions", "ConditionsError"), ("experiment.texts", "TextsError"),
    ("experiment.web.build", "BuildError"), ("experiment.web.server", "ServeError"),
    ("analysis.load", "LogError"), ("halfface.execution", "ExecutionError"),
])
def test_every_package_error_is_a_user_error(module, name):
    assert issubclass(getattr(importlib.import_module(module), name), UserError)


# --- every command: bad input is one line and exit 2 -----------------------------------------------------

BAD_INPUT = [
    ("stimuli.cli", ["build", "{tmp}/no_photos", "--labels", "{tmp}/labels.csv", "--out", "{tmp}/out"],
     "photos folder not found"),
    ("experiment.cli", ["order", "--participant", "P01", "--conditions", "{tmp}/missing.csv"],
     "conditions file not found"),
    ("experiment.cli", ["web", "--conditions", "{tmp}/missing.csv", "--out", "{tmp}/site"],
     "conditions file not found"),
    ("experiment.cli", ["audit", "--conditions", "{tmp}/missing.csv", "--participants", "4"],
     "conditions file not found"),
    ("experiment.cli", ["run", "--participant", "P01", "--conditions", "{tmp}/missing.csv", "--logs", "{tmp}/logs"],
     "conditions file not found"),
    ("recognition.train", ["--dataset", "stimuli", "--data", "{tmp}/missing.csv", "--out", "{tmp}/run"],
     "no such manifest"),
    ("recognition.landmarks", ["--dataset", "fer2013", "--data", "{tmp}/missing.csv"], "no such file"),
    ("recognition.evaluate", ["{tmp}/missing.pt", "--dataset", "synthetic", "--data", "n=8"], "no such checkpoint"),
    ("recognition.export", ["{tmp}/missing.pt", "--onnx", "{tmp}/x.onnx"], "no such checkpoint"),
    ("recognition.predict", ["{tmp}/missing.pt", "{tmp}/a.png", "--detector", "none"], "no such checkpoint"),
    ("recognition.table2", ["--data", "{tmp}/missing.csv", "--out", "{tmp}/t2"], "no such manifest"),
    ("analysis.report", ["{tmp}/no_logs"], "not a directory"),
    ("analysis.power", ["{tmp}/no_logs", "--no-progress"], "not a directory"),
    ("analysis.simulate", ["--out", "{tmp}/logs"], "already holds CSV files"),
]

# bad input whose message names an option or a command rather than a file
BAD_OPTION = [
    ("experiment.cli", ["check-display", "--out", "{tmp}/afile"], "--out {tmp}/afile is a file"),
    ("analysis.calibration", ["--out", "{tmp}/afile", "--datasets", "1", "--power-datasets", "0", "--no-progress"],
     "--out {tmp}/afile: exists and is not a folder"),
    ("analysis.__main__", ["report"], "python -m analysis report: a command runs as python -m analysis.<command>"),
    ("recognition.__main__", ["train"], "python -m recognition train: a command runs as"),
    ("recognition.train", ["--resume", "{tmp}/afile"], "--resume {tmp}/afile: no config.json there"),
    ("halfface.execution", ["job-script"], "job-script needs --cluster"),
]


def _main_of(module):
    if module == "recognition.train":  # train.py hands its run_all to train_cli.main (no import cycle)
        from recognition import train, train_cli

        return lambda argv: train_cli.main(train.run_all, argv)
    return importlib.import_module(module).main


def _one_error_line(module, argv, tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "P01_s1.csv").write_text("participant\n")
    code = _main_of(module)([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("module, argv, says", BAD_INPUT, ids=[f"{m} {a[0]}" for m, a, _ in BAD_INPUT])
def test_a_missing_input_file_is_one_line_and_exit_2_in_every_package(module, argv, says, tmp_path, capsys):
    err = _one_error_line(module, argv, tmp_path, capsys)
    assert err.startswith(f"error: {tmp_path}") and says in err, err


@pytest.mark.parametrize("module, argv, says", BAD_OPTION, ids=[f"{m} {a[0]}" for m, a, _ in BAD_OPTION])
def test_a_bad_option_or_command_is_one_line_and_exit_2(module, argv, says, tmp_path, capsys):
    err = _one_error_line(module, argv, tmp_path, capsys)
    assert says.format(tmp=tmp_path) in err, err


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_an_output_folder_that_cannot_be_made_is_one_line_and_exit_2_before_any_work(where, tmp_path, capsys):
    from analysis import report
    from analysis.simulate import simulate_trials, write_logs

    write_logs(simulate_trials(3, seed=1), tmp_path / "logs")
    (tmp_path / "afile").write_text("not a folder")
    out = tmp_path / "afile" if where == "file" else tmp_path / "afile" / "sub"
    code = report.main([str(tmp_path / "logs"), "--include-simulated", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: --out {out}: "), err
    assert (tmp_path / "afile").read_text() == "not a folder"


# --- python -m <package> lists every command with an example ---------------------------------------------

def _listing(package):
    proc = subprocess.run([sys.executable, "-m", package], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def test_python_m_stimuli_and_experiment_list_every_subcommand_with_an_example():
    from experiment.cli import build_parser
    from stimuli.cli import _parser

    for package, parser in (("stimuli", _parser()), ("experiment", build_parser())):
        commands = next(a for a in parser._actions if a.choices and a.dest == "command").choices
        out = _listing(package)
        examples = set(re.findall(rf"^\s+python -m {package} ([\w-]+)", out, re.M))
        assert set(commands) <= examples, (package, set(commands) - examples)


def test_python_m_recognition_lists_every_runnable_module_with_an_example():
    runnable = {p.stem for p in (REPO / "recognition").glob("*.py")
                if p.stem != "__main__" and 'if __name__ == "__main__":' in p.read_text()}
    out = _listing("recognition")
    examples = set(re.findall(r"example: python -m recognition\.(\w+)", out))
    assert runnable and runnable == examples, runnable ^ examples


# --- the sources: every command uses run_main, none prints its own error lines ----------------------------

def entry_points(modules: dict[str, Path]) -> dict[str, Path]:
    """Modules whose ``main`` a command runs: those with a ``__main__`` block or file, and the modules such a
    block imports ``main`` from (``recognition.train`` -> ``train_cli``, ``experiment/__main__`` -> ``cli``)."""
    found = set()
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = path.name == "__main__.py" or any(
            isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body)
        if not guarded:
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            found.add(name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "main" for a in node.names):
                base = node.module or ""
                if node.level:
                    base = ".".join(name.split(".")[:-node.level] + ([base] if base else []))
                found.add(base)
    return {name: modules[name] for name in found}


def unwrapped_mains(entry: dict[str, Path]) -> list[str]:
    """``module line N`` for each command ``main`` not decorated with ``run_main``."""
    out = []
    for name, path in sorted(entry.items()):
        main = next(n for n in ast.parse(path.read_text(encoding="utf-8")).body
                    if isinstance(n, ast.FunctionDef) and n.name == "main")
        names = {ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in main.decorator_list}
        if not names & {"run_main", "halfface.cli.run_main"}:
            out.append(f"{name} line {main.lineno}")
    return out


def _starts_with_error(node) -> bool:
    """A string or f-string whose text begins with ``error:``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lstrip().startswith("error:")
    if isinstance(node, ast.JoinedStr) and node.values:
        return _starts_with_error(node.values[0])
    return False


def printed_errors(modules: dict[str, Path]) -> list[str]:
    """``module line N`` for each ``print("error: ...")`` / ``sys.stderr.write("error: ...")`` in the sources."""
    out = []
    for name, path in sorted(modules.items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and _starts_with_error(node.args[0]) and \
                    ast.unparse(node.func) in ("print", "sys.stderr.write", "stderr.write"):
                out.append(f"{name} line {node.lineno}")
    return out


def test_every_command_main_is_wrapped_by_run_main():
    entry = entry_points(module_files())
    assert {"stimuli.cli", "experiment.cli", "analysis.report", "analysis.power", "analysis.__main__",
            "recognition.train_cli", "recognition.predict", "halfface.execution"} <= set(entry), sorted(entry)
    assert not unwrapped_mains(entry), "a command's main without @run_main (docs/architecture.md, 'Errors and " \
        "exit codes'): " + ", ".join(unwrapped_mains(entry))


def test_no_module_prints_its_own_error_lines():
    """``error:`` lines come from halfface.cli.print_error (run_main) only: one format, one set of exit codes."""
    sources = {name: path for name, path in module_files().items() if name != "halfface.cli"}
    found = printed_errors(sources)
    assert not found, "raise a UserError (or CommandFailed) instead of printing 'error:': " + ", ".join(found)


def test_the_source_checks_see_a_hand_written_error_block(tmp_path):
    tool = tmp_path / "tool.py"
    tool.write_text("import sys\n\ndef main(argv=None):\n    try:\n        pass\n    except ValueError as e:\n"
                    "        print(f'error: {e}', file=sys.stderr)\n        return 2\n\n"
                    "if __name__ == '__main__':\n    sys.exit(main())\n")
    (tmp_path / "runner.py").write_text("from pkg.tool import main\n\nif __name__ == '__main__':\n    main()\n")
    (tmp_path / "lib.py").write_text("def main():\n    return 0\n")  # not a command: no __main__ block
    modules = {f"pkg.{p.stem}": p for p in tmp_path.glob("*.py")}
    assert set(entry_points(modules)) == {"pkg.tool"}
    assert unwrapped_mains(entry_points(modules)) == ["pkg.tool line 3"]
    assert printed_errors(modules) == ["pkg.tool line 7"]
    tool.write_text("import sys\nfrom halfface.cli import run_main\n\n@run_main(also=(ValueError,))\n"
                    "def main(argv=None):\n    return 0\n\nif __name__ == '__main__':\n    sys.exit(main())\n")
    assert unwrapped_mains(entry_points(modules)) == [] and printed_errors(modules) == []
