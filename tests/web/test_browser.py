"""The online session in a real browser: headless Chromium, keys and mouse like a participant.

Checks the CSV rows against the lab's order, the RT against the moment the key
was sent, the measured fixation, the size in degrees from the virtual chinrest,
fullscreen enforcement, the CSV download (same bytes as the server's log), and
that ``analysis.report`` reads the result. Screenshots of every screen go to
``$HALFFACE_SCREENSHOTS/web`` (or the test's tmp folder).
"""

import json
import re
import shutil
import statistics

import pytest

from experiment import design as lab_design
from experiment.conditions import load_conditions
from experiment.logfile import read_rows
from experiment.web.build import build_site
from experiment.web.rows import web_columns
from halfface.schema import LOG_COLUMNS

from .api_client import ApiParticipant
from .participant import Participant

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CARD_PX = 200  # the card dragged to 200 px: 2.34 px/mm
DISTANCE_MM = 600  # the participant sits 60 cm away (§3.1.2)
TOLERANCE_S = 0.004  # page clock vs. time.time() and event-time coarsening


def new_page(chromium, downloads=True):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=downloads)
    page = context.new_page()
    outside = []
    # self-contained: anything not from the local server (or file://, data:, blob:) is recorded and refused
    page.route(lambda url: not url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")),
               lambda route: (outside.append(route.request.url), route.abort()))
    return context, page, outside


