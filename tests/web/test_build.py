"""``python -m experiment web``: the built site carries the lab's design, columns and texts, and nothing off-site.

The full 140-trial order logic is checked here without a browser: the orders in
the build against ``experiment.design.trial_order`` for every counterbalancing
number, and the browser's own lookup (procedure.js, run in node) against the same.
"""

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from experiment import design, ids, keys
from experiment.conditions import load_conditions
from experiment.texts import load_texts, shipped_path
from experiment.timing import frames_for
from experiment.web import build
from experiment.web.rows import SHARED_NEW, WEB_EXTRAS, ColumnsError, web_columns
from halfface.schema import LOG_COLUMNS
from stimuli.demo import demo_practice_manifest

from .stimuli_files import make_manifest

PROCEDURE = Path(build.__file__).parent / "procedure.js"


@pytest.fixture(scope="module")
def paper_site(tmp_path_factory):
    """The paper's design: 70 photos x 2 halves = 140 trials, orders for numbers 1-120."""
    root = tmp_path_factory.mktemp("paper")
    manifest = make_manifest(root / "stim", 70, size=(24, 32))
    site = build.build_site(manifest, root / "site")
    return manifest, root / "site", site


def _node(script: str, env=None):
    proc = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_build_holds_the_lab_order_of_every_counterbalancing_number(paper_site):
    manifest, _, site = paper_site
    rows = load_conditions(manifest)
    assert site["cb_numbers"] == build.DEFAULT_CB_NUMBERS
    for number in range(1, site["cb_numbers"] + 1):
        lab, info = design.trial_order(rows, number, 1)
        web = site["orders"]["1"][str(number)]
        assert len(web["trials"]) == len(lab) == 140
        assert [[site["stimuli"][k]["stimulus"], b, p] for k, b, p in web["trials"]] == \
               [[t["stimulus"], t["block"], t["presentation"]] for t in lab]
        assert (web["seed"], web["latin_square_row"], web["block_order"]) == \
               (info["seed"], info["latin_square_row"], info["block_order"])


def test_the_browser_builds_the_same_140_trials_as_the_lab(paper_site):
    """procedure.js's own lookup (trialsFor), run in node on the built design.js, for every number."""
    manifest, site_dir, site = paper_site
    rows = load_conditions(manifest)
    out = _node(f"""
        const fs = require("fs");
        const text = fs.readFileSync({json.dumps(str(site_dir / "design.js"))}, "utf8");
        eval(text.replace("const HALFFACE_DESIGN", "global.D2"));
        const p = require({json.dumps(str(site_dir / "procedure.js"))});
        const all = {{}};
        for (let n = 1; n <= D2.cb_numbers; n++)
          all[n] = p.trialsFor(D2, "1", n).map(t => [t.trial, t.stimulus, t.photo_id, t.visible_half, t.block,
                                                     t.presentation]);
        console.log(JSON.stringify(all));""")
    for number in range(1, site["cb_numbers"] + 1):
        lab, _ = design.trial_order(rows, number, 1)
        assert out[str(number)] == [[t["trial"], t["stimulus"], t["photo_id"], t["visible_half"], t["block"],
                                     t["presentation"]] for t in lab]


def test_participant_numbers_fold_keeping_latin_square_row_and_first_half(paper_site):
    manifest, site_dir, site = paper_site
    rows = load_conditions(manifest)
    ids_ = ["P07", "P007", "S12", "p120", "P121", "P0", "7", "lab-P33", "lab2-012", "x9999999999999999999999"]
    out = _node(f"""
        const p = require({json.dumps(str(PROCEDURE))});
        console.log(JSON.stringify({json.dumps(ids_)}.map(id => p.counterbalancingNumber(id, null, 120))));""")
    period = build.cycle_length(rows, design.DEFAULT_BLOCKS)
    assert period == 4  # 4 Latin-square rows, 2 halves per photo
    for pid, got in zip(ids_, out):
        number = ids.counterbalancing_number(pid)
        assert int(got["fromId"]) == number, pid  # the lab's digits rule
        used = got["used"]
        assert 1 <= used <= 120 and (used - number) % 120 == 0, pid
        if 1 <= number <= 120:
            assert used == number, pid  # numbers the build holds are used unchanged
        lab, lab_info = design.trial_order(rows, number, 1)
        web, web_info = design.trial_order(rows, used, 1)
        assert web_info["latin_square_row"] == lab_info["latin_square_row"], pid
        first_half = lambda trials: {t["photo_id"]: t["visible_half"] for t in trials if t["presentation"] == 1}
        assert first_half(web) == first_half(lab), pid


