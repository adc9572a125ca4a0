"""halfface.schema is the one definition of what passes between the packages; the packages use it, not copies."""
from datetime import datetime

import pytest

from halfface import schema


@pytest.mark.parametrize("text, expected", [
    ("1", True), ("true", True), ("True", True), (" YES ", True), ("y", True), (1, True), (True, True),
    ("0", False), ("false", False), ("No", False), ("n", False), (0, False), (False, False),
])
def test_parse_bool_reads_the_yes_no_spellings_of_a_csv_cell(text, expected):
    assert schema.parse_bool(text) is expected


def test_parse_bool_gives_the_default_for_an_empty_cell_and_refuses_a_guess():
    assert schema.parse_bool("") is False and schema.parse_bool(None) is False
    assert schema.parse_bool(" ", default=True) is True
    for bad in ("2", "maybe", "-1", 2):
        with pytest.raises(ValueError, match="use 1 or 0"):
            schema.parse_bool(bad)


def test_every_package_reads_mirror_copy_the_same_way(tmp_path):
    from experiment.conditions import is_mirror_copy

    for text in ("1", "true", "yes", "0", "", "no", "False"):
        assert is_mirror_copy({"mirror_copy": text}) is schema.parse_bool(text)


def test_a_manifest_with_an_unreadable_mirror_copy_is_refused_by_experiment_and_recognition(tmp_path):
    from experiment.conditions import ConditionsError, load_conditions
    from recognition.data import DataError, load_stimuli
    from tests.experiment.stimuli_fixture import make_stimuli

    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    lines = manifest.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("mirror_copy")] = "2"
    cells[header.index("midline_x")] = cells[header.index("midline_x")] or "60"
    manifest.write_text("\n".join([lines[0], ",".join(cells)] + lines[2:]) + "\n")
    with pytest.raises(ConditionsError, match="line 2: mirror_copy '2' is not a yes/no value"):
        load_conditions(manifest)
    with pytest.raises(DataError, match="row 2: mirrored/mirror_copy: '2' is not a yes/no value"):
        load_stimuli(manifest)


def test_the_packages_names_are_the_schemas_values():
    from analysis import load, simulate
    from experiment import keys, logfile
    from recognition import data
    from stimuli import labels, manifest

    assert labels.SIDES is schema.SIDES and not hasattr(labels, "EMOTIONS")  # no alias: imported from the schema
    assert not hasattr(manifest, "MANIFEST_COLUMNS") and len(schema.MANIFEST_COLUMNS) == 13
    assert logfile.LAB_COLUMNS is schema.LAB_COLUMNS and not hasattr(logfile, "LOG_COLUMNS")
    assert load.REQUIRED_COLUMNS is schema.REQUIRED_LOG_COLUMNS
    assert set(schema.REQUIRED_LOG_COLUMNS) <= set(schema.LOG_COLUMNS)
    assert not hasattr(simulate, "LOG_COLUMNS")
    assert schema.LOG_COLUMNS[:len(schema.TRIAL_COLUMNS)] == schema.TRIAL_COLUMNS
    assert keys.EMOTION_KEYS is schema.EMOTION_KEYS and keys.EMOTION_KEYS["1"] == "happiness"
    assert tuple(data.STIMULUS_EMOTIONS) == schema.EMOTIONS


def test_test_fixtures_write_the_real_manifest_columns(tmp_path):
    from tests.experiment.stimuli_fixture import make_stimuli
    from tests.recognition.stimuli_fixture import COLUMNS
    from tests.web.stimuli_files import make_manifest

    for path in (make_stimuli(tmp_path / "a", n_photos=2), make_manifest(tmp_path / "b", n_photos=2)):
        assert tuple(path.read_text().splitlines()[0].split(",")) == schema.MANIFEST_COLUMNS
    assert tuple(COLUMNS) == schema.MANIFEST_COLUMNS


def test_session_names_in_psychopys_form_and_the_earlier_one_are_recognised():
    moment = datetime(2026, 12, 4, 23, 53, 29, 396123)
    stem = schema.session_stem("P11", "halfface", moment)
    assert stem == "P11_halfface_2026-12-04_23h53.29.396"
    for name in (stem, "P11_halfface_" + moment.strftime(schema.OLD_SESSION_DATE_FORMAT)):
        m = schema.SESSION_NAME.match(name)
        assert m and m["head"] == "P11_halfface" and m["date"] == "2026-12-04"
    assert schema.OLD_SESSION_NAME.match("P11_s2")["session"] == "2"


def test_stimulus_names_give_back_their_photo_and_half():
    for photo, half, copy in (("hap03", "left", False), ("P_07_x", "right", True)):
        name = schema.stimulus_name(photo, half, mirror_copy=copy)
        assert name.endswith("_mirror.png") is copy
        m = schema.STIMULUS_STEM.match(name.removesuffix(".png"))
        assert (m["photo"], m["half"]) == (photo, half)
    with pytest.raises(ValueError):
        schema.stimulus_name("hap03", "middle")
