"""LABELS.csv validation: every error names the row (line) and the value."""

from __future__ import annotations

import pytest

from stimuli.errors import StimulusError
from stimuli.label_file import parse_label_rows, read_label_file


def _write(tmp_path, text, photos=("a.jpg", "b.jpg", "c.png")):
    for p in photos:
        (tmp_path / p).write_bytes(b"")
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_valid_file_is_normalised(tmp_path):
    path = _write(tmp_path, "file,emotion,gender,identity,mirrored\na.jpg, Happiness ,F,p1,\nb.jpg,others,,,1\n")
    labels = read_label_file(path, tmp_path)
    assert [l.emotion for l in labels] == ["happiness", "others"]
    assert [l.gender for l in labels] == ["female", "unknown"]
    assert [l.identity for l in labels] == ["p1", "unknown"]
    assert [l.mirrored for l in labels] == [False, True]
    assert [l.line for l in labels] == [2, 3]
    assert [l.photo_id for l in labels] == ["a", "b"]


def test_mirrored_default_applies_only_where_column_is_blank(tmp_path):
    path = _write(tmp_path, "file,emotion,mirrored\na.jpg,fear,\nb.jpg,fear,0\n")
    labels = read_label_file(path, tmp_path, mirrored_default=True)
    assert [l.mirrored for l in labels] == [True, False]


def test_optional_columns_may_be_absent(tmp_path):
    labels = read_label_file(_write(tmp_path, "file,emotion\nc.png,anger\n"), tmp_path)
    assert (labels[0].gender, labels[0].identity, labels[0].mirrored) == ("unknown", "unknown", False)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("file,emotion\na.jpg,happiness\nb.jpg,happy\n", ["line 3", "'happy'", "happiness, fear"]),
        ("file,emotion\na.jpg,fear\nmissing.jpg,fear\n", ["line 3", "'missing.jpg'", "not found"]),
        ("file,emotion\na.jpg,fear\nb.jpg,anger\na.jpg,fear\n", ["line 4", "duplicate", "'a.jpg'", "line 2"]),
        ("file,emotion\na.jpg,fear\nA.JPG,fear\n", ["line 3", "duplicate"]),
        ("file,emotion,gender\na.jpg,fear,woman\n", ["line 2", "'woman'", "female, male, unknown"]),
        ("file,emotion,mirrored\na.jpg,fear,maybe\n", ["line 2", "'maybe'", "0 or 1"]),
        ("file,emotion\na.jpg,fear\n,anger\n", ["line 3", "empty 'file'"]),
        ("photo,emotion\na.jpg,fear\n", ["missing column", "file"]),
        ("file,label\na.jpg,fear\n", ["missing column", "emotion"]),
        ("file,emotion\n", ["no photos listed"]),
        ("", ["missing column"]),
    ],
)
def test_malformed_label_file_error_names_row_and_value(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(StimulusError) as err:
        read_label_file(path, tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def test_missing_label_file_is_a_clear_error(tmp_path):
    with pytest.raises(StimulusError, match="label file not found"):
        read_label_file(tmp_path / "nope.csv", tmp_path)


def test_same_stem_gets_distinct_photo_ids():
    rows = [{"file": "x/a.jpg", "emotion": "fear"}, {"file": "x/a.png", "emotion": "fear"}, {"file": "x a.jpg", "emotion": "fear"}]
    labels = parse_label_rows(rows, ["file", "emotion"])
    ids = [l.photo_id for l in labels]
    assert ids == ["x_a", "x_a_2", "x_a_3"]
