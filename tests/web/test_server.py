"""``python -m experiment serve``: posted rows validated, appended, fsync'd; bad input refused; nothing overwritten."""

import json
import re
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime

import pytest

from experiment import design as lab_design
from experiment.conditions import load_conditions
from experiment.logfile import ORDER_COLUMNS, read_rows
from experiment.web.rows import raw_value
from experiment.web.store import SessionStore

from .api_client import ApiParticipant
from .conftest import post
from .running_server import serve_in_thread


@pytest.fixture
def site_design(site):
    return json.loads((site / "design.json").read_text())


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_session_through_the_api_writes_the_lab_files(server, site_design, manifests):
    base, logs = server
    client = ApiParticipant(base, site_design, "P03")
    status, reply = client.start()
    assert status == 200 and reply["first_trial"] == 1 and reply["n_trials_planned"] == 8
    stem = reply["stem"]
    # PsychoPy's file name, to the millisecond
    assert re.fullmatch(rf"P03_halfface_{datetime.now():%Y-%m-%d}_\d\dh\d\d\.\d\d\.\d{{3}}", stem)
    calibration = {"stem": stem, "token": client.token, "chinrest": {"view_dist_mm": 612.0, "px2mm": 3.2}, "refresh": {"hz": 60.0},
                   "px_per_deg": 34.2, "stim_height_px": 342.0, "fixation_frames": 15, "screen": {"width": 1920}}
    for bad in ({"px_per_deg": "34"}, {"fixation_frames": 0}, {"chinrest": {"view_dist_mm": -1}},
                {"chinrest": "far"}, {"refresh": {"hz": None}}):
        status, reply = client.post("/api/calibration", dict(calibration, **bad))
        assert status == 400 and reply["ok"] is False, bad
    assert client.post("/api/calibration", calibration)[0] == 200
    practice = [client.row(k, "practice") for k in range(1, 5)]
    for row in practice:
        assert client.send(row, "practice")[0] == 200
    rows = [client.row(k) for k in range(1, 9)]
    for row in rows:
        status, reply = client.send(row)
        assert status == 200, reply
        # the row is on disk before the reply: read it back at once
        assert read_rows(logs / f"{stem}.csv")[-1] == row
    assert client.end()[1]["completed"] is True

    assert files(logs) == sorted(f"{stem}{s}" for s in (".csv", ".json", "_order.csv", "_practice.csv"))
    assert read_rows(logs / f"{stem}.csv") == rows
    assert read_rows(logs / f"{stem}_practice.csv") == practice
    lab, info = lab_design.trial_order(load_conditions(manifests[0]), 1, 1)  # the first number the server gives
    assert read_rows(logs / f"{stem}_order.csv") == [{c: str(t.get(c, "")) for c in ORDER_COLUMNS} for t in lab]
    meta = json.loads((logs / f"{stem}.json").read_text())
    assert meta["platform"] == "web" and meta["simulated"] is False
    assert (meta["participant"], meta["session"], meta["n_trials_planned"], meta["n_trials_done"]) == ("P03", 1, 8, 8)
    assert meta["completed"] is True and meta["ended_by"] == "completed"
    assert meta["seed"] == info["seed"] and meta["counterbalancing"]["block_order"] == info["block_order"]
    assert meta["chinrest"]["view_dist_mm"] == 612.0 and meta["viewing_distance_cm"] == pytest.approx(61.2)
    assert meta["browser"] == {"user_agent": "test"}
    assert "token" not in json.dumps(meta).replace("token_sha256", "") and client.token not in json.dumps(meta)
    assert all((logs / f).stat().st_mode & 0o777 == 0o600 for f in files(logs))  # only the server's user reads them


def _expect_refused(client, row, status, *words, kind="trial"):
    code, reply = client.send(row, kind)
    assert code == status, reply
    assert reply["halfface"] is True and reply["ok"] is False
    for word in words:
        assert word in reply["error"], reply["error"]
    return reply["error"]


