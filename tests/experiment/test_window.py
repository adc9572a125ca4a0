"""A real PsychoPy window under Xvfb, driven by real key events from another process (xdotool).

Screenshots of every screen are written to $HALFFACE_SCREENSHOTS/<test> (if set)
or the test's tmp folder.
"""

import json
import os
import shutil
import signal
import time
from collections import Counter

import pytest

from experiment.logfile import LAB_COLUMNS, read_rows

from .stimuli_fixture import make_stimuli
from .window_helpers import Session, answer_trial, press, screenshot_folder

pytestmark = [pytest.mark.display, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool (apt-get install xdotool)")]


def test_keys_sent_from_outside_are_logged_with_onset_locked_rts(tmp_path):
    shots = screenshot_folder(tmp_path, "keys")
    s = Session(tmp_path, "--screenshots", str(shots), "--min-rt", "0.6", instructions=True)
    s.wait_for("onset", screen="instructions")
    s.focus()
    press("space")
    # (space delay, emotion key, intensity key, stray keys, early press): the numpad answers like the digit
    # row (KP_3 -> 3, KP_5 -> 5); a SPACE faster than --min-rt is ignored and counted
    plan = [(0.8, "3", "5", ("x",), False), (0.9, "KP_1", "KP_2", (), True), (1.0, "7", "1", ("Return",), False),
            (0.7, "4", "3", (), False)]
    windows = [answer_trial(s, n, delay, e, i, stray, early) for n, (delay, e, i, stray, early) in
               enumerate(plan, start=1)]
    s.wait_for("onset", screen="end")
    press("space")
    rc, out, err = s.finish()
    assert rc == 0, err
    rows = read_rows(s.csv)
    assert list(rows[0]) == list(LAB_COLUMNS)
    assert [r["response_key"] for r in rows] == ["3", "1", "7", "4"]
    assert [r["intensity"] for r in rows] == ["5", "2", "1", "3"]
    assert [r["early_presses"] for r in rows] == ["0", "1", "0", "0"]
    for row, (onset_wall, (t_send, t_sent)) in zip(rows, windows):
        rt = float(row["rt"])
        # the counted key went out between t_send and t_sent; ptb stamps it when X delivers it
        assert t_send - onset_wall - 0.02 <= rt <= t_sent - onset_wall + 0.1, (rt, t_send - onset_wall)
        assert float(row["emotion_rt"]) > 0 and float(row["intensity_rt"]) > 0
    sidecar = json.loads(s.sidecar.read_text())
    assert {r["restarted"] for r in rows} == {"0"}
    assert {(r["expName"], r["platform"], r["psychopyVersion"]) for r in rows} == {
        ("halfface", "lab", sidecar["psychopyVersion"])}
    assert {float(r["frameRate"]) for r in rows} == {sidecar["refresh_rate_hz"]}
    # Xvfb: no vsync, so the run was allowed only by the flag, and says so
    assert sidecar["allow_unlocked_display"] is True and sidecar["display_verified"] is False
    assert sidecar["fixation_timing"] == "clock" and sidecar["display_check"]["problems"]
    # ... and its flips were paced at 60 Hz, not redrawn as fast as Xvfb allows (hundreds a second):
    # a 250 ms fixation is about 15 flips, and a frame counts as dropped only past the pace
    assert sidecar["flip_pacing_hz"] == sidecar["runs"][0]["flip_pacing_hz"] == 60
    assert all(10 <= int(r["fixation_frames"]) <= 31 for r in rows), [r["fixation_frames"] for r in rows]
    # every time in one stated zone
    offset = sidecar["started"][-6:]
    assert sidecar["timezone"].startswith(f"UTC{offset}") and all(r["trial_end"].endswith(offset) for r in rows)
    assert all(0.2 <= float(r["fixation_duration"]) < 0.5 for r in rows)  # 250 ms on the clock, give or take
    assert sidecar["completed"] is True and sidecar["n_trials_planned"] == 4
    # PsychoPy's names: P01_halfface_2026-12-04_23h53.29.396 from expStart 2026-12-04 23h53.29.396123 +0800
    start = sidecar["expStart"]
    assert s.paths().stem == f"P01_halfface_{start[:10]}_{start[11:23]}"
    assert start.startswith(sidecar["started"][:10]) and start.endswith(offset.replace(":", ""))
    assert {(r["expStart"], r["reshown"]) for r in rows} == {(start, "0")}
    assert rows[0]["date"][:10] == start[:10] and "h" in rows[0]["date"]
    assert s.paths().psychopy_log.exists() and "halfface: participant P01" in s.paths().psychopy_log.read_text()
    check_screenshots(shots, rows[0]["visible_image_side"])


def check_screenshots(folder, first_image_side):
    """The saved screens show what they should: a central white '+', the face half on its side, text."""
    import numpy as np
    from PIL import Image

    shots = {n: np.asarray(Image.open(folder / f"{n}.png").convert("RGB")).astype(int)
             for n in ("fixation", "stimulus", "emotion", "intensity", "instructions", "end")}
    h, w, _ = shots["fixation"].shape
    ys, xs = np.nonzero(shots["fixation"].min(axis=2) > 200)  # white pixels
    assert len(xs) > 10
    assert abs(xs.mean() - w / 2) < 5 and abs(ys.mean() - h / 2) < 5 and np.ptp(xs) < 40
    face = shots["stimulus"]
    ys, xs = np.nonzero((face.min(axis=2) > 100) & (face.max(axis=2) < 230) & (np.ptp(face, axis=2) < 10))  # grey skin, not the white cover
    assert len(xs) > 1000
    assert (xs.mean() > w / 2) == (first_image_side == "right")
    for name in ("emotion", "intensity", "instructions", "end"):
        assert (shots[name].min(axis=2) > 200).sum() > 500  # white text


def test_kill_9_keeps_answered_trials_and_resume_finishes_the_same_order(tmp_path):
    # 2 photos (4 trials): two answered, the third on screen at the kill, the fourth never seen
    s = Session(tmp_path, participant="P02", n_photos=2)
    s.wait_for("ready")
    s.focus()
    answer_trial(s, 1, 0.3, "2", "3")
    answer_trial(s, 2, 0.3, "6", "4")
    s.wait_for("onset", screen="stimulus", trial=3)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)
    rows_before = read_rows(s.csv)
    assert len(rows_before) == 2
    assert [r["response_key"] for r in rows_before] == ["2", "6"]
    order_before = s.order.read_bytes()
    stem = s.paths().stem
    # the files written before the kill say how far it got
    killed = json.loads(s.sidecar.read_text())
    assert killed["completed"] is False and killed["ended_by"] == "running"
    assert (killed["n_trials_done"], killed["trial_on_screen"]) == (2, 3)
    log = s.paths().psychopy_log.read_text()
    assert "halfface: trial 2 saved" in log and "halfface: trial 3 on screen" in log
    lock = s.logs / "P02_halfface.lock"
    assert json.loads(lock.read_text())["pid"] == s.proc.pid  # left behind by the kill: stale

    time.sleep(1)  # the resumed run must find the session by its sidecar, whatever minute it is now
    again = Session(tmp_path, "--resume", "--simulate", participant="P02", manifest=s.manifest)
    assert again.wait_for("ready")["first_trial"] == 3
    rc, out, err = again.finish()
    assert rc == 0, err
    assert again.paths().stem == stem and len(list(s.logs.glob("P02_*.csv"))) == 2  # log + order, no new session
    rows = read_rows(s.csv)
    assert len(rows) == 4
    assert rows[:2] == rows_before
    assert [int(r["trial"]) for r in rows] == list(range(1, 5))
    assert s.order.read_bytes() == order_before
    assert [r["stimulus"] for r in rows] == [r["stimulus"] for r in read_rows(s.order)]
    sidecar = json.loads(s.sidecar.read_text())
    assert sidecar["completed"] is True and [r["resumed"] for r in sidecar["runs"]] == [False, True]
    assert sidecar["simulated"] is True  # the second run was simulated
    # the face on screen at the kill was seen before: flagged, the others not
    assert [r["reshown"] for r in rows] == ["0", "0", "1", "0"]
    assert sidecar["runs"][0]["ended_by"].startswith("interrupted") and sidecar["runs"][0]["last_trial"] == 2
    assert "took over the lock of a session that is no longer running" in err and not lock.exists()


