"""The tests the report recommends keep their type-I error near α on null studies with random slopes.

A reduced run of analysis.calibration (benchmarks/calibration.py; the full run, 500 studies,
is in benchmarks/RESULTS.md). With 30 studies a calibrated test rejects 0-4 times;
the models the report used before (no random slopes) rejected 12-33 %.
"""

import numpy as np
import pytest

from analysis import calibration as cal
from analysis.simulate import simulate_trials


@pytest.mark.slow
def test_recommended_tests_are_not_anti_conservative_on_null_studies():
    # ~35 s on two cores, the slowest test here: 30 studies of the paper's design, each fitting five mixed
    # models, are what keeps the bound able to catch the old models' 12-33 %. The glmer sensitivity refits
    # (no recommended test reads them; 60 % of a study's time) are left out.
    pvalues = cal.run("null", 30, cal.NULL, out=None, jobs=2, first_seed=7_000, glmer_sensitivity=False)
    table = cal.rejection_table(pvalues)
    rec = table[table["recommended"]]
    assert len(rec) == 8 and (rec["n"] == 30).all()
    too_high = rec[rec["rate"] > 0.15]
    assert too_high.empty, too_high[["test", "rate"]].to_string()
    # The paper's trial-level tests are in the table too (the report cites their inflation).
    assert {"trial-level", "participant-level", "mixed model"} <= set(table["level"])


def test_paper_targets_follow_from_the_papers_statistics():
    t = cal.paper_targets()
    # χ² = 10.552 on 2520 trials ≈ 6 accuracy points; t = 6.773 ≈ 0.28 rating points.
    assert t["accuracy_all"] == pytest.approx(0.063, abs=0.002)
    assert t["accuracy_positive"] == pytest.approx(0.116, abs=0.002)
    assert t["intensity"] == pytest.approx(0.283, abs=0.002)
    assert -0.02 < t["log_rt"] < 0 and t["log_rt_valence"] == pytest.approx(-0.409, abs=0.002)


@pytest.mark.slow
def test_power_studies_reproduce_the_papers_differences():
    # Averaged over studies: each draws its own 70 photos, whose side slopes move the difference.
    target = cal.paper_targets()

    def diff(d, column):
        return d.loc[d.visible_half == "left", column].mean() - d.loc[d.visible_half == "right", column].mean()
    studies = [simulate_trials(60, effect=0.0, seed=900 + k, effects=cal.PAPER_EFFECTS) for k in range(6)]
    assert np.mean([diff(t, "correct") for t in studies]) == pytest.approx(target["accuracy_all"], abs=0.015)
    assert np.mean([diff(t[t.emotion == "happiness"], "correct") for t in studies]) == pytest.approx(
        target["accuracy_positive"], abs=0.03)
    assert np.mean([diff(t, "intensity") for t in studies]) == pytest.approx(target["intensity"], abs=0.03)