def test_malformed_rows_are_refused_and_change_nothing(server, site_design):
    base, logs = server
    client = ApiParticipant(base, site_design, "P05")
    client.start()
    assert client.send(client.row(1))[0] == 200
    before = snapshot(logs)
    good = client.row(2)

    def variant(**changes):
        row = dict(good)
        for k, v in changes.items():
            if v is None:
                row.pop(k)
            else:
                row[k] = v
        return row

    _expect_refused(client, variant(rt=None), 400, "missing column 'rt'")
    _expect_refused(client, dict(good, extra="1"), 400, "unknown column 'extra'")
    _expect_refused(client, variant(rt="-0.2"), 400, "rt '-0.2'", "> 0")
    _expect_refused(client, variant(rt="nan"), 400, "rt 'nan'")
    _expect_refused(client, variant(rt="fast"), 400, "rt 'fast'")
    _expect_refused(client, variant(intensity="6"), 400, "intensity '6'")
    _expect_refused(client, variant(response_key="8"), 400, "response_key '8'")
    _expect_refused(client, variant(correct="1" if good["correct"] == "0" else "0"), 400, "correct")
    other = next(s for s in site_design["stimuli"] if s["stimulus"] != good["stimulus"])["stimulus"]
    _expect_refused(client, variant(stimulus=other), 400, "stimulus", "trial 2 of this participant's order")
    _expect_refused(client, variant(trial="3"), 400, "trial '3'", "expected '2'")
    _expect_refused(client, variant(participant="P06"), 400, "participant 'P06'")
    _expect_refused(client, variant(platform="lab"), 400, "platform")
    _expect_refused(client, variant(browser="a\nb"), 400, "control characters")
    _expect_refused(client, variant(trial_end="yesterday"), 400, "trial_end")
    _expect_refused(client, dict(good, rt=0.5), 400, "rt: must be text")
    _expect_refused(client, variant(reshown="2"), 400, "reshown")
    _expect_refused(client, variant(cb_number="5"), 400, "cb_number")
    _expect_refused(client, variant(prolific_pid="someone"), 400, "prolific_pid")
    _expect_refused(client, variant(hidden_count="-1"), 400, "hidden_count")
    token = client.token
    assert client.post("/api/trial", {"stem": client.stem, "token": token, "kind": "trial", "row": [1, 2]})[0] == 400
    assert client.post("/api/trial", {"stem": client.stem, "token": token, "kind": "other", "row": good})[0] == 400
    assert snapshot(logs) == before  # not a byte changed by any refusal
    assert client.send(good)[0] == 200


def test_bad_requests_get_a_json_reason(server, site_design):
    base, logs = server
    assert post(base, "/api/trial", None, raw=b"{not json")[0] == 400
    assert post(base, "/api/trial", None, raw=b"[1, 2]")[0] == 400
    status, reply = post(base, "/api/trial", None, raw=b"x" * 70_000)
    assert status == 413 and "bytes" in reply["error"]
    assert post(base, "/api/nothing", {})[0] == 404
    status, reply = post(base, "/api/session", {"participant": "P01", "session": 2})
    assert status == 400 and "session 2" in reply["error"]
    status, reply = post(base, "/api/session", {"participant": "P01", "session": True})
    assert status == 400
    for strict in (b'{"participant": "P01", "session": NaN}', b'{"participant": "P01", "session": Infinity}',
                   b'{"participant": "P01", "session": -Infinity}', b"\xff\xfe", b"[" * 100_000):
        status, reply = post(base, "/api/session", None, raw=strict)
        assert status in (400, 413) and reply["ok"] is False and "Traceback" not in reply["error"], strict[:20]
    status, reply = post(base, "/api/session", {"PROLIFIC_PID": "x"})  # the page sends prolific_pid, not this
    assert status == 400 and "participant ID" in reply["error"]
    assert files(logs) == []


