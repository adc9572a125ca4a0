"""IDs, key mapping, monitor geometry, log files and the conditions preflight (no window)."""

import csv
import math
import os
import subprocess
import sys

import pytest
from PIL import Image

from experiment.conditions import ConditionsError, load_conditions
from experiment.ids import validate_participant_id
from experiment.keys import EMOTION_KEYS, INTENSITY_KEYS, key_for_emotion, keys_to_listen, normalise_key
from experiment.logfile import TrialLog, build_row, paths_for, read_rows, repair_partial_last_line
from experiment.monitor import (MonitorSpec, deg_to_pix, load_monitor_config, monitor_spec,
                                parse_size, stimulus_size_deg)
from experiment.simulate import SimulatedParticipant, lognormal_params
from experiment.texts import load_texts
from halfface.schema import EMOTIONS, LOG_COLUMNS

from .stimuli_fixture import make_stimuli

SHARED_LOG_COLUMNS = ("participant", "session", "trial", "stimulus", "source", "photo_id", "emotion",
                      "visible_half", "visible_image_side", "response_emotion", "response_key", "correct",
                      "intensity", "rt", "emotion_rt", "intensity_rt", "fixation_frames", "fixation_duration",
                      "stim_onset")


@pytest.mark.parametrize("good", ["P01", "p-7", "lab_2024_03", "X"])
def test_valid_participant_ids_are_accepted(good):
    assert validate_participant_id(good) == good


@pytest.mark.parametrize("bad", ["", "../P01", "P01/..", "a b", "P01.csv", "Ålesund", "x" * 65, "P\n1", "~root"])
def test_participant_ids_that_could_escape_logs_are_refused(bad):
    with pytest.raises(ValueError, match="not allowed"):
        validate_participant_id(bad)


def test_number_key_k_answers_the_kth_paper_emotion():
    assert [EMOTION_KEYS[str(k)] for k in range(1, 8)] == list(EMOTIONS)
    assert key_for_emotion("anger") == "3"
    assert sorted(INTENSITY_KEYS.values()) == [1, 2, 3, 4, 5]
    assert all(f"{k} = {e}" in load_texts("en").screen("emotion_question") for k, e in EMOTION_KEYS.items())


def test_numpad_digits_answer_like_the_digit_row():
    # psychtoolbox names keypad keys num_0..num_9 whatever the NumLock state
    assert keys_to_listen(["1", "2", "space"]) == ["1", "2", "space", "num_1", "num_2"]
    assert [normalise_key(k) for k in ("num_3", "3", "space", "num_enter", "numlock")] == [
        "3", "3", "space", "num_enter", "numlock"]


def test_degrees_to_pixels_matches_psychopy():
    from psychopy import monitors
    from psychopy.tools.monitorunittools import deg2pix

    spec = MonitorSpec(width_cm=53.0, distance_cm=60.0, resolution_px=(1920, 1080))
    mon = monitors.Monitor("t", width=53.0, distance=60.0, autoLog=False)
    mon.setSizePix([1920, 1080])
    for deg in (1, 5, 10):
        assert deg_to_pix(deg, spec) == pytest.approx(deg2pix(deg, mon), rel=1e-9)
    # 10 deg at 60 cm on a 53 cm / 1920 px screen is ~380 px; small-angle error < 0.3 %
    assert deg_to_pix(10, spec) == pytest.approx(379.4, abs=0.5)
    exact_px = 2 * spec.distance_cm * math.tan(math.radians(10) / 2) * spec.resolution_px[0] / spec.width_cm
    assert exact_px / deg_to_pix(10, spec) == pytest.approx(1.0, abs=3e-3)
    assert stimulus_size_deg((120, 160), 10) == (7.5, 10)


def test_monitor_options_override_config_which_overrides_defaults(tmp_path):
    cfg = tmp_path / "monitor.json"
    cfg.write_text('{"name": "booth1", "width_cm": 47.6, "distance_cm": 57, "resolution_px": [1920, 1200]}')
    spec = monitor_spec(load_monitor_config(cfg), distance_cm=60.0)
    assert (spec.name, spec.width_cm, spec.distance_cm, spec.resolution_px) == ("booth1", 47.6, 60.0, (1920, 1200))
    assert "defaults" not in spec.source
    fallback = monitor_spec(None, detected_size=(1280, 1024))
    assert fallback.distance_cm == 60.0 and "width_cm" in fallback.source
    assert parse_size("1280x1024") == (1280, 1024)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("1280*1024")
    cfg.write_text('{"width": 50}')
    with pytest.raises(ValueError, match="unknown keys"):
        load_monitor_config(cfg)


def test_log_columns_start_with_the_shared_format():
    assert LOG_COLUMNS[:len(SHARED_LOG_COLUMNS)] == SHARED_LOG_COLUMNS


def _measured(**over):
    m = {"response_emotion": "fear", "response_key": "2", "intensity": 4, "rt": 0.5, "emotion_rt": 0.7,
         "intensity_rt": 0.6, "fixation_frames": 15, "fixation_duration": 0.2503, "stim_onset": 3.2}
    m.update(over)
    return m


