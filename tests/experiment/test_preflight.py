"""The display preflight refuses, before the first instruction screen, what would spoil a participant.

Under Xvfb flips are not locked to any refresh, which is exactly the unlocked
display the preflight must refuse; the size refusal uses the Xvfb screen's
known size; gamma cannot be set on Xvfb (no XF86VidMode).
"""

import json
import re
import shutil
import subprocess
import sys

import pytest

from experiment.logfile import read_rows

from .window_helpers import Session

pytestmark = [pytest.mark.display, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("xdpyinfo") is None, reason="needs xdpyinfo (apt-get install x11-utils)")]


def display_info():
    out = subprocess.run(["xdpyinfo"], capture_output=True, text=True, check=True).stdout
    w, h = map(int, re.search(r"dimensions:\s+(\d+)x(\d+) pixels", out).groups())
    return (w, h), "XFree86-VidModeExtension" in out


def assert_stopped_before_instructions(s, rc, err, *fixes):
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fix in fixes:
        assert fix in lines[0], (fix, lines[0])
    assert [e["event"] for e in s.events] == ["refused"]  # no instruction screen, no trial
    assert not list(s.logs.glob("*.csv")) and not list(s.logs.glob("*.json"))  # nothing recorded
    assert len(list(s.logs.glob("*.log"))) == 1  # PsychoPy's log is kept for diagnosis
    return lines[0]


def test_an_unlocked_display_is_refused_naming_the_fix(tmp_path):
    s = Session(tmp_path, instructions=True, unlocked_ok=False)
    rc, out, err = s.finish()
    assert_stopped_before_instructions(s, rc, err, "not locked to the refresh", "vsync",
                                       "--allow-unlocked-display", "check-display")
    log = next(s.logs.glob("*.log")).read_text()
    assert "display refused" in log


def test_a_full_screen_window_of_another_size_than_described_is_refused(tmp_path):
    (w, h), _ = display_info()
    s = Session(tmp_path, "--screen-size", f"{w + 640}x{h + 56}", instructions=True, windowed=False)
    rc, out, err = s.finish()
    line = assert_stopped_before_instructions(s, rc, err, f"full-screen window is {w}x{h} px",
                                              f"says {w + 640}x{h + 56} px", f"--screen-size {w}x{h}")
    assert f"{10 * (w + 640) / w:.1f} deg tall" in line


def _psychopy_home(tmp_path, gamma):
    """A HOME whose Monitor Center holds 'booth1' (what PsychoPy's Monitor Center saves)."""
    home = tmp_path / "home"
    (w, h), _ = display_info()
    code = (f"from psychopy import monitors; m = monitors.Monitor('booth1', width=40.0, distance=57.0); "
            f"m.setSizePix([{w}, {h}]); m.setGamma({gamma}); m.save()")
    env = dict(__import__("os").environ, HOME=str(home))
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=120)
    return env


def test_monitor_center_calibration_is_used_and_its_gamma_refused_where_it_cannot_be_set(tmp_path):
    env = _psychopy_home(tmp_path, 2.2)
    (w, h), has_gamma_table = display_info()
    refused = Session(tmp_path, "--monitor", "booth1", env=env, unlocked_ok=False, participant="P01")
    rc, out, err = refused.finish()
    if not has_gamma_table:  # Xvfb: the calibration's gamma cannot be applied
        assert_stopped_before_instructions(refused, rc, err, "gamma [2.2, 2.2, 2.2]", "Monitor Center 'booth1'",
                                           "--allow-unlocked-display")
    else:
        assert rc == 2

    s = Session(tmp_path, "--monitor", "booth1", "--simulate", "--max-trials", "2", env=env, participant="P02")
    rc, out, err = s.finish()
    assert rc == 0, err
    sidecar = json.loads(s.sidecar.read_text())
    monitor = sidecar["monitor"]
    assert (monitor["width_cm"], monitor["distance_cm"], monitor["resolution_px"]) == (40.0, 57.0, [w, h])
    assert monitor["gamma"] == [2.2, 2.2, 2.2] and monitor["source"].startswith("Monitor Center 'booth1'")
    assert sidecar["gamma_applied"] is (True if has_gamma_table else False)
    assert len(read_rows(s.csv)) == 2

    # a --config whose name is a Monitor Center entry would load that calibration silently: refused
    config = tmp_path / "booth1.json"
    config.write_text(json.dumps({"name": "booth1", "width_cm": 53, "resolution_px": [w, h]}))
    clash = subprocess.run([sys.executable, "-m", "experiment", "run", "--participant", "P03", "--conditions",
                            str(s.manifest), "--logs", str(tmp_path / "logs3"), "--config", str(config)],
                           env=env, capture_output=True, text=True, timeout=120)
    assert clash.returncode == 2 and "use --monitor booth1" in clash.stderr
    missing = subprocess.run([sys.executable, "-m", "experiment", "run", "--participant", "P03", "--conditions",
                              str(s.manifest), "--logs", str(tmp_path / "logs3"), "--monitor", "booth9",
                              "--screen", "0"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "'booth9' is not in PsychoPy's Monitor Center (saved: booth1" in missing.stderr
    assert not (tmp_path / "logs3").exists()


def test_check_display_writes_the_histogram_and_a_verdict(tmp_path):
    out_dir = tmp_path / "check"
    # short measurements (the defaults are 600 frames, 20 fixations): the verdict and the files do not depend on
    # the length, and each frame is spent redrawing at Xvfb's unlocked rate
    cmd = [sys.executable, "-m", "experiment", "check-display", "--windowed", "--frames", "120", "--fixations", "3",
           "--photodiode", "--out", str(out_dir)]
    failed = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "verdict: FAIL" in failed.stderr and "not locked" in failed.stderr
    allowed = subprocess.run(cmd + ["--allow-unlocked-display"], capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0 and "verdict: NOT VERIFIED" in allowed.stdout
    results = json.loads((out_dir / "display_check.json").read_text())
    assert results["verdict"] == "not verified (allowed)" and results["fixation"]["n"] == 3
    assert results["display_check"]["n_frames"] == 120 and results["photodiode_patch"] is True
    from PIL import Image

    with Image.open(out_dir / "frame_intervals.png") as im:
        assert im.size[0] >= 600 and im.size[1] >= 300


def test_a_screen_number_the_display_does_not_have_is_refused_before_a_window_opens(tmp_path):
    from .stimuli_fixture import make_stimuli

    out = subprocess.run([sys.executable, "-m", "experiment", "run", "--participant", "P01", "--conditions",
                          str(make_stimuli(tmp_path / "stim", n_photos=2)), "--logs", str(tmp_path / "logs"),
                          "--screen", "3"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--screen 3: this display has 1 screen(s), numbered 0 to 0" in out.stderr
    assert not (tmp_path / "logs").exists()