def test_odd_paths_and_methods_get_a_plain_404_not_an_exception(server, capfd):
    base, logs = server
    for path in ("/%00", "/%00.html", "/..%00/x", "/%ff%fe", "/design.json", "/api/", "/api/%00", "/" + "a" * 5000,
                 "/index.html%00.png"):
        request = urllib.request.Request(base + path)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=30)
        assert err.value.code in (404, 405, 414), path
        assert json.loads(err.value.read())["ok"] is False
    request = urllib.request.Request(base + "/api/trial", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code in (404, 405)
    with urllib.request.urlopen(base + "/design.js", timeout=30) as r:
        assert r.headers["X-Content-Type-Options"] == "nosniff" and "frame-ancestors" in r.headers[
            "Content-Security-Policy"]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("participant", ["../P01", "..", "P01/../../x", "..\\x", "%2e%2e%2fx", "P 01", "Pé01",
                                         "", "x" * 65, None, 7, ["P01"], "P01\n", "/etc/passwd"])
def test_participant_ids_cannot_escape_the_log_folder(server, tmp_path, participant):
    base, logs = server
    status, reply = post(base, "/api/session", {"participant": participant, "session": 1})
    assert status == 400 and "participant ID" in reply["error"]
    assert files(logs) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


@pytest.mark.parametrize("stem", ["../x", "../../etc/passwd", "P01_halfface_2026-01-01_00h00.00.000/../../x",
                                  "P01_halfface_2026-01-01_00h00.00.000", "P01_halfface_2026-01-01_0000", None, 5,
                                  ["x"], {"stem": "x"}])
def test_session_names_from_the_browser_cannot_point_elsewhere(server, site_design, stem):
    base, logs = server
    client = ApiParticipant(base, site_design, "P01")
    client.start()
    before = snapshot(logs)
    status, reply = client.post("/api/trial", {"stem": stem, "token": client.token, "kind": "trial",
                                               "row": client.row(1)})
    assert status in (400, 403) and reply["ok"] is False
    assert client.post("/api/end", {"stem": stem, "token": client.token})[0] in (400, 403)
    assert snapshot(logs) == before


def test_static_files_stay_inside_the_site(server, site):
    base, _ = server
    (site.parent / "secret.txt").write_text("not for the web")
    with urllib.request.urlopen(base + "/index.html") as r:
        assert r.status == 200 and b"procedure.js" in r.read()
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/stimuli/../../secret.txt", "/..%2fsecret.txt",
                 "/stimuli/", "/"]:
        try:
            with urllib.request.urlopen(base + path) as r:
                body = r.read()
                assert path == "/" and b"procedure.js" in body  # / is index.html, never a listing
        except urllib.error.HTTPError as err:
            assert err.code == 404, path
            assert b"not for the web" not in err.read()


def test_a_reloaded_page_resumes_and_a_finished_session_is_refused(server, site_design):
    base, logs = server
    first = ApiParticipant(base, site_design, "P02")
    first.start()
    for k in (1, 2, 3):
        assert first.send(first.row(k))[0] == 200
    again = ApiParticipant(base, site_design, "P02")
    status, reply = again.start(token=first.token)  # the page kept the token: the same browser, reloaded
    assert status == 200 and reply["resumed"] is True and reply["first_trial"] == 4 and reply["stem"] == first.stem
    assert reply["trials"] == first.reply["trials"] and reply["cb_number"] == first.cb
    # a resend of a row that reached the disk (its reply was lost) is accepted once, not appended twice
    saved = read_rows(logs / f"{first.stem}.csv")[2]
    assert again.send(saved) == (200, {"trial": "3", "duplicate": True, "next": 4, "halfface": True, "ok": True})
    _expect_refused(again, dict(saved, intensity="5" if saved["intensity"] != "5" else "4"), 409, "already saved")
    status, reply = ApiParticipant(base, site_design, "P02").start()  # another browser: no token
    assert status == 409 and first.stem not in reply["error"] and "P02" not in reply["error"]
    for k in range(4, 9):
        last = again.row(k)
        assert again.send(last)[0] == 200
    assert again.send(last)[1]["duplicate"] is True
    again.end()
    before = snapshot(logs)
    status, reply = ApiParticipant(base, site_design, "P02").start()
    assert status == 409 and first.stem not in reply["error"]
    status, reply = ApiParticipant(base, site_design, "P02").start(token=first.token)  # the page, reopened
    assert status == 200 and reply["completed"] is True
    assert snapshot(logs) == before
    meta = json.loads((logs / f"{first.stem}.json").read_text())
    assert [r["first_trial"] for r in meta["runs"]] == [1, 4]
    assert len(read_rows(logs / f"{first.stem}.csv")) == 8


