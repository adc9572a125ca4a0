"""The report on logs from several sources: Builder names, online sessions, crossed design, flags.

One folder holds what the experiment (issue 10) and the online version (issue 13)
write: Builder-style file names, a `platform` column, restarted trials, a sidecar
saying the display timing was not verified, each half shown on both image sides,
and a simulated pilot that must stay out of the analysis by default.
"""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.html import _mixed_model_section
from analysis.report import main
from analysis.simulate import simulate_trials
from analysis.summary import mixed_stat

BUILDER = "{p}_halfface_2026-11-28_14h0{k}.12.345"


def _write(folder, df, stem, sidecar):
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / f"{stem}.csv", index=False)
    (folder / f"{stem}.json").write_text(json.dumps(sidecar))


@pytest.fixture(scope="module")
def mixed_sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    trials = simulate_trials(10, photos_per_emotion=5, effect=1.0, seed=31)
    # Crossed design: every half of every photo also shown on the other image side (a mirrored copy).
    mirrored = trials.assign(visible_image_side=trials["visible_half"])
    trials = pd.concat([trials, mirrored], ignore_index=True).sort_values(["participant", "trial"], kind="stable")
    trials["trial"] = trials.groupby("participant").cumcount() + 1
    trials["platform"] = np.where(trials["participant"].isin(["P01", "P02", "P03", "P04", "P05"]), "web", "lab")
    trials["restarted"] = 0
    trials.loc[(trials["participant"] == "P06") & (trials["trial"] == 7), "restarted"] = 1
    trials.loc[(trials["participant"] == "P07") & (trials["trial"] == 3), "rt"] = 0.08  # an anticipation
    logs = root / "logs"
    for k, (pid, df) in enumerate(trials.groupby("participant")):
        sidecar = {"n_trials_planned": 140, "completed": True, "simulated": False, "design": "crossed",
                   "allow_unlocked_display": pid == "P08"}
        _write(logs, df.assign(expName="halfface", session="001"), BUILDER.format(p=pid, k=k % 10), sidecar)
    pilot = simulate_trials(1, seed=2).assign(participant="pilot01")
    _write(logs, pilot, "pilot01_s1", {"n_trials_planned": 140, "completed": True, "simulated": True})
    pilot.head(3).to_csv(logs / "P01_halfface_practice.csv", index=False)
    (logs / "P01_halfface_2026-11-28_14h00.12.345.log").write_text("psychopy log\n")
    code = main([str(logs), "--out", str(root / "out")])
    res = json.loads((root / "out" / "results.json").read_text())
    return code, res, (root / "out" / "report.html").read_text(), root


@pytest.mark.slow
def test_builder_named_logs_are_analysed_with_ids_from_the_columns(mixed_sources):
    code, res, html, _ = mixed_sources
    assert code == 0
    assert res["meta"]["n_participants"] == 10 and res["meta"]["n_sessions"] == 10
    assert {s["participant"] for s in res["sessions"]} == {f"P{i:02d}" for i in range(1, 11)}
    assert {s["session"] for s in res["sessions"]} == {1}
    # The anticipation is left out of the RT analyses only.
    assert res["meta"]["n_trials"] == 10 * 140 and res["meta"]["n_trials_rt"] == 10 * 140 - 1


@pytest.mark.slow
def test_simulated_pilot_and_practice_file_are_left_out_and_listed(mixed_sources):
    _, res, html, _ = mixed_sources
    assert [s["file"] for s in res["left_out_sessions"]] == ["pilot01_s1.csv"]
    assert "pilot01" not in {s["participant"] for s in res["sessions"]}
    assert "Sessions left out" in html and "P01_halfface_practice.csv" in html


@pytest.mark.slow
def test_restarted_trials_unverified_timing_and_trimming_are_disclosed(mixed_sources):
    _, res, html, _ = mixed_sources
    assert res["restarted"]["n_rows"] == 1 and res["restarted"]["rows"][0]["participant"] == "P06"
    assert res["meta"]["n_unverified_timing_sessions"] == 1
    assert "1 session(s) ran on a display whose timing was not verified" in html
    assert res["exclusions"]["rt_trimming"]["n_below_min"] == 1 and res["exclusions"]["rt_trimming"]["rt_min"] == 0.2
    assert "Restarted trials (kept)" in html and "rt below --rt-min 0.2 s (anticipation)" in html


@pytest.mark.slow
def test_crossed_design_adds_the_half_by_image_side_analysis_and_figure(mixed_sources):
    _, res, html, root = mixed_sources
    wd = res["within_design"]
    assert wd["design"] == "crossed" and set(wd["tests"]) == {"rt", "intensity", "accuracy"}
    assert {e["effect"] for e in wd["tests"]["intensity"]["effects"]} == {"poser's half", "image side",
                                                                          "half x image side"}
    assert (root / "out" / "half_by_image_side.png").stat().st_size > 10_000
    assert "Poser's half or image side?" in html and "repeated-measures ANOVA" in html


@pytest.mark.slow
def test_both_platforms_give_a_platform_comparison(mixed_sources):
    _, res, html, root = mixed_sources
    plat = res["platform_comparison"]
    assert plat["compared"] and plat["platforms"] == ["lab", "web"]
    assert plat["tests"]["intensity"]["n_participants"] == {"lab": 5, "web": 5}
    assert {s["platform"] for s in res["sessions"]} == {"lab", "web"}
    assert "Lab vs online sessions" in html and (root / "out" / "platform_side_effects.png").exists()
    assert html.count("data:image/png;base64,") == 8
    # Web sessions are flagged like an unverified lab display, and the comparison says so.
    assert res["meta"]["n_browser_timing_sessions"] == 5 and "5 web session(s): browser timing, not verified" in html
    assert "browser timing, not verified" in plat["timing_note"]
    assert any(line.startswith("In the platform comparison, web sessions: browser timing") for line in res["summary"])