def test_link_cb_overrides_the_id_and_an_id_without_digits_needs_it():
    out = _node(f"""
        const p = require({json.dumps(str(PROCEDURE))});
        const r = [p.counterbalancingNumber("alice", "5", 120).used];
        for (const [id, cb] of [["alice", null], ["P07", "x1"]]) {{
          try {{ p.counterbalancingNumber(id, cb, 120); r.push("no error"); }} catch (e) {{ r.push(e.message); }}
        }}
        console.log(JSON.stringify(r));""")
    assert out[0] == 5
    assert "no digits" in out[1] and "cb=N" in out[1]
    assert "not a whole number" in out[2]


def test_frames_times_and_csv_text_are_written_as_the_lab_writes_them():
    rates = [30, 59.94, 60, 75, 100, 120, 143.9, 144, 165, 240, 390]
    moment = datetime(2026, 11, 28, 6, 3, 46, 123000, tzinfo=timezone.utc)
    out = _node(f"""
        const p = require({json.dumps(str(PROCEDURE))});
        const d = new Date({int(moment.timestamp() * 1000)});
        console.log(JSON.stringify({{ frames: {json.dumps(rates)}.map(r => p.framesFor(0.25, r)),
          iso: p.isoLocal(d), date: p.psychopyDate(d),
          csv: p.csvText(["a", "b", "c"], [{{a: "x,y", b: 'say "hi"', c: "plain"}},
                                           {{a: "", b: "1.500000", c: "é"}}]) }}));""",
                env=dict(os.environ, TZ="Asia/Shanghai"))
    assert out["frames"] == [frames_for(0.25, r) for r in rates]
    local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    assert out["iso"] == local.isoformat(timespec="milliseconds") == "2026-11-28T14:03:46.123+08:00"
    assert out["date"] == local.strftime("%Y-%m-%d_%Hh%M.%S.%f")[:-3]  # PsychoPy's data.getDateStr()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([["a", "b", "c"], ["x,y", 'say "hi"', "plain"], ["", "1.500000", "é"]])
    assert out["csv"] == buf.getvalue()


def test_web_columns_are_the_lab_columns_then_the_browser_fields():
    columns = web_columns()
    assert columns[:len(LOG_COLUMNS)] == tuple(LOG_COLUMNS)
    assert set(columns) - set(LOG_COLUMNS) <= {"platform", *SHARED_NEW, *WEB_EXTRAS}
    assert {"reshown", "expStart", "prolific_pid", "study_id", "session_id"} <= set(columns)
    assert set(WEB_EXTRAS) <= set(columns) and "platform" in columns
    # every column the browser fills appears in procedure.js's row
    source = PROCEDURE.read_text(encoding="utf-8")
    row_code = source[source.index("function logRow"):source.index("/* ---", source.index("function logRow"))]
    row_code = re.sub(r"//[^\n]*", "", row_code)  # a commented-out value fills nothing
    for column in columns:
        assert re.search(rf"\b{column}:", row_code), f"procedure.js logRow does not fill {column}"


def test_a_new_lab_column_stops_the_build_naming_it():
    with pytest.raises(ColumnsError, match="heart_rate.*procedure.js"):
        web_columns(tuple(LOG_COLUMNS) + ("heart_rate",))