def test_a_page_reloaded_during_practice_goes_on_with_the_next_practice_trial(server, site, site_design):
    """procedure.js's own Session.start (run in node against the server): the server expects practice3 next."""
    base, logs = server
    first = ApiParticipant(base, site_design, "P04")
    first.start()
    for k in (1, 2):
        assert first.send(first.row(k, "practice"), "practice")[0] == 200
    kept = json.dumps({"token": first.token, "stem": first.stem})
    script = f"""
        const fs = require("fs");
        eval(fs.readFileSync({json.dumps(str(site / "design.js"))}, "utf8").replace("const HALFFACE_DESIGN",
                                                                                  "global.HALFFACE_DESIGN"));
        const store = {{ "halfface/halfface/P04/1": {json.dumps(kept)} }};
        Object.assign(global, {{ location: {{ protocol: "http:" }},
                                window: {{ devicePixelRatio: 1, addEventListener() {{}} }},
                                document: {{ addEventListener() {{}}, getElementById() {{ return null; }} }},
                                localStorage: {{ getItem: (k) => store[k] || null, setItem: (k, v) => {{ store[k] = v; }} }},
                                navigator: {{ userAgent: "node", language: "en", hardwareConcurrency: 1 }} }});
        const base = {json.dumps(base)}, realFetch = fetch;
        global.fetch = (url, options) => realFetch(`${{base}}/${{url}}`, options);
        const {{ Session }} = require({json.dumps(str(site / "procedure.js"))});
        const s = new Session(new URLSearchParams("participant=P04"));
        s.start().then(() => console.log(JSON.stringify({{ pos: s.pos, next: s.current("practice").trial,
                                                          stem: s.stem }})));"""
    proc = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    reloaded = json.loads(proc.stdout)
    assert reloaded == {"pos": {"practice": 2, "trial": 0}, "next": "practice3", "stem": first.stem}
    assert first.send(first.row(3, "practice"), "practice")[0] == 200  # the row the page sends next is accepted
    assert [r["trial"] for r in read_rows(logs / f"{first.stem}_practice.csv")] == \
        ["practice1", "practice2", "practice3"]