def test_a_session_through_the_local_server(chromium, site, server, manifests, screenshot_dir, tmp_path):
    # ~30 s, in real time: the page's 4 s refresh measurement, five blind-spot sweeps of the chinrest ball
    # (2 px a frame) and 13 trials of 0.5-1.2 s are what the RT, fixation and size checks below are about.
    base, logs = server
    context, page, outside = new_page(chromium)
    p = Participant(page, screenshot_dir, prefix="server_")
    page.goto(f"{base}/?participant=W03")
    p.consent()
    p.enter_fullscreen()
    p.calibrate(CARD_PX, DISTANCE_MM)
    p.message("instructions")
    for k in range(1, 5):
        p.trial(f"practice{k}")
    p.message("practice_end")

    faces = {}
    faces[1] = p.trial(1)
    faces[2] = p.trial(2, before_emotion=["9", "0"], emotion_key="1")  # keys outside 1-7 are ignored

    def leave_fullscreen():  # as pressing Esc does; the trial must start again
        page.evaluate("document.exitFullscreen()")
        p.wait("fullscreen_left")
        p.snap("fullscreen_left")
        page.click("#hf-overlay button")

    p.trial(3, on_emotion=leave_fullscreen)
    faces[3] = p.trial(3, emotion_key="6")  # the restarted trial 3
    faces[4] = p.trial(4, intensity_key="Numpad5")  # the keypad answers too
    p.message("break")  # after trial 4 of 8
    heights = []  # the face as drawn on the page
    measure = lambda: heights.append(page.evaluate("document.querySelector('.hf-face').getBoundingClientRect().height"))
    for k in range(5, 9):
        faces[k] = p.trial(k, emotion_key=str(k - 3), look_s=0.2 + 0.1 * k, on_face=measure)
    p.wait("debrief")
    p.snap("debrief")
    download = page.evaluate("csvText(HALFFACE_DESIGN.columns, SESSION.saved.trial)")  # what the button saves
    page.click("#hf-debrief-done")
    p.wait("end")
    p.snap("end")
    assert "answers are saved" in page.inner_text("#hf-final")
    context.close()

    assert not p.errors and not outside
    (csv_path,) = [f for f in logs.glob("W03_halfface_*.csv") if not f.stem.endswith(("_order", "_practice"))]
    # PsychoPy's file name; the participant's download is byte for byte the server's log
    assert re.fullmatch(r"W03_halfface_\d{4}-\d\d-\d\d_\d\dh\d\d\.\d\d\.\d{3}", csv_path.stem)
    assert download.encode("utf-8") == csv_path.read_bytes()
    rows = read_rows(csv_path)
    meta = json.loads(csv_path.with_suffix(".json").read_text())

    # columns: the lab's, then the browser's; the order: the lab's for the number the server assigned (the first)
    assert list(rows[0])[:len(LOG_COLUMNS)] == list(LOG_COLUMNS)
    assert tuple(rows[0]) == web_columns()
    assert meta["participant_number"] == 1 and {r["cb_number"] for r in rows} == {"1"}
    assert {(r["prolific_pid"], r["study_id"], r["session_id"], r["reshown"]) for r in rows} == {("", "", "", "0")}
    lab, info = lab_design.trial_order(load_conditions(manifests[0], warn=None), 1, 1)
    assert [(r["trial"], r["stimulus"], r["visible_half"], r["block"]) for r in rows] == \
           [(str(t["trial"]), t["stimulus"], t["visible_half"], str(t["block"])) for t in lab]
    assert {r["platform"] for r in rows} == {"web"} and all("HeadlessChrome" in r["browser"] for r in rows)
    assert [r["response_key"] for r in rows] == ["3", "1", "6", "3", "2", "3", "4", "5"]
    assert [r["intensity"] for r in rows] == ["4", "4", "4", "5", "4", "4", "4", "4"]
    assert [r["restarted"] for r in rows] == ["0", "0", "1", "0", "0", "0", "0", "0"]
    for r in rows:
        assert r["correct"] == str(int(r["response_emotion"] == r["emotion"]))

    # RT: from the face's first frame to the space press, inside the window in which the key was sent
    for k, r in enumerate(rows, start=1):
        _, _, _, t0, t1 = p.last_send("face", k, "Space")
        onset = p.wall(faces[k]["t"])
        assert t0 - onset - TOLERANCE_S <= float(r["rt"]) <= t1 - onset + TOLERANCE_S, (k, r["rt"], t0 - onset)
        _, _, _, e0, e1 = p.last_send("emotion", k, r["response_key"])
        assert float(r["emotion_rt"]) <= e1 - p.wall(faces[k]["t"]) - float(r["rt"]) + TOLERANCE_S
    # the fixation: counted in frames of the measured rate; it can run long by dropped frames, never short
    hz = float(rows[0]["refresh_hz"])
    assert 50 < hz < 70  # headless Chromium animates at 60 Hz
    frames = round(0.25 * hz)
    assert all(r["fixation_frames"] == str(frames) for r in rows)
    durations = [float(r["fixation_duration"]) for r in rows]
    assert all(d >= (frames - 0.5) / hz for d in durations)
    assert abs(statistics.median(durations) - frames / hz) <= 1 / hz
    for r, d in zip(rows, durations):
        if d > (frames + 1.5) / hz:
            assert int(r["dropped_frames"]) >= 1, r
    for k, r in enumerate(rows, start=1):  # the logged duration is what the page saw between the two onsets
        assert float(r["fixation_duration"]) == pytest.approx((faces[k]["t"] - faces[k]["fixation"]["t"]) / 1000,
                                                              abs=1e-5)

    # size in degrees: the chinrest's distance and px/mm give the lab's 10 deg
    chin = meta["chinrest"]
    assert chin["item_width_px"] == CARD_PX and chin["view_dist_mm"] == pytest.approx(DISTANCE_MM, rel=0.03)
    px_per_deg = chin["view_dist_mm"] * 0.017455 * chin["px2mm"]
    assert meta["px_per_deg"] == pytest.approx(px_per_deg)
    assert meta["stim_height_px"] == pytest.approx(10 * px_per_deg)
    assert heights and all(h == pytest.approx(10 * px_per_deg, abs=1.0) for h in heights)

    # the session metadata
    assert (meta["platform"], meta["simulated"], meta["completed"], meta["n_trials_done"]) == ("web", False, True, 8)
    assert meta["participant_number"] == 1 and meta["seed"] == info["seed"]
    assert meta["fixation_frames"] == frames and meta["refresh_rate_hz"] == pytest.approx(hz, abs=1e-4)
    assert meta["refresh_measurement"]["n_intervals"] == 240 and meta["refresh_measurement"]["interval_sd_ms"] >= 0
    assert meta["screen"]["fullscreen"] is True and meta["runs"][-1]["fullscreen_exits"] == 1
    assert meta["screen_fit"]["fits"] is True and meta["screen_fit"]["need_h"] <= 800
    # browser timing is recorded, never claimed verified (no lock-to-refresh check that could not fail)
    assert meta["timing"]["verified"] is False and "timing_check" not in meta["runs"][-1]
    for r in rows:  # the face lasts from its first frame to the first frame without it: the RT within a frame or so
        # (a frame's timestamp is its start, which may come just before the key event handled in it)
        assert float(r["rt"]) - 1.5 / hz <= float(r["face_duration"]) <= float(r["rt"]) + 2.5 / hz, r
        assert float(r["refresh_sd_ms"]) >= 0 and r["hidden_count"] == "0"
    assert [r["blur_count"] for r in rows] == ["0"] * 8
    assert len(read_rows(csv_path.with_name(csv_path.stem + "_practice.csv"))) == 4

    # the analysis reads the online log beside lab logs (simulated lab sessions and a second online one)
    design = json.loads((site / "design.json").read_text())
    other = ApiParticipant(base, design, "W05", seed=5)
    other.start()
    for k in range(1, 9):
        other.send(other.row(k))
    other.end()
    # (the commands' main() in this process: tests/analysis runs them as commands; here a second
    # interpreter would only import pandas and statsmodels again)
    from analysis import report, simulate

    mixed = tmp_path / "mixed"
    assert simulate.main(["--participants", "4", "--out", str(mixed), "--seed", "1"]) == 0
    for f in logs.iterdir():  # the online files as a lab would gather them: logs, sidecars, order/practice files
        shutil.copy2(f, mixed / f.name)
    assert report.main([str(mixed), "--out", str(tmp_path / "report"), "--include-simulated"]) == 0  # (stderr: why)
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    sessions = {s["participant"]: s for s in results["sessions"]}
    assert sessions["W03"]["platform"] == "web" and sessions["W03"]["n_rows"] == 8
    assert {sessions[p]["platform"] for p in sessions if p not in ("W03", "W05")} == {"lab"}
    # the platform comparison (analysis/platforms.py) runs once both platforms have >= 2 participants
    assert results["platform_comparison"].get("compared") is True, results["platform_comparison"]