def test_texts_and_keys_are_the_lab_sessions(paper_site):
    _, _, site = paper_site
    english = load_texts("en")
    assert site["texts"]["emotion_prompt"] == english.screen("emotion_question")
    assert site["texts"]["intensity_prompt"] == english.screen("intensity_question")
    assert site["texts"]["instructions"] == english.screen("instructions")
    assert site["emotion_keys"] == dict(keys.EMOTION_KEYS)
    assert site["participant_id_pattern"] == build.ID_PATTERN
    for pid in ["P07", "a_b-9", "x" * 64, "x" * 65, "../x", "P 07", "Pé", ""]:
        try:
            ids.validate_participant_id(pid)
            python_ok = True
        except ValueError:
            python_ok = False
        assert python_ok == bool(re.fullmatch(build.ID_PATTERN.strip("^$"), pid)), pid


def test_chinese_and_custom_instruction_files_as_in_the_lab(manifests, tmp_path):
    test, _ = manifests
    zh = build.build_site(test, tmp_path / "zh", instructions="zh", cb_numbers=8)
    lab = load_texts("zh")
    assert zh["texts"]["instructions"] == lab.screen("instructions") and "高兴" in zh["texts"]["emotion_prompt"]
    assert zh["texts"]["fullscreen_left"] == build.WEB_TEXTS["zh"]["fullscreen_left"]
    assert "空格键" in zh["texts"]["chinrest"]["blindspot_prompt"] and zh["fonts"] == list(lab.fonts)
    own = tmp_path / "mine.toml"
    own.write_text(shipped_path("en").read_text(encoding="utf-8")
                   + '\n[web]\nfullscreen = "Full screen, please."\n', encoding="utf-8")
    mine = build.build_site(test, tmp_path / "mine", instructions=str(own), cb_numbers=8)
    assert mine["texts"]["fullscreen"] == "Full screen, please." and mine["instructions"]["file"] == own.name
    own.write_text(own.read_text(encoding="utf-8") + 'colour = "red"\n', encoding="utf-8")
    proc = _cli_here("web", "--conditions", str(test), "--out", str(tmp_path / "bad"), "--instructions", str(own),
                "--cb-numbers", "8")
    assert proc.returncode == 2 and "[web] may only hold" in error_lines(proc)[0]


def test_site_is_self_contained(paper_site):
    _, site_dir, site = paper_site
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(not re.match(r"[a-z]+://|//", r) for r in refs)
    for ref in refs:
        if not ref.startswith("data:"):
            assert (site_dir / ref).is_file(), ref
    for js in (site_dir / "jspsych").glob("*.js"):
        assert "sourceMappingURL" not in js.read_text(encoding="utf-8"), js.name
    for entry in site["stimuli"]:
        assert (site_dir / entry["url"]).is_file()
    assert f"jspsych {site['jspsych']['jspsych']} (MIT" in (site_dir / "jspsych" / "LICENSES.txt").read_text()
    assert json.loads((site_dir / "design.json").read_text()) == site


def test_the_crossed_design_gives_the_lab_orders_too(tmp_path):
    """Poser's half x image side (mirror copies shown): four versions per photo, still the lab's orders."""
    manifest = make_manifest(tmp_path / "stim", 8, size=(24, 32), with_mirrored=True)
    site = build.build_site(manifest, tmp_path / "site", design="crossed", cb_numbers=8)
    rows = load_conditions(manifest, "crossed", warn=None)
    assert site["design"] == "crossed" and len(site["stimuli"]) == 32
    for number in range(1, 9):
        lab, _ = design.trial_order(rows, number, 1, design="crossed")
        assert [site["stimuli"][k]["stimulus"] for k, _, _ in site["orders"]["1"][str(number)]["trials"]] == \
               [t["stimulus"] for t in lab]
    paper = build.build_site(manifest, tmp_path / "paper", cb_numbers=8)  # the paper's design leaves them out
    assert len(paper["stimuli"]) == 16 and not any("_mirror" in s["stimulus"] for s in paper["stimuli"])


def test_max_trials_keeps_the_first_trials_of_each_order(manifests, tmp_path):
    test, _ = manifests
    site = build.build_site(test, tmp_path / "s", max_trials=3, cb_numbers=8)
    rows = load_conditions(test)
    for number in range(1, 9):
        lab, _ = design.trial_order(rows, number, 1)
        assert [site["stimuli"][k]["stimulus"] for k, _, _ in site["orders"]["1"][str(number)]["trials"]] == \
               [t["stimulus"] for t in lab[:3]]


