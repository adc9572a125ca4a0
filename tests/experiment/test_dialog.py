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
    s = Session(tmp_path, "--simulate", "--max-trials", "1", participant="P05",
                command=[sys.executable, str(RUN_SESSION)])
    rc, out, err = s.finish()
    assert rc == 0, err
    assert len(read_rows(s.csv)) == 1  # the script passes its command line on
    practice = read_rows(s.paths().practice)
    assert len(practice) == 4 and {r["photo_id"] for r in practice} == {"practice_surprise_01", "practice_disgust_01"}


def test_a_second_start_is_refused_before_its_window_and_after_a_kill_the_dialog_offers_to_continue(tmp_path):
    import os
    import signal

    from .window_helpers import answer_trial

    shots = screenshot_folder(tmp_path, "continue")
    s = Session(tmp_path, participant="P03", n_photos=2)
    s.wait_for("ready")
    second = Session(tmp_path, "--simulate", participant="P03", manifest=s.manifest)
    rc, out, err = second.finish()
    assert rc == 2 and "participant P03 is already being tested: session 1" in err and f"PID {s.proc.pid}" in err
    assert not second.events_path.exists()  # refused before its window (the feed starts with the window)
    s.focus()
    answer_trial(s, 1, 0.3, "2", "3")
    s.wait_for("onset", screen="stimulus", trial=2)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)

    again = Session(tmp_path, "--simulate", participant=None, manifest=s.manifest)
    focus_dialog()
    type_text("P03")
    press("Return")
    subprocess.run(["xdotool", "search", "--sync", "--name", "is unfinished", "windowfocus", "--sync"], check=True,
                   timeout=WAIT_S, capture_output=True)
    time.sleep(0.3)
    grab_display(shots / "continue_dialog.png")
    press("Return")  # the first choice: continue the unfinished session (1 of 4 trials done)
    again.participant = "P03"
    rc, out, err = again.finish()
    assert rc == 0, err
    rows = read_rows(again.csv)
    assert [r["trial"] for r in rows] == ["1", "2", "3", "4"] and [r["reshown"] for r in rows] == ["0", "1", "0", "0"]
    assert len(list(again.logs.glob("P03_*.json"))) == 1  # continued, not a new session


def test_a_refused_age_reopens_the_dialog_with_the_typed_fields_kept(tmp_path):
    s = Session(tmp_path, "--simulate", "--max-trials", "1", participant=None)
    focus_dialog()
    type_text("P12")
    press("Tab")
    press("Tab")
    type_text("abc")  # age
    press("Return")
    time.sleep(1.0)
    focus_dialog()
    press("Tab")
    press("Tab")
    press("ctrl+a")
    type_text("30")  # only the age is typed again: the participant field kept "P12"
    press("Return")
    s.participant = "P12"
    rc, out, err = s.finish()
    assert rc == 0, err
    assert "participant dialog: age: 'abc' is not a whole number" in err
    sidecar = json.loads(s.paths().sidecar.read_text())
    assert (sidecar["participant"], sidecar["age"]) == ("P12", 30)