def test_declined_escape_is_flagged_and_rt_comes_from_the_first_viewing(tmp_path):
    shots = screenshot_folder(tmp_path, "escape")
    s = Session(tmp_path, "--screenshots", str(shots), participant="P03", n_photos=2)
    s.wait_for("ready")
    s.focus()
    # trial 1: Escape on the face, declined: the face was interrupted, so the trial restarts from the '+'
    s.wait_for("onset", screen="stimulus", trial=1)
    press("Escape")
    s.wait_for("onset", screen="quit")
    press("n")
    s.wait_for("restart", trial=1)
    answer_trial(s, 1, 0.3, "1", "1")
    # trial 2: SPACE, then Escape on the emotion question, declined: the question comes back, not the face
    onset = s.wait_for("onset", screen="stimulus", trial=2)
    time.sleep(max(0.0, onset["wall"] + 0.4 - time.time()))
    t_send, t_sent = press("space")
    s.wait_for("onset", screen="emotion", trial=2)
    press("Escape")
    s.wait_for("onset", screen="quit")
    press("n")
    s.wait_for("onset", screen="emotion", trial=2)
    press("5")
    s.wait_for("onset", screen="intensity", trial=2)
    press("4")
    s.wait_for("saved", trial=2)
    # trial 3: Escape, confirmed: the session ends, everything answered is kept
    s.wait_for("onset", screen="stimulus", trial=3)
    press("Escape")
    s.wait_for("onset", screen="quit")
    press("y")
    rc, out, err = s.finish()
    assert rc == 3
    assert "continue with --resume" in err
    rows = read_rows(s.csv)
    assert [r["restarted"] for r in rows] == ["1", "1"]
    assert [r["response_key"] for r in rows] == ["1", "5"]
    stimulus_onsets = Counter(e["trial"] for e in s.onsets("stimulus"))
    assert stimulus_onsets == {1: 2, 2: 1, 3: 1}  # the face of trial 2 was seen once
    assert t_send - onset["wall"] - 0.02 <= float(rows[1]["rt"]) <= t_sent - onset["wall"] + 0.1
    sidecar = json.loads(s.sidecar.read_text())
    assert sidecar["completed"] is False and sidecar["ended_by"] == "escape" and sidecar["n_trials_done"] == 2
    assert sidecar["trial_on_screen"] == 3 and not (s.logs / "P03_halfface.lock").exists()  # released on Escape
    assert (shots / "quit.png").exists()
    # resumed, the face seen when Escape was confirmed comes again, flagged
    again = Session(tmp_path, "--resume", "--simulate", participant="P03", manifest=s.manifest)
    rc, out, err = again.finish()
    assert rc == 0, err
    assert [r["reshown"] for r in read_rows(s.csv)] == ["0", "0", "1", "0"]