def test_existing_logs_are_never_overwritten(site, site_design, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    frozen = datetime(2026, 11, 28, 14, 3, 46, 123456).astimezone()
    stem = "P04_halfface_2026-11-28_14h03.46.123"
    (logs / f"{stem}.csv").write_text("someone else's data\n")
    (logs / "P09_halfface_2026-11-28_1000.json").write_text(json.dumps({"participant": "P09", "session": 1,
                                                                       "platform": "lab", "completed": False}))
    store = SessionStore(logs, site_design, clock=lambda: frozen)
    reply = store.start({"participant": "P04", "session": 1})
    assert reply["stem"] == f"{stem}_2"
    assert (logs / f"{stem}.csv").read_text() == "someone else's data\n"
    from experiment.web.store import GENERIC_REFUSAL, RequestError
    with pytest.raises(RequestError, match="cannot be opened here") as err:
        store.start({"participant": "P09", "session": 1})  # a lab log holds P09's session 1
    assert str(err.value) == GENERIC_REFUSAL


def test_the_server_assigns_the_next_free_number_whatever_the_ids_look_like(server, site_design, manifests):
    base, logs = server
    # a lab session already holds number 2 (P02's digits); online numbers go around it
    (logs / "P02_halfface_2026-11-28_1000.json").write_text(json.dumps(
        {"participant": "P02", "session": 1, "platform": "lab", "participant_number": 2}))
    numbers = {}
    for pid in ("P07", "P007", "alice", "5f8d3c2a1b9e4f7a6c5d8e9f", "60a1b2c3d4e5f6a7b8c9d0e9", "P9999999999"):
        client = ApiParticipant(base, site_design, pid)
        status, reply = client.start()
        assert status == 200, reply
        numbers[pid] = reply["cb_number"]
    assert list(numbers.values()) == [1, 3, 4, 5, 6, 7]
    meta = json.loads(next(logs.glob("alice_*.json")).read_text())
    assert meta["participant_number"] == 4 and "assigned by the server" in meta["participant_number_from"]
    # beyond the numbers baked into the site (1-8): the lab's order for that number, computed by the server
    for pid in ("Z1", "Z2"):
        ApiParticipant(base, site_design, pid).start()
    late = ApiParticipant(base, site_design, "Z3")
    assert late.start()[1]["cb_number"] == 10
    lab, info = lab_design.trial_order(load_conditions(manifests[0]), 10, 1)
    stimuli = site_design["stimuli"]
    assert [stimuli[k]["stimulus"] for k, _, _ in late.reply["trials"]] == [t["stimulus"] for t in lab]
    for k in range(1, 9):
        assert late.send(late.row(k))[0] == 200
    assert late.end()[1]["completed"] is True


def test_a_restarted_server_continues_the_session_and_drops_a_torn_last_line(site, site_design, tmp_path):
    logs = tmp_path / "logs"
    srv, thread = serve_in_thread(site, logs)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    client = ApiParticipant(base, site_design, "P07")
    client.start()
    for k in (1, 2):
        client.send(client.row(k))
    client.close()
    srv.shutdown()
    srv.server_close()
    with (logs / f"{client.stem}.csv").open("a") as f:
        f.write("P07,1,3,images/half")  # a crash in the middle of a write
    srv, thread = serve_in_thread(site, logs)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    again = ApiParticipant(base, site_design, "P07")
    assert again.start(token=client.token)[1]["first_trial"] == 3
    for k in range(3, 9):
        assert again.send(again.row(k))[0] == 200
    rows = read_rows(logs / f"{client.stem}.csv")
    assert [r["trial"] for r in rows] == [str(k) for k in range(1, 9)]
    meta = json.loads((logs / f"{client.stem}.json").read_text())
    assert meta["repaired_lines"] == ["P07,1,3,images/half"]
    srv.shutdown()
    srv.server_close()


def test_formula_cells_are_neutralised_and_the_raw_value_is_recoverable(server, site_design):
    base, logs = server
    client = ApiParticipant(base, site_design, "P12")
    client.start()
    formulas = ['=HYPERLINK("http://x.invalid","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
                "'quoted", "plain text", "-0.5"]
    for k, value in enumerate(formulas, start=1):
        assert client.send(client.row(k, extra={"browser": value}))[0] == 200
    rows = read_rows(logs / f"{client.stem}.csv")
    cells = [r["browser"] for r in rows]
    assert cells == ["'" + v for v in formulas[:5]] + ["plain text", "-0.5"]
    assert [raw_value(c) for c in cells] == formulas
    # a resend of the same row (its reply lost) is still recognised as already saved
    status, reply = client.send(client.row(1, extra={"browser": formulas[0]}) | {"rt": rows[0]["rt"]})
    assert status in (200, 409)


def test_too_many_session_starts_from_one_client_are_refused(site, tmp_path):
    from experiment.web.server import Limits

    srv, thread = serve_in_thread(site, tmp_path / "logs", limits=Limits(starts_per_min=1, starts_burst=3))
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        statuses = [post(base, "/api/session", {"participant": f"R{k}", "session": 1})[0] for k in range(10)]
        assert statuses[:3] == [200] * 3 and set(statuses[3:]) == {429}
        assert len(list((tmp_path / "logs").glob("*.json"))) == 3
    finally:
        srv.shutdown()
        srv.server_close()


def test_serve_command_runs_until_ctrl_c_and_names_a_bad_site(site, tmp_path):
    bad = subprocess.run([sys.executable, "-m", "experiment", "serve", str(tmp_path), "--logs", str(tmp_path / "l")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "design.json not found" in bad.stderr and bad.stderr.count("\n") == 1
    inside = subprocess.run([sys.executable, "-m", "experiment", "serve", str(site), "--logs", str(site / "logs")],
                            capture_output=True, text=True, timeout=60)
    assert inside.returncode == 2 and "inside the site folder" in inside.stderr and not (site / "logs").exists()
    # A shell's background job inherits SIGINT ignored (and Python then keeps it ignored): give the
    # server the default disposition, as a terminal would, so that Ctrl+C is what is tested.
    proc = subprocess.Popen([sys.executable, "-m", "experiment", "serve", str(site), "--logs", str(tmp_path / "logs"),
                             "--port", "0", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "design.js") as r:
            assert b"HALFFACE_DESIGN" in r.read()
        assert "?participant=P01" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0


@pytest.fixture
def short_timeouts(monkeypatch):
    """The server's connection timeouts cut to 1 s (users keep 5 s / 10 s): the tests wait for them to fire."""
    from experiment.web import server as server_module

    monkeypatch.setattr(server_module, "KEEP_ALIVE_S", 1)  # read when a server is made
    monkeypatch.setattr(server_module, "HEADER_TIMEOUT_S", 1.0)  # read when a connection's first byte arrives
    return server_module


@pytest.fixture
def quick_server(short_timeouts, server):
    """The ``server`` fixture, made after ``short_timeouts`` (fixtures are set up in the order asked for):
    (host, port, the server module)."""
    base, _ = server
    host, port = base.removeprefix("http://").split(":")
    return host, int(port), short_timeouts


def test_a_connection_that_sends_nothing_is_closed_by_the_server(quick_server):
    import socket

    host, port, server_module = quick_server
    silent = socket.create_connection((host, port))
    silent.settimeout(server_module.KEEP_ALIVE_S + 25)  # generous: the machine may be busy
    try:
        assert silent.recv(1) == b""  # closed by the server, not held open
    finally:
        silent.close()


def test_a_connection_that_trickles_its_headers_is_closed_by_the_server(quick_server):
    import socket
    import time

    host, port, server_module = quick_server
    slow = socket.create_connection((host, port))
    slow.settimeout(0.2)  # a byte every 0.2 s: the 237 header bytes would take about 47 s
    opened = time.monotonic()
    closed = False
    try:
        for byte in b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
            slow.sendall(bytes([byte]))
            try:
                if slow.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            if time.monotonic() - opened > server_module.HEADER_TIMEOUT_S + 40:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    finally:
        slow.close()
    assert closed  # after HEADER_TIMEOUT_S, not after the 47 s the headers would take


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_by_the_parser(site, tmp_path, capsys, port):
    # the socket module would raise OverflowError (a traceback) for a port above 65535
    from experiment.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(site), "--logs", str(tmp_path / "logs"), "--port", port])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --port" in err and "65535" in err and "Traceback" not in err
    assert not (tmp_path / "logs").exists()


def test_port_0_still_means_any_free_port():
    from halfface.cli import port

    assert port("0") == 0 and port("65535") == 65535
