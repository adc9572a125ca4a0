"""Through the CLI: every silent change is a warning (console, top of the page, results.json) or a
refusal, and degenerate data get "could not be tested", never a verdict (issue 17, items 2-3)."""

import io
import json
import re
import subprocess
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import main
from analysis.simulate import simulate_trials, write_logs

# Phrases that claim a difference or its absence.
VERDICT = re.compile(r"differ(ed)? significantly|did not differ|more accurately|less accurately|more slowly|"
                     r"as more intense|as less intense|were faster than|were slower than")


def _run(logdir, *args):
    """Run the report command in this process, as ``python -m analysis.report`` would, and read its outputs.

    In-process (``main``) instead of a new interpreter: the report is what these tests look at, and a
    subprocess only added the imports (~3 s each). A warning a library raises would be printed on the real
    stderr; here it is recorded under the interpreter's default filters and added to ``err``, so that
    ``_only_our_lines`` sees it as before. ``python -m analysis.report`` runs end to end in a new interpreter
    in ``_run_process`` (a full analysis, below) and test_report_cli.py (an invalid log: exit 2, one line).
    """
    out = logdir.parent / f"out_{logdir.name}"
    stdout, stderr = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, redirect_stdout(stdout), redirect_stderr(stderr):
        # Python's default filters (no -W): deprecations are shown only where __main__ (here the report) warns.
        warnings.resetwarnings()
        warnings.simplefilter("always")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("always", category=DeprecationWarning, module=r"analysis\.report$")
        code = main([str(logdir), "--out", str(out), "--include-simulated", *args])
    err = stderr.getvalue() + "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
                                      for w in caught)
    return (code, stdout.getvalue(), err, *_outputs(out))


def _run_process(logdir):
    """``python -m analysis.report`` in a new interpreter: a warning a library prints while it is imported, or
    writes to file descriptor 2 itself, reaches the real stderr, which an in-process run cannot see."""
    out = logdir.parent / f"out_{logdir.name}"
    p = subprocess.run([sys.executable, "-m", "analysis.report", str(logdir), "--out", str(out), "--include-simulated"],
                       cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300)
    return (p.returncode, p.stdout, p.stderr, *_outputs(out))


def _outputs(out):
    res = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else None
    html = (out / "report.html").read_text() if (out / "report.html").exists() else ""
    return res, html


def _logs(tmp_path, n=6, seed=5, edit=None):
    trials = simulate_trials(n, seed=seed)
    if edit is not None:
        trials = edit(trials)
    write_logs(trials, tmp_path / "logs")
    return tmp_path / "logs"


def _only_our_lines(stderr):
    """Every stderr line is one of the report's own warnings: no library warning, no traceback."""
    return all(line.startswith("warning: ") for line in stderr.splitlines())


def _paragraphs(stdout, start):
    return [p for p in stdout.split("\n\n") if p.strip().startswith(start)]


@pytest.mark.slow
def test_all_correct_answers_give_no_accuracy_verdict_and_no_library_warnings(tmp_path):
    def all_correct(t):
        return t.assign(correct=1, response_emotion=t["emotion"])
    # the one full analysis run in a new interpreter: nothing on its real stderr but the report's own warnings
    code, out, err, res, _ = _run_process(_logs(tmp_path, edit=all_correct))
    assert code == 0 and _only_our_lines(err), err
    (acc,) = _paragraphs(out, "Could not be tested: left vs right proportion correct")
    assert "no variance" in acc and not VERDICT.search(acc)
    (inter,) = _paragraphs(out, "Could not be tested: the side × valence interaction")
    assert not VERDICT.search(inter)
    assert res["mixed_models"]["accuracy"]["error"] == "not fitted: no variance: every answer was correct"
    assert res["accuracy_side_by_valence"]["p"] is None


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2])
def test_one_or_two_participants_get_no_verdict_at_all(tmp_path, n):
    code, out, err, res, html = _run(_logs(tmp_path, n=n))
    assert code == 0 and _only_our_lines(err), err
    sentences = [p for p in out.split("\n\n") if p.strip() and not p.startswith(("report:", "note:"))]
    # The trial-level line is quoted for the paper only, without a verdict; every test sentence says why not.
    for p in sentences:
        assert not VERDICT.search(p), p
    assert len(_paragraphs(out, "Could not be tested:")) == 5
    assert "need at least 3 participants" in out and res["accuracy_side_by_valence"]["p"] is None
    assert "Could not be tested" in html