def _cli(capsys, *args):
    """The report command in-process: (exit code, stderr). A new interpreter only added its imports here;
    test_report_cli.py runs ``python -m analysis.report`` end to end. A traceback would fail the test."""
    code = main([*map(str, args)])
    return code, capsys.readouterr().err


def test_millisecond_log_is_refused_by_the_cli_naming_the_file(tmp_path, capsys):
    t = simulate_trials(2, seed=4)
    t.loc[t["participant"] == "P02", "rt"] *= 1000
    for pid, df in t.groupby("participant"):
        df.to_csv(tmp_path / f"{BUILDER.format(p=pid, k=1)}.csv", index=False)
    code, err = _cli(capsys, tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"error: {BUILDER.format(p='P02', k=1)}.csv: median rt is ")
    assert "milliseconds" in err and not (tmp_path / "o").exists()


def test_only_simulated_logs_without_the_flag_exit_two_saying_what_to_do(tmp_path, capsys):
    from analysis.simulate import write_logs
    write_logs(simulate_trials(2, seed=4), tmp_path)
    code, err = _cli(capsys, tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert "all 2 session(s) are simulated" in err and "--include-simulated" in err


def test_mixed_model_block_renders_random_effects_convergence_and_simplifications():
    m = {"model": "logistic mixed model (Laplace)", "subset": "all trials", "compares": "left vs right",
         "requested_formula": "correct ~ left + (1 + left || participant) + (1 + left || photo_id)",
         "fitted_formula": "correct ~ left + (1 + left || participant) + (1 | photo_id)",
         "simplifications": ["The by-photo side slope had variance 0 (singular fit) and was dropped."],
         "coef": 0.21, "se": 0.07, "se_label": "posterior SD", "z": 3.0, "p": 0.0027, "ci_low": 0.07,
         "ci_high": 0.35, "n_obs": 2520, "converged": False, "singular": True,
         "random_effects": [{"group": "participant", "term": "intercept", "variance": 0.25, "sd": 0.5},
                            {"group": "participant", "term": "side", "variance": 0.04, "sd": 0.2},
                            {"group": "photo_id", "term": "intercept", "variance": 0.36, "sd": 0.6}]}
    html = _mixed_model_section("accuracy", m)
    assert "(1 + left || participant) + (1 | photo_id)" in html and "by-photo side slope had variance 0" in html
    assert "Converged: False; singular fit: True" in html and "<th>posterior SD</th>" in html
    assert html.count("<td class='txt'>participant</td>") == 2 and "0.600" in html
    assert mixed_stat(m) == "b = 0.210, posterior SD = 0.070, z = 3.00, p = .003"
    assert mixed_stat({**m, "se_label": "SE", "df": 17.4}) == "b = 0.210, SE = 0.070, t(17.40) = 3.00, p = .003"


def test_logistic_block_names_the_prior_and_shows_the_glmer_row_with_a_note_when_they_disagree():
    from analysis.html import _comparison
    from analysis.mixed_models import PRIOR, SE_LABEL
    g = {"coef": 0.2, "se": 0.1, "z": 2.0, "p": 0.046, "ci_low": 0.0, "ci_high": 0.4, "n_obs": 2520,
         "fitted_formula": "correct ~ side + (1 | participant) + (1 | photo_id)", "disagree_at_05": True,
         "simplifications": ["dropped (0 + side|photo_id): its variance was estimated at 0 (singular fit)"]}
    m = {"model": "logistic mixed model", "subset": "all trials", "compares": "left vs right", "prior": PRIOR,
         "fitted_formula": "correct ~ side + (1 + side || participant) + (1 + side || photo_id)",
         "coef": 0.21, "se": 0.11, "se_label": SE_LABEL["prior"], "z": 1.9, "p": 0.058, "ci_low": -0.01,
         "ci_high": 0.43, "n_obs": 2520, "odds_ratio": 1.23, "or_ci_low": 0.99, "or_ci_high": 1.54,
         "glmer_sensitivity": g}
    html = _mixed_model_section("accuracy", m)
    assert f"with a {PRIOR} (reported)" in html and "without the prior, as lme4::glmer (sensitivity" in html
    assert f"<th>{SE_LABEL['prior']}</th>" in html
    assert "disagrees about p &lt; .05 (p = .058 vs p = .046)" in html
    agree = {**m, "glmer_sensitivity": {**g, "disagree_at_05": False}}
    assert "disagrees" not in _mixed_model_section("accuracy", agree)
    # The other tests of the comparison table, as results.json has a test that could not be computed.
    na = {"error": "not computed in this test"}
    questions = ("rt", "intensity", "accuracy", "rt_positive_vs_negative", "accuracy_side_by_valence")
    row = _comparison({"participant_level": dict.fromkeys(questions, na),
                       "mixed_models": {**dict.fromkeys(questions, na), "accuracy": m},
                       **dict.fromkeys(("rt_left_vs_right", "intensity_left_vs_right", "accuracy_left_vs_right",
                                        "rt_positive_vs_negative"), na),
                       "accuracy_side_by_valence": {"trial_level": na}}).iloc[2]
    assert f"logistic GLMM with a {PRIOR}; SE (penalised)" in row["mixed model (recommended): estimate [95% CI], p"]
    assert row["logistic model without the prior (glmer; sensitivity)"] == \
        "b = 0.200, p = .046 (with the prior p = .058); the two disagree about p < .05"