def test_a_session_opened_from_disk_saves_by_download(chromium, manifests, screenshot_dir, tmp_path):
    """No server (a static host, or the folder opened with a double-click): the CSV download keeps the data."""
    site = tmp_path / "site"
    build_site(manifests[0], site, max_trials=2, cb_numbers=8)
    context, page, outside = new_page(chromium)
    p = Participant(page, screenshot_dir, prefix="file_")
    page.goto(f"{site.as_uri()}/index.html?participant=F07")
    p.consent()
    p.enter_fullscreen()
    p.calibrate(CARD_PX, DISTANCE_MM, reps=5)
    p.message("instructions")
    for k in (1, 2):
        p.trial(k, emotion_key=str(k))
    p.wait("end")
    p.snap("end")
    assert "download your data" in page.inner_text("body")
    with page.expect_download() as csv_download:
        page.click("#hf-download")
    with page.expect_download() as json_download:
        page.click("#hf-download-info")
    csv_download.value.save_as(tmp_path / csv_download.value.suggested_filename)
    json_download.value.save_as(tmp_path / json_download.value.suggested_filename)
    context.close()
    assert not p.errors and not outside
    stem = csv_download.value.suggested_filename[:-4]
    assert json_download.value.suggested_filename == f"{stem}.json"
    rows = read_rows(tmp_path / f"{stem}.csv")
    lab, _ = lab_design.trial_order(load_conditions(manifests[0], warn=None), 7, 1)
    assert [r["stimulus"] for r in rows] == [t["stimulus"] for t in lab[:2]]
    assert [r["response_key"] for r in rows] == ["1", "2"]
    meta = json.loads((tmp_path / f"{stem}.json").read_text())
    assert (meta["participant"], meta["platform"], meta["saving"]) == ("F07", "web", "download")
    assert meta["completed"] is True and meta["n_trials_done"] == 2
    assert meta["chinrest"]["view_dist_mm"] == pytest.approx(DISTANCE_MM, rel=0.03)