@pytest.mark.slow
def test_participant_with_one_side_only_is_named_per_test_with_the_reason(tmp_path):
    def one_sided(t):
        return t[~((t.participant == "P03") & (t.visible_half == "right"))]
    code, out, err, res, html = _run(_logs(tmp_path, edit=one_sided))
    assert code == 0 and _only_our_lines(err), err
    line = next(w for w in res["warnings"] if w.startswith("participant-level test 'intensity'"))
    assert "P03 (no right trials in this subset)" in line
    assert f"warning: {line}" in err and "P03 (no right trials in this subset)" in html
    assert res["participant_level"]["intensity"]["n_participants"] == 5
    assert res["mixed_models"]["intensity"]["n_participants"] == 6  # kept in the models, which need no pairs


@pytest.mark.slow
def test_renamed_photo_id_is_restored_and_the_warning_is_everywhere(tmp_path):
    logdir = _logs(tmp_path, n=4)
    for p in logdir.glob("*.csv"):
        pd.read_csv(p).rename(columns={"photo_id": "photo"}).to_csv(p, index=False)
    code, out, err, res, html = _run(logdir)
    assert code == 0
    (w,) = [w for w in res["warnings"] if "photo_id restored from the stimulus names" in w]
    assert f"warning: {w}" in err and w in html.replace("&#x27;", "'")
    assert html.index("Warnings: what the analysis changed") < html.index("<h2>Summary</h2>")
    assert res["mixed_models"]["intensity"]["n_photos"] == 70


def test_copied_session_is_refused_in_one_line_naming_both_files(tmp_path):
    logdir = _logs(tmp_path, n=3)
    pd.read_csv(logdir / "P02_s1.csv").assign(session=2).to_csv(logdir / "P02_s2.csv", index=False)
    code, out, err, res, _ = _run(logdir)
    assert code == 2 and res is None
    assert err.count("\n") == 1 and err.startswith("error: P02_s2.csv: participant P02 session 2 is identical")
    assert "P02_s1.csv" in err and "Traceback" not in err


@pytest.mark.slow
def test_header_only_log_and_half_millisecond_file_are_named_in_the_warnings(tmp_path):
    logdir = _logs(tmp_path, n=5)
    p = logdir / "P05_s1.csv"
    p.write_text(p.read_text().splitlines()[0] + "\n")
    df = pd.read_csv(logdir / "P02_s1.csv")
    df.loc[:59, "rt"] = (df.loc[:59, "rt"] * 1000).round()  # median still in seconds: not refused
    df.to_csv(logdir / "P02_s1.csv", index=False)
    code, out, err, res, html = _run(logdir)
    assert code == 0 and res["meta"]["n_participants"] == 4
    assert any("P05_s1.csv (header only, no trials)" in w for w in res["warnings"])
    assert any(w.startswith("P02_s1.csv: 60 of 140 trials") and "milliseconds" in w for w in res["warnings"])
    assert "P05_s1.csv (header only, no trials)" in err and "P02_s1.csv: 60 of 140 trials" in err
    # Intensity and accuracy keep those 60 trials; only the RT analyses leave them out.
    assert res["meta"]["n_trials"] == 4 * 140 and res["intensity_left_vs_right"]["groups"]["left"]["n"] == 280


@pytest.mark.slow
def test_second_session_is_left_out_by_default_and_pooled_with_sessions_all(tmp_path):
    logdir = _logs(tmp_path, n=4)
    write_logs(simulate_trials(1, seed=77).assign(session=2), logdir)
    code, out, err, res, _ = _run(logdir)
    assert code == 0 and res["meta"]["n_trials"] == 4 * 140
    assert any("P01_s2.csv (P01 session 2, 140 trials)" in w for w in res["warnings"])
    code, out, err, res, _ = _run(logdir, "--sessions", "all")
    assert code == 0 and res["meta"]["n_trials"] == 5 * 140 and "pooled" in err


def test_participant_without_correct_trials_is_named_for_the_rt_tests_and_models(tmp_path):
    from analysis.load import load_logs
    from analysis.report import compute_results

    def p04_all_wrong(t):
        wrong = t["participant"] == "P04"
        t.loc[wrong, "correct"] = 0
        t.loc[wrong, "response_emotion"] = t.loc[wrong, "emotion"].map(
            {"happiness": "fear", "fear": "anger", "anger": "disgust", "disgust": "sadness", "sadness": "surprise",
             "surprise": "others", "others": "happiness"})
        return t
    res, _ = compute_results(load_logs(_logs(tmp_path, n=4, edit=p04_all_wrong), include_simulated=True))
    rt_warn = [w for w in res["warnings"] if "'rt'" in w]
    assert any(w.startswith("participant-level test 'rt'") and "P04 (no trials in this test's subset" in w
               for w in rt_warn)
    assert any(w.startswith("mixed model 'rt'") and "P04 (no trial in this model's subset" in w for w in rt_warn)
    assert not any("'intensity'" in w for w in res["warnings"])
