"""Command-line behaviour that needs no window: refusals happen before anything is written."""

import subprocess
import sys

from experiment.cli import main

from .stimuli_fixture import make_stimuli


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "experiment", *args], capture_output=True, text=True, timeout=120)


def test_help_shows_an_example_and_exits_zero():
    out = run_cli("--help")
    assert out.returncode == 0 and "example:" in out.stdout
    out = run_cli("run", "--help")
    assert out.returncode == 0 and "--resume" in out.stdout and "--simulate" in out.stdout


def test_bad_participant_id_is_refused_before_anything_is_written(tmp_path):
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    logs = tmp_path / "logs"
    out = run_cli("run", "--participant", "../evil", "--conditions", str(manifest), "--logs", str(logs))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: participant ID '../evil' is not allowed: use 1-64 letters, digits, '-' or '_' (e.g. P07)"]
    assert "Traceback" not in out.stderr
    assert not logs.exists()


def test_missing_stimulus_is_reported_by_line_before_a_window_opens(tmp_path, capsys):
    manifest = make_stimuli(tmp_path / "stim", n_photos=3)
    (tmp_path / "stim" / "images" / "photo02_right.png").unlink()
    logs = tmp_path / "logs"
    # in-process: would hang or fail on the missing DISPLAY if it got as far as a window
    code = main(["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(logs)])
    err = capsys.readouterr().err
    assert code == 2
    assert "line 7: stimulus file 'images/photo02_right.png' not found" in err
    assert not logs.exists()


def _write_sidecar(logs, stem, **fields):
    import json

    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{stem}.json").write_text(json.dumps(fields))
    (logs / f"{stem}.csv").write_text("participant,trial\nP01,1\n")


def test_existing_session_is_found_by_its_sidecar_and_not_overwritten_without_resume(tmp_path, capsys):
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    logs = tmp_path / "logs"
    _write_sidecar(logs, "P01_halfface_2026-11-28_1403", participant="P01", session=1, expName="halfface",
                   participant_number=1)
    before = {p.name: p.read_bytes() for p in logs.iterdir()}
    code = main(["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(logs)])
    err = capsys.readouterr().err
    assert code == 2
    assert "P01 session 1 already has" in err and "P01_halfface_2026-11-28_1403.json" in err and "--resume" in err
    assert {p.name: p.read_bytes() for p in logs.iterdir()} == before
    code = main(["run", "--participant", "P02", "--conditions", str(manifest), "--logs", str(logs), "--resume"])
    assert code == 2
    assert "nothing to resume" in capsys.readouterr().err
    # an old-style session (<participant>_s<session>) is found the same way, through its sidecar
    _write_sidecar(logs, "P03_s1", participant="P03", session=1, participant_number=3)
    assert main(["run", "--participant", "P03", "--conditions", str(manifest), "--logs", str(logs)]) == 2
    assert "P03_s1.json" in capsys.readouterr().err


def test_order_command_prints_the_same_order_every_time(tmp_path, capsys):
    # one run in its own interpreter, the others in this one: two processes (with different hash seeds)
    # must agree, and a second interpreter start per comparison adds nothing
    manifest = make_stimuli(tmp_path / "stim", n_photos=5)
    first = run_cli("order", "--participant", "P07", "--conditions", str(manifest))

    def order(participant):
        assert main(["order", "--participant", participant, "--conditions", str(manifest)]) == 0
        return capsys.readouterr().out

    again, other = order("P07"), order("P08")
    assert first.returncode == 0 and first.stdout == again and first.stdout != other
    lines = first.stdout.splitlines()
    assert "seed 7001" in lines[0]
    assert len(lines) == 2 + 10


def test_order_piped_into_a_reader_that_stops_early_ends_without_a_traceback(tmp_path):
    """`python -m experiment order ... | head` is how an auditor glances at an order."""
    manifest = make_stimuli(tmp_path / "stim", n_photos=5)
    proc = subprocess.Popen([sys.executable, "-m", "experiment", "order", "--participant", "P07", "--conditions",
                             str(manifest)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written
    stderr = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr


def test_no_display_and_an_output_file_for_a_folder_are_one_line_errors(tmp_path):
    """An RA starting the session over ssh (no DISPLAY) gets the fix, not pyglet's traceback."""
    import os

    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    runs = {"run": ["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(tmp_path / "logs")],
            "check": ["check-display", "--out", str(tmp_path / "check")],
            "dialog": ["run", "--conditions", str(manifest), "--logs", str(tmp_path / "logs")]}
    for name, args in runs.items():
        out = subprocess.run([sys.executable, "-m", "experiment", *args], capture_output=True, text=True,
                             timeout=120, env=env)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.strip().splitlines()[-1].startswith("error: no screen to open the window on"), name
    assert not (tmp_path / "logs").exists() and not (tmp_path / "check").exists()
    (tmp_path / "afile").write_text("")
    out = run_cli("check-display", "--out", str(tmp_path / "afile"))
    assert out.returncode == 2 and out.stderr.strip() == (
        f"error: --out {tmp_path / 'afile'} is a file, not a folder: choose a folder for the histogram and numbers")