def error_lines(proc):
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "experiment", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def _cli_here(*args):
    """``python -m experiment ARGS`` as ``experiment.cli.main`` in this process, with its exit code and output.

    A second interpreter adds nothing to these checks of messages and exit codes; the command itself
    runs as a process in test_missing_npm_says_what_to_install and the demo-stimuli test.
    """
    from experiment.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    return subprocess.CompletedProcess(["experiment", *args], code, out.getvalue(), err.getvalue())


def test_cli_refuses_practice_that_shows_a_test_photo(manifests, tmp_path):
    test, _ = manifests
    proc = _cli_here("web", "--conditions", str(test), "--out", str(tmp_path / "site"),
                "--practice-conditions", str(test), "--cb-numbers", "8")
    assert proc.returncode == 2
    assert "practice stimulus" in error_lines(proc)[0] and "line 2" in error_lines(proc)[0]
    assert not (tmp_path / "site").exists()


def test_cli_refuses_cb_numbers_that_would_break_the_balance(manifests, tmp_path):
    test, _ = manifests
    proc = _cli_here("web", "--conditions", str(test), "--out", str(tmp_path / "site"), "--cb-numbers", "6")
    assert proc.returncode == 2 and "multiple of 4" in proc.stderr and "use 8" in proc.stderr


def test_build_never_deletes_a_folder_that_is_not_a_site(manifests, tmp_path):
    test, _ = manifests
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    proc = _cli_here("web", "--conditions", str(test), "--out", str(out), "--cb-numbers", "8")
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (out / "notes.txt").read_text() == "my notes" and len(list(out.iterdir())) == 1
    # an earlier build is replaced (rebuilding after editing the manifest is the normal case)
    site = tmp_path / "site"
    assert _cli_here("web", "--conditions", str(test), "--out", str(site), "--cb-numbers", "8").returncode == 0
    (site / "stale.txt").write_text("from the old build")
    proc = _cli_here("web", "--conditions", str(test), "--out", str(site), "--cb-numbers", "8", "--max-trials", "2")
    assert proc.returncode == 0, proc.stderr
    assert not (site / "stale.txt").exists()
    assert json.loads((site / "design.json").read_text())["max_trials"] == 2


def test_missing_npm_says_what_to_install(manifests, tmp_path):
    test, _ = manifests
    env = dict(os.environ, PATH=str(Path(sys.executable).parent), HALFFACE_WEB_CACHE=str(tmp_path / "empty-cache"))
    proc = _cli("web", "--conditions", str(test), "--out", str(tmp_path / "site"), "--cb-numbers", "8", env=env)
    assert proc.returncode == 2
    assert len(error_lines(proc)) == 1 and error_lines(proc)[0].startswith("error: npm not found")
    assert "Node.js" in proc.stderr and "apt-get install nodejs npm" in proc.stderr
    assert not (tmp_path / "site").exists()


def test_cli_names_a_missing_manifest(tmp_path):
    proc = _cli_here("web", "--conditions", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "site"))
    assert proc.returncode == 2 and "nope.csv" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_demo_stimuli_build_into_a_site(tmp_path):
    """The README's chain: demo photos -> dlib stimuli -> an online site (the issue's 'done when')."""
    run = lambda *args: subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=600)
    assert run("stimuli", "demo", str(tmp_path / "photos")).returncode == 0
    built = run("stimuli", "build", str(tmp_path / "photos"), "--labels", str(tmp_path / "photos" / "labels.csv"),
                "--out", str(tmp_path / "stimuli"))
    assert built.returncode == 0, built.stderr
    proc = _cli("web", "--conditions", str(tmp_path / "stimuli" / "manifest.csv"), "--out", str(tmp_path / "site"),
                "--practice-conditions", str(demo_practice_manifest()))
    assert proc.returncode == 0, proc.stderr
    site = json.loads((tmp_path / "site" / "design.json").read_text())
    rows = load_conditions(tmp_path / "stimuli" / "manifest.csv", warn=None)
    assert len(site["stimuli"]) == len(rows) and all((tmp_path / "site" / s["url"]).is_file() for s in site["stimuli"])
    practice = site["practice_stimuli"]
    assert practice and {s["photo_id"] for s in practice}.isdisjoint({r["photo_id"] for r in rows})
    assert all((tmp_path / "site" / s["url"]).is_file() for s in practice)
    lab, _ = design.trial_order(rows, 7, 1)
    assert [site["stimuli"][k]["stimulus"] for k, _, _ in site["orders"]["1"]["7"]["trials"]] == \
           [t["stimulus"] for t in lab]


