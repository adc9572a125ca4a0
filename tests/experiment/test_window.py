"""A real PsychoPy window under Xvfb, driven by real key events from another process (xdotool).

Screenshots of the first fixation, stimulus and question screens are written
to $HALFFACE_SCREENSHOTS (if set) or the test's tmp folder.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiment.logfile import read_rows
from experiment.timing import FIXATION_S, frames_for

from .stimuli_fixture import make_stimuli

pytestmark = [pytest.mark.display, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool (apt-get install xdotool)")]

WAIT_S = 60  # generous: two shared CPU cores, PsychoPy import takes several seconds


class Session:
    """A ``python -m experiment run`` process plus its JSON-lines event feed."""

    def __init__(self, tmp_path, *args, participant="P01", n_photos=2, manifest=None):
        self.manifest = manifest or make_stimuli(tmp_path / "stim", n_photos=n_photos)
        self.logs = tmp_path / "logs"
        self.events_path = tmp_path / f"events_{time.monotonic_ns()}.jsonl"
        self.events, self._offset = [], 0
        cmd = [sys.executable, "-m", "experiment", "run", "--participant", participant, "--conditions",
               str(self.manifest), "--logs", str(self.logs), "--windowed", "--no-instructions",
               "--monitor-width-cm", "53", "--events-file", str(self.events_path), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.csv = self.logs / f"{participant}_s1.csv"
        self.sidecar = self.logs / f"{participant}_s1.json"
        self.order = self.logs / f"{participant}_s1_order.csv"

    def wait_for(self, event, **match):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.events_path.exists():
                with self.events_path.open() as f:
                    f.seek(self._offset)
                    chunk = f.read()
                complete = chunk[:chunk.rfind("\n") + 1]
                self._offset += len(complete.encode())
                self.events += [json.loads(line) for line in complete.splitlines()]
            for e in self.events:
                if e["event"] == event and all(e.get(k) == v for k, v in match.items()) and not e.get("_seen"):
                    e["_seen"] = True
                    return e
            if self.proc.poll() is not None and not self.events_path.exists():
                break
            time.sleep(0.01)
        out, err = self.proc.communicate(timeout=5) if self.proc.poll() is not None else ("", "")
        raise AssertionError(f"no {event} {match} within {WAIT_S}s; rc={self.proc.poll()} stderr={err[-2000:]}")

    def focus(self):
        subprocess.run(["xdotool", "search", "--sync", "--name", "halfface experiment", "windowfocus", "--sync"],
                       check=True, timeout=WAIT_S, capture_output=True)

    def finish(self):
        out, err = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, out, err


def press(key):
    """Send one key from outside the process; returns the wall-clock interval the send took."""
    t0 = time.time()
    subprocess.run(["xdotool", "key", key], check=True, timeout=10)
    return t0, time.time()


def answer_trial(s, trial, space_delay, emotion_key, intensity_key, stray_keys=()):
    """Answer one trial like a participant; returns the send-time windows per screen."""
    onset = s.wait_for("onset", screen="stimulus", trial=trial)
    time.sleep(space_delay)
    for k in stray_keys:  # keys that must be ignored on the face screen
        press(k)
    sent = press("space")
    s.wait_for("onset", screen="emotion", trial=trial)
    press("9")  # not a valid emotion key: ignored
    press(emotion_key)
    s.wait_for("onset", screen="intensity", trial=trial)
    press(intensity_key)
    s.wait_for("saved", trial=trial)
    return onset["wall"], sent


@pytest.fixture
def screenshot_dir(tmp_path):
    folder = os.environ.get("HALFFACE_SCREENSHOTS")
    return Path(folder) if folder else tmp_path / "screenshots"


def test_keys_sent_from_outside_are_logged_with_onset_locked_rts(tmp_path, screenshot_dir):
    s = Session(tmp_path, "--screenshots", str(screenshot_dir))
    ready = s.wait_for("ready")
    s.focus()
    plan = [(0.40, "3", "5", ("x",)), (0.25, "1", "2", ()), (0.60, "7", "1", ("Return",)), (0.30, "4", "3", ())]
    windows = [answer_trial(s, n, *p) for n, p in enumerate(plan, start=1)]
    rc, out, err = s.finish()
    assert rc == 0, err
    rows = read_rows(s.csv)
    assert len(rows) == 4
    assert [r["response_key"] for r in rows] == [p[1] for p in plan]
    assert [r["intensity"] for r in rows] == [p[2] for p in plan]
    for row, (onset_wall, (t_send, t_sent)) in zip(rows, windows):
        rt = float(row["rt"])
        # the key went out between t_send and t_sent; ptb stamps it when X delivers it
        assert t_send - onset_wall - 0.02 <= rt <= t_sent - onset_wall + 0.1, (rt, t_send - onset_wall)
        assert float(row["emotion_rt"]) > 0 and float(row["intensity_rt"]) > 0
    sidecar = json.loads(s.sidecar.read_text())
    expected_frames = frames_for(FIXATION_S, sidecar["refresh_rate_hz"])
    assert ready["fixation_frames"] == expected_frames == sidecar["fixation_frames"]
    assert {int(r["fixation_frames"]) for r in rows} == {expected_frames}
    assert all(float(r["fixation_duration"]) > 0 for r in rows)
    assert sidecar["completed"] is True and sidecar["n_trials_planned"] == 4
    onsets = [float(r["stim_onset"]) for r in rows]
    assert onsets == sorted(onsets)
    check_screenshots(screenshot_dir, rows[0]["visible_image_side"])


def check_screenshots(folder, first_image_side):
    """The saved screens show what they should: a central white '+', the face half on its side, text."""
    import numpy as np
    from PIL import Image

    shots = {n: np.asarray(Image.open(folder / f"{n}.png").convert("RGB")).astype(int)
             for n in ("fixation", "stimulus", "emotion", "intensity")}
    h, w, _ = shots["fixation"].shape
    ys, xs = np.nonzero(shots["fixation"].min(axis=2) > 200)  # white pixels
    assert len(xs) > 10
    assert abs(xs.mean() - w / 2) < 5 and abs(ys.mean() - h / 2) < 5 and np.ptp(xs) < 40
    face = shots["stimulus"]
    ys, xs = np.nonzero((face.min(axis=2) > 100) & (face.max(axis=2) < 230) & (np.ptp(face, axis=2) < 10))  # grey skin, not the white cover
    assert len(xs) > 1000
    assert (xs.mean() > w / 2) == (first_image_side == "right")
    for name in ("emotion", "intensity"):
        assert (shots[name].min(axis=2) > 200).sum() > 500  # white text


def test_kill_9_keeps_answered_trials_and_resume_finishes_the_same_order(tmp_path):
    s = Session(tmp_path, participant="P02", n_photos=3)
    s.wait_for("ready")
    s.focus()
    answer_trial(s, 1, 0.1, "2", "3")
    answer_trial(s, 2, 0.1, "6", "4")
    s.wait_for("onset", screen="stimulus", trial=3)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)
    rows_before = read_rows(s.csv)
    assert len(rows_before) == 2
    assert [r["response_key"] for r in rows_before] == ["2", "6"]
    order_before = s.order.read_bytes()
    assert json.loads(s.sidecar.read_text())["completed"] is False

    again = Session(tmp_path, "--resume", "--simulate", participant="P02", manifest=s.manifest)
    assert again.wait_for("ready")["first_trial"] == 3
    rc, out, err = again.finish()
    assert rc == 0, err
    rows = read_rows(s.csv)
    assert len(rows) == 6
    assert rows[:2] == rows_before
    assert [int(r["trial"]) for r in rows] == list(range(1, 7))
    assert s.order.read_bytes() == order_before
    assert [r["stimulus"] for r in rows] == [r["stimulus"] for r in read_rows(s.order)]
    sidecar = json.loads(s.sidecar.read_text())
    assert sidecar["completed"] is True and [r["resumed"] for r in sidecar["runs"]] == [False, True]


def test_escape_asks_for_confirmation_then_ends_cleanly_keeping_data(tmp_path):
    s = Session(tmp_path, participant="P03")
    s.wait_for("ready")
    s.focus()
    answer_trial(s, 1, 0.1, "1", "1")
    s.wait_for("onset", screen="stimulus", trial=2)
    press("Escape")
    s.wait_for("onset", screen="quit")
    press("n")  # declined: trial 2 restarts from the fixation
    s.wait_for("restart", trial=2)
    s.wait_for("onset", screen="stimulus", trial=2)
    press("Escape")
    s.wait_for("onset", screen="quit")
    press("y")
    rc, out, err = s.finish()
    assert rc == 3
    assert "continue with --resume" in err
    rows = read_rows(s.csv)
    assert len(rows) == 1 and rows[0]["response_key"] == "1"
    sidecar = json.loads(s.sidecar.read_text())
    assert sidecar["completed"] is False and sidecar["ended_by"] == "escape" and sidecar["n_trials_done"] == 1


def test_simulated_participant_runs_a_whole_session_in_the_real_window(tmp_path):
    t0 = time.monotonic()
    s = Session(tmp_path, "--simulate", "--sim-accuracy", "1.0", "--practice", "2", "--break-every", "3",
                participant="sim4", n_photos=4)
    rc, out, err = s.finish()
    elapsed = time.monotonic() - t0
    assert rc == 0, err
    assert s.wait_for("end")["n_trials_done"] == 8
    rows = read_rows(s.csv)
    assert len(rows) == 8
    assert all(r["correct"] == "1" for r in rows)  # accuracy 1.0
    assert all(0.05 < float(r["rt"]) < 5 for r in rows)
    assert sum(1 for e in s.events if e["event"] == "onset" and e["screen"] == "break") == 2
    assert sum(1 for e in s.events if e["event"] == "onset" and e["screen"] == "stimulus"
               and str(e["trial"]).startswith("practice")) == 2
    assert elapsed < 90
