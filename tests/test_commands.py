"""One error and exit convention for every command (halfface.cli; docs/architecture.md, "Errors and exit codes").

A user mistake is one line ``error: ...`` on stderr and exit 2 in every package; Ctrl-C exits 130; a bug keeps
its traceback; ``python -m <package>`` lists every command of the package with an example.
"""
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from halfface.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR, UserError, print_error, run_main

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


def test_a_message_of_several_problems_is_one_error_line_each(capsys):
    assert print_error(ValueError("a.csv line 2: empty emotion\na.csv line 5: empty stimulus")) == 2
    assert capsys.readouterr().err == "error: a.csv line 2: empty emotion\nerror: a.csv line 5: empty stimulus\n"


@pytest.mark.parametrize("module, name", [
    ("stimuli.errors", "StimulusError"), ("stimuli.build", "UndetectedFaces"),
    ("recognition.errors", "UserError"), ("recognition.errors", "DataError"),
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
    ("recognition.evaluate", ["{tmp}/missing.pt", "--dataset", "synthetic", "--data", "n=8"], "no such checkpoint"),
    ("recognition.export", ["{tmp}/missing.pt", "--onnx", "{tmp}/x.onnx"], "no such checkpoint"),
    ("recognition.predict", ["{tmp}/missing.pt", "{tmp}/a.png", "--detector", "none"], "no such checkpoint"),
    ("recognition.table2", ["--data", "{tmp}/missing.csv", "--out", "{tmp}/t2"], "no such manifest"),
    ("analysis.report", ["{tmp}/no_logs"], "not a directory"),
    ("analysis.power", ["{tmp}/no_logs", "--no-progress"], "not a directory"),
]


@pytest.mark.parametrize("module, argv, says", BAD_INPUT, ids=[f"{m} {a[0]}" for m, a, _ in BAD_INPUT])
def test_a_missing_input_file_is_one_line_and_exit_2_in_every_package(module, argv, says, tmp_path, capsys):
    main = importlib.import_module(module).main
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"error: {tmp_path}") and says in err, err


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
