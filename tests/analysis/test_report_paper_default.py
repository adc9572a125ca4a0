"""The default report reproduces the paper's statistics (issue 17, item 1).

Logs built from the paper's numbers (``analysis.paper.paper_matching_cells``:
2,520 trials, 16 RTs outside the 0.2–10 s window) go through the CLI with no
options. The paper's tests use every trial, as the paper did, so its Welch t
values and χ² rows come back; the recommended RT analyses still use the window.
"""

import io
import json
from contextlib import redirect_stdout

import pytest

from analysis.paper import paper_matching_cells
from analysis.report import main

from .conftest import cells_to_logs


@pytest.fixture(scope="module")
def paper_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    cells_to_logs(paper_matching_cells(), root / "logs", meta={"simulated": False})
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main([str(root / "logs"), "--out", str(root / "out")])
    return code, buf.getvalue(), json.loads((root / "out" / "results.json").read_text()), root


@pytest.mark.slow
def test_default_report_prints_the_papers_t_and_chi2_values(paper_report):
    code, out, res, _ = paper_report
    assert code == 0
    w = res["rt_left_vs_right"]["welch"]
    assert (round(w["t"], 3), round(w["df"], 3), round(w["p"], 3)) == (-0.619, 902.606, 0.536)
    w = res["intensity_left_vs_right"]["welch"]
    assert (round(w["t"], 3), round(w["df"], 2)) == (6.773, 2517.15)
    assert round(res["accuracy_negative_left_vs_right"]["pearson"]["chi2"], 3) == 3.318
    # The balanced design's closest tables (analysis.paper.findings): 10.55 to 2 decimals, 13.423 vs 13.425.
    assert round(res["accuracy_left_vs_right"]["pearson"]["chi2"], 2) == 10.55
    assert round(res["accuracy_positive_left_vs_right"]["pearson"]["chi2"], 3) == 13.423
    assert "RT, Welch t(902.61) = −0.62, p = .536" in out and "intensity, Welch t(2517.15) = 6.77" in out
    assert "χ²(1, N = 2520) = 10.55" in out
    assert all(res[k]["rule"].startswith("all answered trials, as in the paper") for k in
               ("rt_left_vs_right", "intensity_left_vs_right", "accuracy_left_vs_right"))


@pytest.mark.slow
def test_recommended_rt_analyses_still_use_the_rt_window_and_both_counts_are_shown(paper_report):
    _, out, res, root = paper_report
    meta = res["meta"]
    assert meta["n_trials"] == 2520 and res["intensity_left_vs_right"]["groups"]["left"]["n"] == 1260
    assert meta["n_correct_trials"] - meta["n_correct_trials_rt"] == 10  # 10 correct trials outside 0.2-10 s
    assert res["exclusions"]["rt_trimming"]["n_below_min"] + res["exclusions"]["rt_trimming"]["n_above_max"] == 16
    assert res["mixed_models"]["rt"]["n_obs"] == meta["n_correct_trials_rt"]
    assert f"the RT analyses use the {meta['n_correct_trials_rt']} correct trials" in out
    html = (root / "out" / "report.html").read_text()
    assert "every answered trial, the paper's rule" in html


@pytest.mark.slow
def test_every_test_entry_says_whether_it_is_recommended(paper_report):
    _, _, res, _ = paper_report
    assert res["recommended"] and all(isinstance(p, str) for p in res["recommended"])
    for k in ("rt_left_vs_right", "accuracy_left_vs_right", "rt_positive_vs_negative"):
        assert res[k]["recommended"] is False
    assert res["participant_level"]["rt"]["recommended"] is True
    assert res["participant_level"]["rt_positive_vs_negative"]["recommended"] is False
    for k, m in res["mixed_models"].items():
        assert m["recommended"] is True and f"mixed_models.{k}" in res["recommended"]
        if isinstance(m.get("glmer_sensitivity"), dict):
            assert m["glmer_sensitivity"]["recommended"] is False
    assert res["accuracy_side_by_valence"]["trial_level"]["recommended"] is False
