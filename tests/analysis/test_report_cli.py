"""The report CLI: outputs, results.json keys, exit codes, one-line errors, exclusions."""

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from analysis.report import main
from analysis.simulate import simulate_trials, write_logs

T_KEYS = ["rt_left_vs_right", "rt_positive_vs_negative", "intensity_left_vs_right"]
C_KEYS = ["accuracy_left_vs_right", "accuracy_positive_left_vs_right", "accuracy_negative_left_vs_right"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One full report of 18 × 140 simulated trials, one of them aborted after 100 trials."""
    root = tmp_path_factory.mktemp("rep")
    trials = simulate_trials(18, effect=1.0, seed=9)
    trials = trials[~((trials.participant == "P18") & (trials.trial > 100))]
    write_logs(trials, root / "logs", n_trials_planned=140)
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main([str(root / "logs"), "--out", str(root / "out")])
    return code, buf.getvalue(), root / "out", trials


@pytest.mark.slow
def test_report_writes_every_output_and_exits_zero(report):
    code, out, folder, _ = report
    assert code == 0
    names = {p.name for p in folder.iterdir()}
    assert {"report.html", "results.json", "ttests.csv", "chisquare.csv", "participant_level.csv",
            "mixed_models.csv", "per_emotion_accuracy.csv", "confusion.csv", "sessions.csv",
            "exclusions.csv", "descriptives.csv", "rt_distribution.png", "confusion_matrices.png"} <= names
    assert f"report: {(folder / 'report.html').resolve()}" in out


@pytest.mark.slow
def test_results_json_has_the_issue_keys_and_numbers_match_the_data(report):
    _, _, folder, trials = report
    res = json.loads((folder / "results.json").read_text())
    for k in T_KEYS:
        assert set(res[k]["groups"]) and all(set(g) >= {"n", "mean", "sd"} for g in res[k]["groups"].values())
        assert set(res[k]["student"]) >= {"t", "df", "p"} and set(res[k]["welch"]) >= {"t", "df", "p"}
    for k in C_KEYS:
        assert set(res[k]) >= {"table", "pearson", "yates"}
        assert set(res[k]["pearson"]) >= {"chi2", "df", "p"} and set(res[k]["yates"]) >= {"chi2", "df", "p"}
    assert res["intensity_left_vs_right"]["groups"]["left"]["n"] == (trials.visible_half == "left").sum()
    ok = trials[trials.correct == 1]
    assert res["rt_left_vs_right"]["groups"]["right"]["mean"] == pytest.approx(ok[ok.visible_half == "right"].rt.mean())
    assert res["accuracy_left_vs_right"]["table"]["left"]["correct"] == ok[ok.visible_half == "left"].shape[0]
    assert res["meta"]["n_trials"] == 18 * 140 - 40 and res["meta"]["n_incomplete_sessions"] == 1
    assert set(res["mixed_models"]) == {"rt", "intensity", "accuracy"}
    assert all("p" in m for m in res["mixed_models"].values())


@pytest.mark.slow
def test_apa_lines_printed_and_html_is_self_contained(report):
    _, out, folder, _ = report
    assert re.search(r"rt_left_vs_right: Welch t\(\d+\.\d\d\) = \u2212?\d+\.\d\d, p [=<] \.\d{3}", out)
    assert re.search(r"accuracy_left_vs_right: \u03c7\u00b2\(1, N = 2480\) = \d+\.\d\d", out)
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6
    assert not re.search(r"(src|href)=[\"'](?!data:|#)", html)  # nothing fetched from outside
    assert "P18_s1.csv (sidecar says completed: false; 100 of 140 planned trials)" in html
    assert "pseudoreplication" in html


def test_invalid_log_exits_one_with_a_single_line_and_no_traceback(tmp_path):
    write_logs(simulate_trials(2, seed=1), tmp_path)
    p = tmp_path / "P01_s1.csv"
    df = pd.read_csv(p, dtype=str)
    df.loc[4, "intensity"] = "7"
    df.to_csv(p, index=False)
    r = subprocess.run([sys.executable, "-m", "analysis.report", str(tmp_path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: P01_s1.csv line 6 (data row 5): intensity '7'")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_exclude_invalid_exits_zero_and_reports_the_exclusions(tmp_path, capsys):
    write_logs(simulate_trials(4, seed=2), tmp_path)
    p = tmp_path / "P03_s1.csv"
    df = pd.read_csv(p, dtype=str)
    df.loc[0, "emotion"] = "joy"
    df.loc[1, "rt"] = "fast"
    df.to_csv(p, index=False)
    assert main([str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--exclude-invalid"]) == 0
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    assert res["exclusions"]["n_rows"] == 2 and res["exclusions"]["by_reason"] == {"emotion": 1, "rt": 1}
    assert res["meta"]["n_trials"] == 4 * 140 - 2
    ex = pd.read_csv(tmp_path / "o" / "exclusions.csv")
    assert list(ex["line"]) == [2, 3] and set(ex["file"]) == {"P03_s1.csv"}
    html = (tmp_path / "o" / "report.html").read_text()
    assert "2 row(s) were excluded" in html and "joy" in html
    assert "2 row(s) excluded for 2 problem(s)" in capsys.readouterr().out


def test_bad_arguments_exit_two(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["--no-such-flag"])
    assert exc.value.code == 2
    assert main([str(tmp_path / "missing")]) == 1


def test_package_entry_point_lists_both_commands():
    r = subprocess.run([sys.executable, "-m", "analysis"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "report" in r.stdout and "simulate" in r.stdout
    assert "python -m analysis.simulate --participants 18 --out logs/" in r.stdout
    r = subprocess.run([sys.executable, "-m", "analysis", "bogus"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2


def test_help_has_an_example():
    r = subprocess.run([sys.executable, "-m", "analysis.report", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "example: python -m analysis.report logs/" in r.stdout
    assert "--exclude-invalid" in r.stdout