def test_simulated_crossed_session_with_practice_breaks_and_chinese_texts(tmp_path):
    """The crossed design in the real window: each photo's each half on each image side, practice apart."""
    shots = screenshot_folder(tmp_path, "crossed_zh")
    # 2 photos of two emotions (8 trials) cover what more would: every cell of the crossing, two breaks
    manifest = make_stimuli(tmp_path / "stim", n_photos=2, with_mirrored=True, photos_per_emotion=1)
    practice = make_stimuli(tmp_path / "practice", n_photos=2, with_mirrored=True, prefix="practice", shade=105)
    t0 = time.monotonic()
    s = Session(tmp_path, "--simulate", "--sim-accuracy", "1.0", "--design", "crossed", "--practice-conditions",
                str(practice), "--practice", "3", "--break-every", "3", "--instructions", "zh",
                "--screenshots", str(shots), participant="sim4", manifest=manifest, instructions=True)
    rc, out, err = s.finish()
    elapsed = time.monotonic() - t0
    assert rc == 0, err
    assert s.wait_for("end")["n_trials_done"] == 8
    rows = read_rows(s.csv)
    assert Counter((r["photo_id"], r["visible_half"], r["visible_image_side"]) for r in rows) == {
        (f"photo{i:02d}", h, side): 1 for i in range(2) for h in ("left", "right") for side in ("left", "right")}
    assert all(r["correct"] == "1" for r in rows)  # accuracy 1.0
    assert all(0.05 < float(r["rt"]) < 5 for r in rows)
    practice_rows = read_rows(s.paths().practice)
    assert len(practice_rows) == 3 and all(r["photo_id"].startswith("practice") for r in practice_rows)
    assert list(practice_rows[0]) == list(LAB_COLUMNS)
    assert not {r["stimulus"] for r in practice_rows} & {r["stimulus"] for r in rows}
    assert len(s.onsets("break")) == 2
    sidecar = json.loads(s.sidecar.read_text())
    assert sidecar["design"] == "crossed" and sidecar["n_practice"] == 3 and sidecar["simulated"] is True
    assert sidecar["instructions"]["language"] == "zh"
    assert elapsed < 120
    for name in ("instructions", "practice_end", "break", "end", "emotion"):
        assert (shots / f"{name}.png").exists(), name
