"""Lab vs online sessions: descriptives and the side effect compared between platforms."""

import numpy as np
import pytest
from scipy import stats

from analysis.platforms import analyse, side_by_platform
from analysis.simulate import simulate_trials


@pytest.fixture(scope="module")
def two_platforms():
    t = simulate_trials(16, effect=0.0, seed=12)
    web = t["participant"].isin([f"P{i:02d}" for i in range(1, 9)])
    t["platform"] = np.where(web, "web", "lab")
    # Online participants rate left half-faces 1 point higher; lab participants show no side effect.
    t.loc[web & (t["visible_half"] == "left"), "intensity"] = np.clip(
        t.loc[web & (t["visible_half"] == "left"), "intensity"] + 1, 1, 5)
    return t


def test_single_platform_is_not_compared():
    t = simulate_trials(4, seed=1).assign(platform="lab")
    assert analyse(t) == {"compared": False, "platforms": ["lab"]}


def test_side_effect_difference_between_platforms_is_detected(two_platforms):
    r = analyse(two_platforms)
    assert r["compared"] and r["platforms"] == ["lab", "web"]
    intensity = r["tests"]["intensity"]
    assert intensity["n_participants"] == {"lab": 8, "web": 8}
    assert intensity["welch"]["p"] < 1e-4 and intensity["welch"]["diff_of_diffs"] < -0.5  # lab − web
    inter = next(a for a in intensity["anova"] if a["effect"] == "side x platform")
    assert inter["p"] < 1e-4 and inter["df1"] == 1 and inter["df2"] == 14
    desc = {d["platform"]: d for d in r["descriptives"]}
    assert desc["web"]["intensity_left"] - desc["web"]["intensity_right"] > 0.5


def test_welch_test_is_on_the_participants_left_minus_right_differences(two_platforms):
    r = side_by_platform(two_platforms, "intensity")
    m = two_platforms.groupby(["platform", "participant", "visible_half"])["intensity"].mean().unstack()
    d = m["left"] - m["right"]
    ref = stats.ttest_ind(d.loc["lab"], d.loc["web"], equal_var=False)
    assert r["welch"]["t"] == pytest.approx(ref.statistic) and r["welch"]["df"] == pytest.approx(ref.df)
    assert r["mean_diff"]["web"] == pytest.approx(d.loc["web"].mean())