def test_build_row_scores_correctness_against_the_photo_emotion():
    trial = {"trial": 3, "stimulus": "a.png", "source": "a.jpg", "photo_id": "a", "emotion": "fear",
             "visible_half": "left", "visible_image_side": "right"}
    assert build_row("P01", 1, trial, _measured())["correct"] == 1
    row = build_row("P01", 1, trial, _measured(response_emotion="anger", response_key="3"))
    assert row["correct"] == 0 and row["response_key"] == "3" and row["trial"] == 3


def test_trial_log_rows_are_on_disk_after_each_append(tmp_path):
    paths = paths_for(tmp_path, "P01_halfface_2026-11-28_1403")
    assert paths.csv.name == "P01_halfface_2026-11-28_1403.csv" and paths.sidecar.name == "P01_halfface_2026-11-28_1403.json"
    assert paths.practice.name.endswith("_practice.csv") and paths.order.name.endswith("_order.csv")
    trial = {"trial": 1, "stimulus": "a.png", "source": "a.jpg", "photo_id": "a", "emotion": "fear",
             "visible_half": "left", "visible_image_side": "right"}
    log = TrialLog(paths.csv)
    log.append(build_row("P01", 1, trial, _measured()))
    # read through a separate handle while the log is still open: nothing is buffered
    rows = read_rows(paths.csv)
    assert len(rows) == 1 and rows[0]["rt"] == "0.500000" and rows[0]["intensity"] == "4"
    log.append(build_row("P01", 1, dict(trial, trial=2), _measured()))
    log.close()
    log2 = TrialLog(paths.csv)  # reopening appends, no second header
    log2.close()
    assert [r["trial"] for r in read_rows(paths.csv)] == ["1", "2"]


def test_unfinished_last_line_is_removed_and_reported(tmp_path):
    path = tmp_path / "P01_s1.csv"
    path.write_text("a,b\n1,2\n3,")
    assert repair_partial_last_line(path) == "3,"
    assert path.read_text() == "a,b\n1,2\n"
    assert repair_partial_last_line(path) is None


def test_simulated_participant_hits_its_accuracy_and_rt_distribution():
    sim = SimulatedParticipant(seed=1, accuracy=0.7, rt_mean=0.45, rt_sd=0.15)
    answers = [sim.respond(list(EMOTION_KEYS), "anger") for _ in range(4000)]
    hit_rate = sum(key == "3" for key, _ in answers) / len(answers)
    rts = [rt for _, rt in answers]
    assert hit_rate == pytest.approx(0.7, abs=0.03)
    assert sum(rts) / len(rts) == pytest.approx(0.45, abs=0.01)
    assert min(rts) > 0
    assert SimulatedParticipant(seed=1).respond(["space"]) == SimulatedParticipant(seed=1).respond(["space"])
    mu, sigma = lognormal_params(0.45, 0.15)
    assert sigma == pytest.approx(0.3246, abs=1e-3)


def _rewrite_manifest(manifest, edit):
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    rows, fields = edit(rows, fields)
    with manifest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def test_preflight_accepts_generated_stimuli_and_records_image_size(tmp_path):
    rows = load_conditions(make_stimuli(tmp_path, n_photos=2))
    assert len(rows) == 4 and rows[0]["image_size"] == (120, 160)
    assert all(os.path.isabs(r["stimulus_path"]) for r in rows)


def test_preflight_names_the_line_of_a_missing_stimulus(tmp_path):
    manifest = make_stimuli(tmp_path, n_photos=2)
    (tmp_path / "images" / "photo01_left.png").unlink()
    with pytest.raises(ConditionsError) as err:
        load_conditions(manifest)
    assert len(err.value.problems) == 1
    assert "line 4" in str(err.value) and "images/photo01_left.png" in str(err.value) and "not found" in str(err.value)


def test_preflight_reports_unreadable_images_bad_labels_and_missing_columns(tmp_path):
    manifest = make_stimuli(tmp_path, n_photos=2)
    (tmp_path / "images" / "photo00_right.png").write_bytes(b"not a png")

    def bad_emotion(rows, fields):
        rows[3]["emotion"] = "joy"
        return rows, fields

    _rewrite_manifest(manifest, bad_emotion)
    with pytest.raises(ConditionsError) as err:
        load_conditions(manifest)
    text = str(err.value)
    assert "line 3: stimulus 'images/photo00_right.png' cannot be read as an image" in text
    assert "line 5: emotion 'joy'" in text

    _rewrite_manifest(manifest, lambda rows, fields: ([{k: v for k, v in r.items() if k != "photo_id"} for r in rows],
                                                      [f for f in fields if f != "photo_id"]))
    with pytest.raises(ConditionsError, match="missing column"):
        load_conditions(manifest)


def test_truncated_image_fails_preflight(tmp_path):
    manifest = make_stimuli(tmp_path, n_photos=2)
    img = tmp_path / "images" / "photo01_right.png"
    Image.open(img).save(img)
    img.write_bytes(img.read_bytes()[:200])
    with pytest.raises(ConditionsError, match="line 5.*cannot be read"):
        load_conditions(manifest)


def test_pure_modules_do_not_import_psychopy():
    code = ("import sys, experiment.design, experiment.keys, experiment.timing, experiment.monitor, "
            "experiment.logfile, experiment.ids, experiment.conditions, experiment.simulate, experiment.session, "
            "experiment.texts, experiment.run, experiment.dialog, experiment.cli; print('psychopy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
