"""The conditions check: every photo complete for the design, one emotion per photo, practice apart from test."""

import csv

import pytest

from experiment.conditions import ConditionsError, check_practice_separate, load_conditions

from .stimuli_fixture import make_stimuli


def _edit(manifest, edit):
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    rows = edit(rows)
    with manifest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return manifest


def _problems(manifest, design="paper"):
    with pytest.raises(ConditionsError) as err:
        load_conditions(manifest, design, warn=None)
    return err.value.problems


def test_a_photo_with_only_one_half_is_refused_naming_its_line(tmp_path):
    manifest = _edit(make_stimuli(tmp_path, n_photos=4), lambda rows: rows[:-1])  # photo03 keeps only its left
    [problem] = _problems(manifest)
    assert "photo 'photo03' (line(s) 8) has no row with visible_half=right" in problem


def test_two_rows_of_the_same_half_are_refused_naming_both_lines(tmp_path):
    def both_left(rows):
        rows[3].update(visible_half="left", visible_image_side="right")  # photo01's right half relabelled left
        return rows

    problems = _problems(_edit(make_stimuli(tmp_path, n_photos=4), both_left))
    assert any("photo 'photo01' has 2 rows with visible_half=left (lines 4, 5)" in p for p in problems)
    assert any("photo 'photo01'" in p and "no row with visible_half=right" in p for p in problems)


def test_halves_with_different_emotions_are_refused(tmp_path):
    def mixed(rows):
        rows[1]["emotion"] = "anger"
        return rows

    [problem] = _problems(_edit(make_stimuli(tmp_path, n_photos=4), mixed))
    assert "photo 'photo00' has different emotions" in problem and "line 2: happiness" in problem
    assert "line 3: anger" in problem


def test_image_side_must_follow_from_half_and_mirroring(tmp_path):
    def wrong_side(rows):
        rows[0]["visible_image_side"] = "left"  # left half of a non-mirrored photo is on the image's right
        return rows

    problems = _problems(_edit(make_stimuli(tmp_path, n_photos=4), wrong_side))
    assert any("line 2: visible_half left with mirrored=0 is on the image's right" in p for p in problems)


def test_crossed_design_needs_each_half_on_both_image_sides(tmp_path):
    plain = make_stimuli(tmp_path / "plain", n_photos=4)
    problems = _problems(plain, "crossed")
    assert len(problems) == 8  # 4 photos x 2 halves, each missing on one side
    assert "--with-mirrored" in problems[0] and "on image side" in problems[0]
    crossed = make_stimuli(tmp_path / "crossed", n_photos=4, with_mirrored=True)
    assert len(load_conditions(crossed, "crossed", warn=None)) == 16
    assert len(load_conditions(crossed, "paper", warn=None)) == 16  # the paper design just leaves the copies out


def test_fewer_than_two_photos_of_an_emotion_is_a_warning_not_an_error(tmp_path):
    warnings = []
    rows = load_conditions(make_stimuli(tmp_path, n_photos=3), warn=warnings.append)
    assert len(rows) == 6
    assert warnings == [f"{tmp_path / 'manifest.csv'}: emotion 'fear' has only one photo ('photo02', line 6): its "
                        "results rest on a single face; use at least 2 photos per emotion (the paper used 10)"]


def test_practice_stimuli_that_are_test_photos_are_refused(tmp_path):
    test_manifest = make_stimuli(tmp_path / "test", n_photos=4)
    test_rows = load_conditions(test_manifest, warn=None)
    separate = make_stimuli(tmp_path / "practice", n_photos=2, prefix="practice", shade=105)
    practice_rows = load_conditions(separate, warn=None)
    check_practice_separate(practice_rows, test_rows, separate, test_manifest)  # distinct: accepted

    reused = make_stimuli(tmp_path / "reused", n_photos=2)  # same photo ids as the test set
    with pytest.raises(ConditionsError) as err:
        check_practice_separate(load_conditions(reused, warn=None), test_rows, reused, test_manifest)
    assert "line 2: practice stimulus 'images/photo00_left.png' has photo_id 'photo00'" in str(err.value)

    # renamed files of a test photo are still the test photo
    def renamed(rows):
        for r in rows:
            r["photo_id"] = "x" + r["photo_id"]
            r["source"] = "x" + r["source"]
        return rows

    disguised = _edit(make_stimuli(tmp_path / "disguised", n_photos=2), renamed)
    with pytest.raises(ConditionsError, match="has the same image as 'images/photo00_left.png'"):
        check_practice_separate(load_conditions(disguised, warn=None), test_rows, disguised, test_manifest)
