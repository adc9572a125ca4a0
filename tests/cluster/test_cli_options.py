"""The execution options of the CLIs: bad combinations and an output folder of other settings are one line, exit 2."""
import pytest

from analysis import calibration, power
from analysis.simulate import simulate_trials, write_logs


@pytest.mark.parametrize("main", [power.main, calibration.main])
@pytest.mark.parametrize("options, message", [
    (["--cluster-jobs", "3"], "--cluster-jobs needs --cluster"),
    (["--scheduler", "tcp://127.0.0.1:1", "--cluster", "slurm"], "--scheduler and --cluster exclude each other"),
    (["--cluster", "slurm", "--cluster-option", "queue"], "--cluster-option queue: use NAME=VALUE"),
])
def test_bad_execution_options_are_one_line_and_exit_2(tmp_path, capsys, main, options, message):
    argv = ([str(tmp_path)] if main is power.main else ["--out", str(tmp_path / "cal")]) + options
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.slow
def test_power_refuses_to_mix_two_plans_in_one_output_folder(tmp_path, capsys):
    write_logs(simulate_trials(4, effect=1.0, seed=2), tmp_path / "logs")
    argv = [str(tmp_path / "logs"), "--participants", "6", "--sims", "2", "--photos", "8", "--include-simulated",
            "--no-progress", "--out", str(tmp_path / "plan")]
    assert power.main(argv) == 0
    before = (tmp_path / "plan" / "power_tasks.jsonl").read_text()
    capsys.readouterr()
    assert power.main([*argv, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "seed=0 there, 1 now" in err and err.count("\n") == 1
    assert (tmp_path / "plan" / "power_tasks.jsonl").read_text() == before
    # more simulations (or sizes) with the same settings extend the plan: the finished ones are kept
    assert power.main([*argv[:4], "4", *argv[5:]]) == 0
    assert "2 of 4 task(s) already in" in capsys.readouterr().err


def test_table2_with_a_scheduler_that_does_not_answer_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from halfface import execution
    from recognition import table2

    from ..recognition.stimuli_fixture import write_manifest

    monkeypatch.setattr(execution, "CONNECT_TIMEOUT", "2s")
    manifest = write_manifest(tmp_path / "stim", photos_per_emotion=1, size=32)
    assert table2.main(["--data", str(manifest), "--arch", "resnet18", "--folds", "2", "--seeds", "1", "--epochs", "1",
                        "--device", "cpu", "--out", str(tmp_path / "t2"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --scheduler tcp://127.0.0.1:9: no Dask scheduler answered") and err.count("\n") == 1
