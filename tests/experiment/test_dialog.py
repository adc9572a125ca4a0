"""Starting a session without flags: PsychoPy's participant dialog (filled by xdotool) and run_session.py."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiment.logfile import read_rows

from .window_helpers import WAIT_S, Session, grab_display, press, screenshot_folder

pytestmark = [pytest.mark.display, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool (apt-get install xdotool)")]

DIALOG = "halfface session"
RUN_SESSION = Path(__file__).resolve().parents[2] / "experiment" / "run_session.py"


def focus_dialog():
    subprocess.run(["xdotool", "search", "--sync", "--name", DIALOG, "windowfocus", "--sync"], check=True,
                   timeout=WAIT_S, capture_output=True)
    time.sleep(0.3)  # Qt finishes laying out the fields after the window maps


def type_text(text):
    subprocess.run(["xdotool", "type", "--delay", "20", text], check=True, timeout=10)


def test_without_participant_the_dialog_asks_and_reopens_on_an_unusable_id(tmp_path):
    shots = screenshot_folder(tmp_path, "dialog")
    s = Session(tmp_path, "--simulate", "--max-trials", "2", participant=None)
    focus_dialog()
    type_text("alice")  # no digits: no counterbalancing number
    press("Tab")
    press("ctrl+a")
    type_text("2")  # session
    press("Tab")
    type_text("23")  # age
    press("Tab")
    press("Down")  # sex: female
    press("Tab")
    press("Down")
    press("Down")  # handedness: left
    grab_display(shots / "dialog_filled.png")
    press("Return")
    time.sleep(1.0)  # the dialog closes and re-opens with the reason
    focus_dialog()
    grab_display(shots / "dialog_problem.png")
    press("ctrl+a")
    type_text("P11")
    press("Return")
    s.participant = "P11"
    rc, out, err = s.finish()
    assert rc == 0, err
    assert "participant dialog: participant ID 'alice' has no digits" in err
    paths = s.paths(session=2)
    sidecar = json.loads(paths.sidecar.read_text())
    assert (sidecar["participant"], sidecar["session"], sidecar["age"], sidecar["sex"], sidecar["handedness"]) == (
        "P11", 2, 23, "female", "left")
    assert sidecar["participant_number"] == 11
    assert [r["participant"] for r in read_rows(paths.csv)] == ["P11", "P11"]


def test_cancel_in_the_dialog_writes_nothing(tmp_path):
    s = Session(tmp_path, "--simulate", participant=None)
    focus_dialog()
    press("Escape")
    rc, out, err = s.finish()
    assert rc == 4 and "cancelled in the participant dialog; nothing was written" in err
    assert not s.logs.exists()


def test_run_session_script_runs_as_psychopy_runner_would_start_it(tmp_path):
    """Runner's green button runs the file as a script; its settings add the shipped practice stimuli."""
    s = Session(tmp_path, "--simulate", "--max-trials", "3", participant="P05",
                command=[sys.executable, str(RUN_SESSION)])
    rc, out, err = s.finish()
    assert rc == 0, err
    assert len(read_rows(s.csv)) == 3
    practice = read_rows(s.paths().practice)
    assert len(practice) == 4 and {r["photo_id"] for r in practice} == {"practice_surprise_01", "practice_disgust_01"}