def test_the_built_site_carries_no_path_of_the_building_machine(manifests, tmp_path):
    test, practice = manifests
    own = tmp_path / "private" / "lab_texts.toml"
    own.parent.mkdir()
    own.write_text(shipped_path("en").read_text(encoding="utf-8"), encoding="utf-8")
    consent = tmp_path / "private" / "our_consent.txt"
    consent.write_text("We ask for your consent.\n\nClick to agree.", encoding="utf-8")
    out = tmp_path / "site"
    site = build.build_site(test, out, practice_conditions=practice, instructions=str(own), consent=consent,
                            cb_numbers=8, completion=build.completion_url(prolific_code="AB12CD"))
    folders = {str(tmp_path), str(Path.home()), str(Path(build.__file__).resolve().parents[2]), os.getcwd()}
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".js", ".json", ".html", ".css", ".txt"):
            text = f.read_text(encoding="utf-8")
            for folder in folders:
                assert folder not in text, (f.name, folder)
    assert site["texts"]["consent"] == "We ask for your consent.\n\nClick to agree."
    assert site["consent"]["file"] == "our_consent.txt" and site["instructions"]["file"] == "lab_texts.toml"
    # the completion link is for the server only: the public design.js does not hold it
    assert "AB12CD" in (out / "design.json").read_text() and "AB12CD" not in (out / "design.js").read_text()
    assert site["completion_url"] == "https://app.prolific.com/submissions/complete?cc=AB12CD"


def test_consent_and_debrief_default_to_the_shipped_texts_in_the_session_language(manifests, tmp_path):
    en = build.site_design(load_conditions(manifests[0]), cb_numbers=8)
    zh = build.site_design(load_conditions(manifests[0]), cb_numbers=8, instructions="zh")
    assert "consent" in en["texts"]["consent"].lower() and "Thank you" in en["texts"]["debrief"]
    assert "知情同意" in zh["texts"]["consent"] and "感谢" in zh["texts"]["debrief"]
    assert set(build.WEB_TEXTS["zh"]) == set(build.WEB_TEXTS["en"])  # every online screen in both languages
    proc = _cli_here("web", "--conditions", str(manifests[0]), "--out", str(tmp_path / "x"), "--consent",
                str(tmp_path / "missing.txt"), "--cb-numbers", "8")
    assert proc.returncode == 2 and "--consent" in error_lines(proc)[0] and "missing.txt" in error_lines(proc)[0]
    for bad in (["--prolific-code", "AB 12"], ["--completion-url", "http://plain.example"],
                ["--completion-url", "https://a.example", "--prolific-code", "AB12"]):
        proc = _cli_here("web", "--conditions", str(manifests[0]), "--out", str(tmp_path / "y"), "--cb-numbers", "8",
                         *bad)
        assert proc.returncode == 2 and len(error_lines(proc)) == 1, bad


def test_the_page_neutralises_cells_as_the_server_does():
    from experiment.web.rows import neutralise

    values = ["=1+2", "+x", "-x", "@x", "\tx", "\rx", "'x", "-0.5", "-12", "0.5", "plain", "", "a=b", "--1"]
    out = _node(f"""
        const p = require({json.dumps(str(PROCEDURE))});
        console.log(JSON.stringify({json.dumps(values)}.map(p.neutralise)));""")
    assert out == [neutralise(v) for v in values]
    assert out[:7] == ["'" + v for v in values[:7]] and out[7:] == values[7:13] + ["'--1"]
