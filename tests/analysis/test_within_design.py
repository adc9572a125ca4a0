"""Poser's half vs image side: the 2×2 analysis appears only when the design crosses them."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.simulate import simulate_trials
from analysis.within_design import analyse, design_of, half_by_image_side


def crossed(trials, image_side_effect=0.0, seed=0):
    """The crossed design: every half of every photo also shown on the other image side (a mirrored copy)."""
    rng = np.random.default_rng(seed)
    mirrored = trials.assign(visible_image_side=np.where(trials["visible_image_side"] == "left", "right", "left"),
                             rt=trials["rt"] * np.exp(rng.normal(0, 0.3, len(trials))))
    out = pd.concat([trials, mirrored], ignore_index=True)
    out["trial"] = out.groupby("participant").cumcount() + 1
    bump = np.where(out["visible_image_side"] == "left", image_side_effect, 0.0)
    out["intensity"] = np.clip(out["intensity"] + np.round(bump + rng.normal(0, 0.01, len(out))), 1, 5).astype(int)
    return out


@pytest.fixture(scope="module")
def paper_design():
    return simulate_trials(12, effect=0.0, seed=8)


def test_paper_design_is_reported_as_confounded_without_tests(paper_design):
    r = analyse(paper_design)
    assert r["design"] == "confounded" and "tests" not in r
    assert "cannot be told apart" in r["note"]
    r = analyse(paper_design.drop(columns=["visible_image_side"]))
    assert r["design"] == "unknown" and "no visible_image_side column" in r["note"]


def test_mirrored_photos_in_the_paper_design_are_still_confounded(paper_design):
    # Some photos mirrored: their halves lie on the other image side, but each half of a photo on one side only.
    mirrored = paper_design["photo_id"].str.endswith(("01", "02", "03"))
    data = paper_design.assign(visible_image_side=np.where(mirrored, paper_design["visible_half"],
                                                           paper_design["visible_image_side"]))
    assert data.groupby(["visible_half", "visible_image_side"]).size().shape[0] == 4  # all four cells occur
    assert design_of(data)["design"] == "confounded"


def test_crossed_design_separates_image_side_from_poser_half(paper_design):
    data = crossed(paper_design, image_side_effect=1.0)
    r = analyse(data)
    assert r["design"] == "crossed" and r["n_crossed"] == 12
    eff = {e["effect"]: e for e in r["tests"]["intensity"]["effects"]}
    assert eff["image side"]["p"] < 1e-6 and eff["image side"]["F"] > 10 * eff["poser's half"]["F"]
    assert eff["image side"]["df1"] == 1 and eff["image side"]["df2"] == 11
    assert set(r["tests"]) == {"rt", "intensity", "accuracy"}


def test_main_effect_F_is_the_squared_paired_t_of_participant_means(paper_design):
    data = crossed(paper_design, image_side_effect=0.5)
    r = half_by_image_side(data, "intensity")
    m = data.groupby(["participant", "visible_image_side"])["intensity"].mean().unstack()
    t = stats.ttest_rel(m["left"], m["right"]).statistic
    eff = {e["effect"]: e for e in r["effects"]}
    assert eff["image side"]["F"] == pytest.approx(t ** 2, rel=1e-9)


def test_participants_missing_a_cell_are_left_out_of_the_anova(paper_design):
    data = crossed(paper_design)
    data = data[~((data["participant"] == "P03") & (data["visible_image_side"] == data["visible_half"]))]
    assert design_of(data)["n_crossed"] == 11
    assert half_by_image_side(data, "rt")["n_participants"] == 11
    assert analyse(data)["tests"]["intensity"]["n_participants"] == 11
