"""analysis.registry: every test of the report is one tidy row, read from the results, never NaN for a missing test.

Includes the worked example of docs/analysis.md ("Adding a statistical test"): one ``Test`` appended to
the registry is computed, stored in results.json, listed in results.csv and the page, and calibrated.
"""

import copy
import json
import math

import pandas as pd
import pytest
from scipy import stats

from analysis import calibration as cal
from analysis import power, registry
from analysis.html import _comparison, render_html
from analysis.load import load_logs
from analysis.report import _clean, compute_results
from analysis.simulate import simulate_trials, write_logs
from analysis.summary import summary_sentences


def _logs(tmp_path):
    write_logs(simulate_trials(6, photos_per_emotion=3, effect=0.5, seed=4), tmp_path / "logs")
    return load_logs(tmp_path / "logs", include_simulated=True)


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    logs = _logs(tmp_path_factory.mktemp("reg"))
    results, tables = compute_results(logs)
    return logs, results, tables


def _nested(results, path):
    node = results
    for key in path.split("."):
        node = node[key]
    return node


def test_every_test_is_one_row_with_the_same_columns_and_its_nested_p(computed):
    _, results, tables = computed
    t = tables["results"]
    assert list(t.columns) == registry.COLUMNS and t["id"].is_unique
    assert list(t["id"]) == [x.id for x in registry.TESTS]  # the paper's design: no crossed/platform rows
    for x in registry.TESTS:
        row = t.set_index("id").loc[x.id]
        value = _nested(results, x.id)
        assert row["p"] == pytest.approx(value, rel=0, abs=0) and row["recommended"] == x.recommended
    # A row reads the same entry as the nested keys: spot checks on three kinds of test.
    rows = t.set_index("id")
    welch = results["rt_left_vs_right"]["welch"]
    assert rows.loc["rt_left_vs_right.welch.p", ["statistic", "df", "estimate"]].tolist() == pytest.approx(
        [welch["t"], welch["df"], welch["mean_diff"]])
    mm = results["mixed_models"]["intensity"]
    assert rows.loc["mixed_models.intensity.p", ["estimate", "se", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [mm["coef"], mm["se"], mm["ci_low"], mm["ci_high"]])
    assert rows.loc["participant_level.rt.p", "effect_size_label"] == "d_z"
    assert rows.loc["mixed_models.accuracy.p", "prior"].startswith("gamma(2)")
    # Where a fit used a prior, the row's name says so (the page's "All tests" table shows only the name).
    with_prior = t[t["prior"].fillna("").astype(str) != ""]
    assert len(with_prior) == 2 and all("prior" in name for name in with_prior["test"])


def test_results_json_keeps_its_keys_and_gains_the_table(computed):
    _, results, tables = computed
    for key in ("rt_left_vs_right", "participant_level", "mixed_models", "accuracy_side_by_valence", "recommended",
                "warnings", "meta", "summary"):
        assert key in results
    on_disk = json.loads(json.dumps(_clean(results), allow_nan=False))
    assert len(on_disk["table"]) == len(tables["results"])
    assert on_disk["table"][0]["id"] == "rt_left_vs_right.welch.p" and set(on_disk["table"][0]) == set(registry.COLUMNS)
    # The report's list of recommended tests and the table's flags are the same choice.
    flagged = {r["id"].rsplit(".", 1)[0] for r in on_disk["table"] if r["recommended"]}
    assert flagged == set(results["recommended"]) - {"accuracy_side_by_valence.mixed_model"}


def test_a_missing_test_is_an_error_never_nan(computed):
    _, results, _ = computed
    broken = copy.deepcopy(results)
    del broken["mixed_models"]["rt"]
    with pytest.raises(registry.MissingTestError, match="mixed_models.rt"):
        registry.table(broken)
    # The summary and the page's comparison table read the same rows: no sentence or cell about a NaN.
    with pytest.raises(registry.MissingTestError, match="mixed_models.rt"):
        summary_sentences(broken)
    with pytest.raises(registry.MissingTestError, match="mixed_models.rt"):
        _comparison(broken)
    renamed = copy.deepcopy(results)
    renamed["rt_left_vs_right"]["welch_t"] = renamed["rt_left_vs_right"].pop("welch")
    with pytest.raises(registry.MissingTestError, match="rt_left_vs_right"):
        registry.table(renamed)


def test_calibration_fails_on_a_missing_test_instead_of_counting_nan(computed, monkeypatch):
    logs, results, tables = computed
    broken = copy.deepcopy(results)
    del broken["participant_level"]["accuracy"]
    monkeypatch.setattr(cal, "compute_results", lambda _logs: (broken, tables))
    with pytest.raises(registry.MissingTestError, match="participant_level.accuracy"):
        cal.one_study(("null", 1, cal.NULL))


def test_a_test_that_could_not_be_computed_says_why_in_its_row(computed):
    _, results, _ = computed
    failed = copy.deepcopy(results)
    failed["mixed_models"]["accuracy"] = {"error": "not fitted: quasi-separation", "compares": "left vs right"}
    rows = registry.table(failed).set_index("id")
    for id_ in ("mixed_models.accuracy.p", "mixed_models.accuracy.glmer_sensitivity.p"):
        assert math.isnan(rows.loc[id_, "p"]) and "quasi-separation" in rows.loc[id_, "note"]
    assert rows["note"].drop(["mixed_models.accuracy.p", "mixed_models.accuracy.glmer_sensitivity.p"]).isna().all()


def test_power_simulates_the_registrys_recommended_side_tests():
    recommended = {(t.outcome, t.level) for t in registry.TESTS if t.recommended and t.contrast == registry.LR}
    assert recommended == {(k, level) for k in power.OUTCOMES for level in (registry.PARTICIPANT, registry.MIXED)}


# --- the worked example of docs/analysis.md -----------------------------------------------------------------

def rt_mann_whitney(trials: pd.DataFrame, rt_trials: pd.DataFrame) -> dict:
    """Mann-Whitney U of correct-trial RTs, left vs right (trials independent; Mann & Whitney 1947)."""
    ok = rt_trials[rt_trials["correct"] == 1]
    left, right = (ok.loc[ok["visible_half"] == side, "rt"] for side in ("left", "right"))
    if len(left) == 0 or len(right) == 0:
        return {"error": "no correct trial on one side"}
    u = stats.mannwhitneyu(left, right)
    return {"U": float(u.statistic), "p": float(u.pvalue), "n": len(left) + len(right),
            "r_rb": 2 * float(u.statistic) / (len(left) * len(right)) - 1}  # rank-biserial r (Kerby 2014)


def read_u(e: dict) -> dict:
    return {"statistic": e["U"], "statistic_label": "U", "p": e["p"], "effect_size": e["r_rb"],
            "effect_size_label": "rank-biserial r", "n": e["n"], "n_label": "trials"}


def test_adding_a_test_is_one_registry_entry(computed, tmp_path, monkeypatch):
    new = registry.Test("rt_left_vs_right_mwu", "RT left vs right, Mann-Whitney U", registry.TRIAL, "rt",
                        registry.LR, read_u, compute=rt_mann_whitney)
    monkeypatch.setattr(registry, "TESTS", [*registry.TESTS, new])
    logs = _logs(tmp_path)
    results, tables = compute_results(logs)
    ok = logs.rt_trials[logs.rt_trials["correct"] == 1]
    expected = stats.mannwhitneyu(ok.loc[ok.visible_half == "left", "rt"], ok.loc[ok.visible_half == "right", "rt"])
    # results.json: its own key, flagged like every test; results.csv: its row.
    assert results["rt_left_vs_right_mwu"]["p"] == pytest.approx(expected.pvalue)
    assert results["rt_left_vs_right_mwu"]["recommended"] is False
    row = tables["results"].set_index("id").loc["rt_left_vs_right_mwu.p"]
    assert row["statistic"] == pytest.approx(expected.statistic) and row["statistic_label"] == "U"
    assert results["table"][-1]["id"] == "rt_left_vs_right_mwu.p"
    # The page's "All tests" table and the calibration's columns.
    page = render_html(results, tables, {}, [])
    assert "RT left vs right, Mann-Whitney U" in page.split("All tests (results.csv)")[1]
    assert ("rt_left_vs_right_mwu.p", registry.TRIAL, "RT left vs right, Mann-Whitney U") in cal.calibrated_tests()
    # The summary and the comparison tables quote their tests by id: the new test needs no edit there.
    assert results["summary"] == computed[1]["summary"]


def test_find_reads_one_row_of_the_table_and_a_missing_one_is_an_error(computed):
    _, results, tables = computed
    rows = tables["results"].set_index("id")
    for id_ in ("mixed_models.accuracy.p", "participant_level.rt.p", "accuracy_left_vs_right.pearson.p"):
        r = registry.find(results, id_)
        assert pd.Series(r).drop("id").reindex(rows.columns).equals(rows.loc[id_].rename(None))
    r = registry.find(results, "mixed_models.rt.p", ("ratio", "no_such_key"))
    assert r["ratio"] == results["mixed_models"]["rt"]["ratio"] and "no_such_key" not in r
    with pytest.raises(registry.MissingTestError, match="no registered test"):
        registry.find(results, "mixed_models.rt.p_value")
    broken = copy.deepcopy(results)
    del broken["participant_level"]["rt"]
    with pytest.raises(registry.MissingTestError, match="participant_level.rt"):
        registry.find(broken, "participant_level.rt.p")
