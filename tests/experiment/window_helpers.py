"""Driving ``python -m experiment run`` in a real window under Xvfb, from outside, like a participant."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from experiment.logfile import find_session

from .stimuli_fixture import make_stimuli

WAIT_S = 60  # generous: two shared CPU cores, PsychoPy import takes several seconds
# A quick simulated participant for the window tests: no test here is about the RT distribution, and
# every simulated second is a second of the session's wall time (redrawn at 60 Hz on Xvfb, which has no
# refresh; with the default mean of 0.35 s per screen a 4-trial session waited about 4 s). The face's
# minimum RT is lowered with it so that a press is never an anticipation; the anticipation rule has its own test.
FAST_SIM = ("--sim-rt-mean", "0.1", "--sim-rt-sd", "0.01", "--min-rt", "0.06")


class Session:
    """A ``python -m experiment run`` process plus its JSON-lines event feed.

    Xvfb has no vsync, so the preflight would (rightly) refuse it: sessions here
    pass ``--allow-unlocked-display`` unless ``unlocked_ok=False``. A ``--simulate`` session gets
    ``FAST_SIM`` unless the test sets its own ``--sim-rt-mean``.
    """

    def __init__(self, tmp_path, *args, participant="P01", n_photos=2, manifest=None, windowed=True,
                 instructions=False, unlocked_ok=True, env=None, logs=None, command=None):
        self.manifest = manifest or make_stimuli(tmp_path / "stim", n_photos=n_photos)
        self.logs = logs or tmp_path / "logs"
        self.participant = participant
        self.events_path = tmp_path / f"events_{time.monotonic_ns()}.jsonl"
        self.events, self._offset = [], 0
        cmd = (command or [sys.executable, "-m", "experiment", "run"]) + [
            "--conditions", str(self.manifest), "--logs", str(self.logs), "--monitor-width-cm", "53",
            "--events-file", str(self.events_path)]
        cmd += ["--participant", participant] if participant else []
        cmd += ["--windowed"] if windowed else []
        cmd += [] if instructions else ["--no-instructions"]
        cmd += ["--allow-unlocked-display"] if unlocked_ok else []
        cmd += list(FAST_SIM) if "--simulate" in args and "--sim-rt-mean" not in args else []
        self.proc = subprocess.Popen(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)

    def paths(self, session=1):
        return find_session(self.logs, self.participant, session)

    @property
    def csv(self):
        return self.paths().csv

    @property
    def sidecar(self):
        return self.paths().sidecar

    @property
    def order(self):
        return self.paths().order

    def _read(self):
        if self.events_path.exists():
            with self.events_path.open() as f:
                f.seek(self._offset)
                chunk = f.read()
            complete = chunk[:chunk.rfind("\n") + 1]
            self._offset += len(complete.encode())
            self.events += [json.loads(line) for line in complete.splitlines()]

    def wait_for(self, event, **match):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self._read()
            for e in self.events:
                if e["event"] == event and all(e.get(k) == v for k, v in match.items()) and not e.get("_seen"):
                    e["_seen"] = True
                    return e
            if self.proc.poll() is not None:
                self._read()
                if not any(e["event"] == event and not e.get("_seen") for e in self.events):
                    break
            time.sleep(0.01)
        out, err = self.proc.communicate(timeout=5) if self.proc.poll() is not None else ("", "")
        raise AssertionError(f"no {event} {match} within {WAIT_S}s; rc={self.proc.poll()} stderr={err[-2000:]}")

    def onsets(self, screen):
        self._read()
        return [e for e in self.events if e["event"] == "onset" and e["screen"] == screen]

    def focus(self):
        subprocess.run(["xdotool", "search", "--sync", "--name", "halfface experiment", "windowfocus", "--sync"],
                       check=True, timeout=WAIT_S, capture_output=True)

    def finish(self):
        out, err = self.proc.communicate(timeout=WAIT_S)
        self._read()
        return self.proc.returncode, out, err


def press(key):
    """Send one key from outside the process; returns the wall-clock interval the send took."""
    t0 = time.time()
    subprocess.run(["xdotool", "key", key], check=True, timeout=10)
    return t0, time.time()


def answer_trial(s, trial, space_delay, emotion_key, intensity_key, stray_keys=(), early_space=False):
    """Answer one trial like a participant; returns (face onset wall time, send window of the counted SPACE)."""
    onset = s.wait_for("onset", screen="stimulus", trial=trial)
    if early_space:
        press("space")  # an anticipation: faster than --min-rt, must be ignored
    time.sleep(max(0.0, onset["wall"] + space_delay - time.time()))
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


def screenshot_folder(tmp_path, name) -> Path:
    root = os.environ.get("HALFFACE_SCREENSHOTS")
    return (Path(root) if root else tmp_path / "screenshots") / name


def grab_display(path):
    """A PNG of the whole X display (for screens PsychoPy does not draw, e.g. the Qt dialog)."""
    from PIL import ImageGrab

    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).save(path)
    return path
