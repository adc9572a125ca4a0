"""Counterbalancing: pure functions of the participant number, no window."""

from collections import Counter

import pytest

from experiment.design import (balanced_latin_square, has_consecutive_repeat, practice_trials, separate_repeats,
                               seed_for, trial_order)
from halfface.schema import EMOTIONS


def manifest_rows(n_photos, halves=("left", "right")):
    return [{"stimulus": f"p{i:02d}_{h}.png", "source": f"p{i:02d}.jpg", "photo_id": f"p{i:02d}",
             "emotion": EMOTIONS[i % len(EMOTIONS)], "visible_half": h,
             "visible_image_side": "right" if h == "left" else "left", "mirrored": "0"}
            for i in range(n_photos) for h in halves]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_latin_square_is_balanced_for_position_and_first_order_carryover(n):
    square = balanced_latin_square(n)
    assert len(square) == (n if n % 2 == 0 else 2 * n)
    for row in square:
        assert sorted(row) == list(range(n))
    positions = Counter((pos, c) for row in square for pos, c in enumerate(row))
    assert set(positions.values()) == {len(square) // n}
    if n > 1:
        pairs = Counter((a, b) for row in square for a, b in zip(row, row[1:]))
        assert len(pairs) == n * (n - 1)
        assert set(pairs.values()) == {len(square) // n}


@pytest.mark.parametrize("n_photos", [2, 3, 5, 8, 35, 70])
@pytest.mark.parametrize("participant", [0, 1, 2, 7, 12, 13])
def test_every_stimulus_once_and_no_photo_twice_in_a_row(n_photos, participant):
    rows = manifest_rows(n_photos)
    trials, info = trial_order(rows, participant)
    assert sorted(t["stimulus"] for t in trials) == sorted(r["stimulus"] for r in rows)
    assert [t["trial"] for t in trials] == list(range(1, 2 * n_photos + 1))
    assert not has_consecutive_repeat(trials)
    assert info["n_trials"] == 2 * n_photos


def test_paper_design_has_140_trials_and_halves_in_separate_passes():
    trials, info = trial_order(manifest_rows(70), participant_number=5)
    assert len(trials) == 140
    assert [t["presentation"] for t in trials] == [1] * 70 + [2] * 70
    first_pass = {t["photo_id"]: t["visible_half"] for t in trials[:70]}
    second_pass = {t["photo_id"]: t["visible_half"] for t in trials[70:]}
    assert all(first_pass[p] != second_pass[p] for p in first_pass)


def test_order_is_deterministic_and_differs_between_participants_and_sessions():
    rows = manifest_rows(10)
    a1, info1 = trial_order(rows, 4)
    a2, info2 = trial_order(list(reversed(rows)), 4)  # row order in the manifest must not matter
    assert [t["stimulus"] for t in a1] == [t["stimulus"] for t in a2]
    assert info1 == info2
    assert [t["stimulus"] for t in trial_order(rows, 5)[0]] != [t["stimulus"] for t in a1]
    assert [t["stimulus"] for t in trial_order(rows, 4, session=2)[0]] != [t["stimulus"] for t in a1]
    assert info1["seed"] == seed_for(4, 1) == 4001


def test_first_half_alternates_by_parity_and_is_balanced_within_participant():
    rows = manifest_rows(10)
    firsts = {}
    for p in range(4):
        trials, _ = trial_order(rows, p)
        first = {}
        for t in trials:
            first.setdefault(t["photo_id"], t["visible_half"])
        firsts[p] = first
        assert Counter(first.values()) == {"left": 5, "right": 5}
    for photo in firsts[0]:
        assert firsts[0][photo] != firsts[1][photo]
        assert firsts[0][photo] == firsts[2][photo]


def test_block_positions_balance_over_a_cycle_of_participants():
    rows = manifest_rows(12)
    n_blocks = 4
    counts = Counter()
    for p in range(1, 1 + n_blocks):  # any n_blocks consecutive participant numbers
        _, info = trial_order(rows, p, n_blocks=n_blocks)
        counts.update((pos, block) for pos, block in enumerate(info["block_order"]))
    assert len(counts) == n_blocks * n_blocks
    assert set(counts.values()) == {1}


def test_blocks_mix_emotions():
    _, info = trial_order(manifest_rows(14), 0, n_blocks=2)
    emotions_per_block = [{EMOTIONS[int(pid[1:]) % 7] for pid in members} for members in info["blocks"].values()]
    assert all(len(e) == 7 for e in emotions_per_block)


def test_single_block_still_avoids_repeats_at_the_pass_boundary():
    rows = manifest_rows(2)
    for p in range(10):
        trials, _ = trial_order(rows, p, n_blocks=1)
        assert not has_consecutive_repeat(trials)
        assert len(trials) == 4


def test_impossible_manifest_is_refused_not_silently_repeated():
    # 'dominant' has 3 versions, the other photo 1: D x D _ D would need a second other photo
    with pytest.raises(ValueError, match="dominant"):
        separate_repeats([{"photo_id": "dominant", "presentation": 1, "block": 1}] * 3
                         + [{"photo_id": "x", "presentation": 1, "block": 1}])


def test_fewer_than_two_photos_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        trial_order(manifest_rows(1), 1)


def test_practice_trials_do_not_change_main_order_and_have_no_repeats():
    rows = manifest_rows(3)
    practice = practice_trials(rows, 8, 3)
    assert len(practice) == 8 and not has_consecutive_repeat(practice)
    assert practice == practice_trials(rows, 8, 3)
    assert all(str(t["trial"]).startswith("practice") for t in practice)


def crossed_rows(n_photos):
    """Each half as photographed plus its mirror copy on the other image side (stimuli build --with-mirrored)."""
    rows = []
    for row in manifest_rows(n_photos):
        rows.append(dict(row, mirror_copy="0"))
        rows.append(dict(row, stimulus=row["stimulus"].replace(".png", "_mirror.png"),
                         visible_image_side=row["visible_half"], mirrored="1", mirror_copy="1"))
    return rows


@pytest.mark.parametrize("participant", [0, 1, 2, 3, 9, 14])
def test_crossed_design_shows_each_photos_halves_on_each_side_once(participant):
    rows = crossed_rows(8)
    trials, info = trial_order(rows, participant, design="crossed")
    assert info["design"] == "crossed" and info["versions_per_photo"] == 4 and len(trials) == 32
    cells = Counter((t["photo_id"], t["visible_half"], t["visible_image_side"]) for t in trials)
    assert len(cells) == 8 * 4 and set(cells.values()) == {1}
    assert not has_consecutive_repeat(trials)
    # within each pass, poser's half and image side are balanced across photos
    for presentation in range(1, 5):
        in_pass = Counter((t["visible_half"], t["visible_image_side"]) for t in trials
                          if t["presentation"] == presentation)
        assert set(in_pass.values()) == {2} and len(in_pass) == 4


def test_crossed_design_counterbalances_which_version_comes_in_which_pass():
    rows = crossed_rows(8)
    seen = Counter()
    for participant in range(4, 8):  # any 4 consecutive participant numbers
        trials, _ = trial_order(rows, participant, design="crossed")
        seen.update((t["photo_id"], t["visible_half"], t["visible_image_side"], t["presentation"]) for t in trials)
    assert set(seen.values()) == {1} and len(seen) == 8 * 4 * 4  # each version of each photo in each pass once


def test_paper_design_ignores_mirror_copies_and_keeps_its_order():
    paper, _ = trial_order(manifest_rows(10), 7)
    with_copies, info = trial_order(crossed_rows(10), 7)
    assert [t["stimulus"] for t in with_copies] == [t["stimulus"] for t in paper]
    assert info["design"] == "paper" and all(t["visible_image_side"] != t["visible_half"] for t in with_copies)


@pytest.mark.parametrize("design", ["paper", "crossed"])
def test_two_practice_photos_never_repeat_back_to_back_for_any_participant(design):
    # The demo ships two practice photos; drawing rows at random used to leave e.g. two versions
    # of one photo and nothing else, which could not be ordered ("twice in a row") for some numbers.
    rows = crossed_rows(2) if design == "crossed" else manifest_rows(2)
    n_versions = 4 if design == "crossed" else 2
    for participant in range(1, 41):
        for n in (2, 3, 4, 2 * n_versions, 2 * n_versions + 3):
            practice = practice_trials(rows, n, participant, design=design)
            assert len(practice) == n and not has_consecutive_repeat(practice), (participant, n)
        # Each photo's versions are all used before any of them is shown again.
        full = practice_trials(rows, 2 * n_versions, participant, design=design)
        assert len({t["stimulus"] for t in full}) == 2 * n_versions


def test_one_practice_photo_cannot_fill_two_trials():
    with pytest.raises(ValueError, match="at least 2 practice photos"):
        practice_trials(manifest_rows(1), 2, 1)
