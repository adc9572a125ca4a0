"""``python -m experiment audit`` and the counterbalancing it checks, on 70-photo sets named as labs name them.

The orders are re-tabulated here from the audit's CSVs (not taken from its own
verdict), and the label-independence property is checked on ``trial_order``
itself: renaming and reshuffling the photos must change nothing but labels.
"""

import random
from collections import Counter

import pandas as pd
import pytest

from experiment import design
from experiment.cli import main

from .manifests import NAMINGS, manifest_rows, photo_names, write_manifest

N_PARTICIPANTS = 24


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    root = tmp_path_factory.mktemp("manifests")
    return {(naming, crossed): write_manifest(root / f"{naming}_{crossed}", photo_names(naming), crossed)
            for naming in NAMINGS for crossed in (False, True)}


@pytest.mark.parametrize("design_name", ["paper", "crossed"])
@pytest.mark.parametrize("naming", NAMINGS)
def test_audit_of_24_participants_finds_every_block_balanced_and_runs_bounded(manifests, tmp_path, capsys, naming,
                                                                             design_name):
    manifest = manifests[(naming, design_name == "crossed")]
    out = tmp_path / "audit"
    code = main(["audit", "--conditions", str(manifest), "--participants", str(N_PARTICIPANTS),
                 "--design", design_name, "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "BROKEN" not in text and len(text.splitlines()) <= 25  # one screen
    k = 4 if design_name == "crossed" else 2

    cells = pd.read_csv(out / "block_versions.csv")
    assert cells["participant_number"].nunique() == N_PARTICIPANTS
    assert cells.groupby(["participant_number", "presentation", "block"]).size().eq(k).all()  # zeros are listed
    spread = cells.groupby(["participant_number", "presentation", "block"])["n"].agg(lambda n: n.max() - n.min())
    assert spread.max() <= 1
    assert cells.groupby(["participant_number", "version"])["n"].sum().eq(70).all()  # every version of every photo

    runs = pd.read_csv(out / "runs.csv")
    assert runs["visible_half"].max() <= design.MAX_RUN and runs["version"].max() <= design.MAX_RUN
    if design_name == "crossed":
        assert runs["visible_image_side"].max() <= design.MAX_RUN

    firsts = pd.read_csv(out / "first_trials.csv")
    for _, group in firsts.groupby("latin_square_group"):  # 4 participants complete the 4-block square
        counts = Counter(group["version"])
        assert len(group) == 4 and len(counts) == k and max(counts.values()) - min(counts.values()) == 0

    photo_first = pd.read_csv(out / "photo_first.csv")
    assert len(photo_first) == 70 * k and set(photo_first["n_first"]) == {N_PARTICIPANTS // k}

    positions = pd.read_csv(out / "serial_positions.csv")
    by_version = positions[positions["unit"] == "version"]["mean_trial"]
    assert by_version.max() - by_version.min() < 2  # out of 140 / 280 trials
    carry = pd.read_csv(out / "carryover.csv")
    assert carry["n"].sum() == N_PARTICIPANTS * (70 * k - 1)
    assert (out / "summary.txt").read_text() in text


def _relabel(rows, seed):
    """Rename every photo at random and shuffle the manifest's rows."""
    rng = random.Random(seed)
    ids = sorted({r["photo_id"] for r in rows})
    new = dict(zip(ids, [f"{rng.getrandbits(40):010x}" for _ in ids]))
    out = [dict(r, photo_id=new[r["photo_id"]], stimulus=f"x/{new[r['photo_id']]}_{r['stimulus'][-14:]}")
           for r in rows]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("design_name", ["paper", "crossed"])
@pytest.mark.parametrize("naming", NAMINGS)
def test_renaming_or_shuffling_the_photos_changes_nothing_but_labels(naming, design_name):
    rows = manifest_rows(photo_names(naming), crossed=design_name == "crossed")
    shape = lambda trials: [(t["emotion"], t["visible_half"], t["visible_image_side"], t["block"],
                             t["presentation"]) for t in trials]
    # the original set's orders do not depend on the seed: made once, compared with each relabelling
    originals = {p: design.trial_order(rows, p, design=design_name) for p in (1, 2, 3, 4, 7, 13)}
    for seed in range(3):
        relabelled = _relabel(rows, seed)
        mapping = {}
        for participant, (before, info_before) in originals.items():
            after, info_after = design.trial_order(relabelled, participant, design=design_name)
            assert shape(after) == shape(before)
            for a, b in zip(before, after):  # one fixed photo-to-photo correspondence for all participants
                assert mapping.setdefault(a["photo_id"], b["photo_id"]) == b["photo_id"]
            assert info_after["block_order"] == info_before["block_order"]
            assert [len(m) for m in info_after["blocks"].values()] == [len(m) for m in info_before["blocks"].values()]
        assert len(set(mapping.values())) == len(mapping) == 70


def test_the_first_trial_alternates_halves_between_consecutive_participants():
    rows = manifest_rows(photo_names("cycling"))
    halves = [design.trial_order(rows, p)[0][0]["visible_half"] for p in range(1, 9)]
    assert halves == ["right", "left"] * 4


def test_a_broken_bound_is_reported_with_exit_1(manifests, tmp_path, capsys, monkeypatch):
    real = design.trial_order

    def one_sided(*args, **kwargs):  # an order that shows all left halves first: what the audit must catch
        trials, info = real(*args, **kwargs)
        trials = sorted(trials, key=lambda t: t["visible_half"])
        for k, t in enumerate(trials, start=1):
            t["trial"] = k
        return trials, info

    monkeypatch.setattr(design, "trial_order", one_sided)
    code = main(["audit", "--conditions", str(manifests[("cycling", False)]), "--participants", "4"])
    captured = capsys.readouterr()
    assert code == 1
    assert "BROKEN a photo's version-first counts differ by at most 1: worst 4" in captured.out
    assert "BROKEN longest run of one visible_half 4: worst 70" in captured.out
    assert "bound(s) broken" in captured.err


def test_a_bad_out_folder_is_one_line_with_exit_2(manifests, tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    code = main(["audit", "--conditions", str(manifests[("cycling", False)]), "--participants", "2",
                 "--out", str(not_a_folder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "file.txt" in err


def test_an_out_folder_under_a_file_is_one_line_with_exit_2(manifests, tmp_path, capsys):
    # mkdir would raise NotADirectoryError (a traceback) for a path below a regular file
    (tmp_path / "file.txt").write_text("x")
    code = main(["audit", "--conditions", str(manifests[("cycling", False)]), "--participants", "2",
                 "--out", str(tmp_path / "file.txt" / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and "file.txt" in err
    assert "Traceback" not in err


def test_a_set_too_small_for_the_first_trial_balance_says_so_instead_of_failing(tmp_path, capsys):
    # 5 photos in 4 blocks: three blocks hold one photo, which cannot offer every version first
    manifest = write_manifest(tmp_path / "small", photo_names("cycling", n_photos=5))
    code = main(["audit", "--conditions", str(manifest), "--participants", "8"])
    out = capsys.readouterr().out
    assert code == 0
    assert "n/a    first-trial versions" in out and "not guaranteed: a block has fewer photos than versions" in out
    assert "ok     longest run of one visible_half 4" in out
