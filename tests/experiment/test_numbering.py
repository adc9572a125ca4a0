"""Participant IDs are kept; the counterbalancing number is explicit or the ID's digits, never shared silently."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from experiment.cli import build_parser
from experiment.ids import counterbalancing_number, number_from_id, session_stem
from experiment.logfile import find_session, free_stem, numbers_in_use, paths_for
from experiment.run import ParticipantError, prepare

from .stimuli_fixture import make_stimuli


def test_number_is_the_ids_last_run_of_digits():
    assert [number_from_id(p) for p in ("P07", "P007", "7", "lab2-012", "S12a", "alice")] == [7, 7, 7, 12, 12, None]
    assert counterbalancing_number("alice", 3) == 3
    assert counterbalancing_number("P07", 40) == 40  # an explicit number wins
    with pytest.raises(ValueError, match="has no digits.*--cb-number"):
        counterbalancing_number("alice")


def test_file_stem_follows_builder_naming_and_keeps_the_id_as_given():
    started = datetime(2026, 11, 28, 14, 3, 46, 396512, tzinfo=timezone(timedelta(hours=8)))
    # PsychoPy's data.getDateStr(): %Y-%m-%d_%Hh%M.%S.%f with 3-digit milliseconds
    assert session_stem("P07", "halfface", started) == "P07_halfface_2026-11-28_14h03.46.396"
    assert session_stem("p007", "faces2", started) == "p007_faces2_2026-11-28_14h03.46.396"
    with pytest.raises(ValueError, match="experiment name"):
        session_stem("P07", "my exp", started)


def test_lab_and_web_name_files_and_time_zones_alike_to_the_millisecond():
    """One definition for both (the web store calls ids.session_stem and logfile.timezone_name): milliseconds
    are cut, not rounded, as PsychoPy's getDateStr does, so 59.9995 s never becomes the next minute."""
    from experiment.logfile import timezone_name

    for microsecond, millis in ((0, "000"), (999, "000"), (1000, "001"), (999999, "999")):
        started = datetime(2026, 12, 31, 23, 59, 59, microsecond, tzinfo=timezone(timedelta(hours=-5)))
        assert session_stem("W1", "halfface", started) == f"W1_halfface_2026-12-31_23h59.59.{millis}"
    assert timezone_name(datetime(2026, 12, 4, 23, 53, tzinfo=timezone(timedelta(hours=8), "CST"))) == \
        "UTC+08:00 (CST)"
    assert timezone_name(datetime(2026, 12, 4, 23, 53, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))) == \
        "UTC-03:30 (UTC-03:30)"


def _sidecar(logs, stem, **fields):
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{stem}.json").write_text(json.dumps(fields))
    (logs / f"{stem}.csv").write_text("participant\n")


def test_sessions_and_numbers_are_found_from_sidecar_contents(tmp_path):
    logs = tmp_path / "logs"
    _sidecar(logs, "P07_halfface_2026-11-28_1403", participant="P07", session=1, expName="halfface",
             participant_number=7)
    _sidecar(logs, "P07_s2", participant="P07", session=2, participant_number=7)  # before expName existed
    _sidecar(logs, "sim", participant="P08", session=1)  # not written by the session: no number recorded
    (logs / "notes.json").write_text('{"who": "not a session"}')
    assert find_session(logs, "P07", 1).csv.name == "P07_halfface_2026-11-28_1403.csv"
    assert find_session(logs, "P07", 2).csv.name == "P07_s2.csv"
    assert find_session(logs, "P07", 3) is None and find_session(logs, "P07", 1, "other") is None
    used = numbers_in_use(logs)
    assert sorted(used) == [7] and {p for p, _ in used[7]} == {"P07"}
    assert free_stem(logs, "P07_halfface_2026-11-28_1403") == "P07_halfface_2026-11-28_1403_2"
    assert free_stem(logs, "P09_halfface_2026-11-28_1403") == "P09_halfface_2026-11-28_1403"
    (logs / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json"):
        numbers_in_use(logs)


def _args(tmp_path, *extra):
    manifest = make_stimuli(tmp_path / "stim", n_photos=4)
    return build_parser().parse_args(["run", "--conditions", str(manifest), "--logs", str(tmp_path / "logs"),
                                      *extra])


def test_an_id_whose_number_another_participant_used_is_refused_naming_them(tmp_path):
    _sidecar(tmp_path / "logs", "P07_halfface_2026-11-28_1403", participant="P07", session=1,
             expName="halfface", participant_number=7)
    with pytest.raises(ParticipantError) as err:
        prepare(_args(tmp_path, "--participant", "P007"))
    assert "number 7" in str(err.value) and "'P07'" in str(err.value) and "--cb-number" in str(err.value)
    # the same participant's next session may reuse it; an explicit --cb-number is the experimenter's decision
    assert prepare(_args(tmp_path, "--participant", "P07", "--session", "2")).number == 7
    plan = prepare(_args(tmp_path, "--participant", "P007", "--cb-number", "7"))
    assert plan.number == 7 and plan.paths.csv.name.startswith("P007_halfface_")


def test_an_online_session_of_the_participant_is_never_continued_by_the_lab(tmp_path):
    """Lab rows appended to an online log (extra browser columns) would not line up with its header."""
    stem = "P07_halfface_2026-11-28_1403"
    _sidecar(tmp_path / "logs", stem, participant="P07", session=1, expName="halfface", participant_number=7,
             platform="web", design="paper")
    before = (tmp_path / "logs" / f"{stem}.csv").read_bytes()
    for extra in ((), ("--resume",)):
        with pytest.raises(ParticipantError, match="already has an online session.*another session number"):
            prepare(_args(tmp_path, "--participant", "P07", *extra))
    assert (tmp_path / "logs" / f"{stem}.csv").read_bytes() == before
    assert prepare(_args(tmp_path, "--participant", "P07", "--session", "2")).number == 7


def test_an_id_without_digits_needs_a_cb_number(tmp_path):
    with pytest.raises(ParticipantError, match="'alice' has no digits.*--cb-number"):
        prepare(_args(tmp_path, "--participant", "alice"))
    plan = prepare(_args(tmp_path, "--participant", "alice", "--cb-number", "12"))
    assert plan.number == 12 and plan.info["participant_number"] == 12


def test_new_session_files_carry_date_and_experiment_name(tmp_path):
    plan = prepare(_args(tmp_path, "--participant", "P07", "--exp-name", "faces2"))
    stem = plan.paths.stem
    assert stem.startswith("P07_faces2_")
    assert stem == f"P07_faces2_{plan.started:%Y-%m-%d_%Hh%M.%S}.{plan.started.microsecond // 1000:03d}"
    assert plan.started.utcoffset() is not None  # local time with its zone, stated in the sidecar
    assert paths_for(tmp_path, stem).order.name == f"{stem}_order.csv"
    # prepare writes nothing but the participant's lock, which goes (with the folder it made) on release
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["P07_faces2.lock"]
    plan.lock.release()
    assert not (tmp_path / "logs").exists()


def test_dialog_answers_are_checked_field_by_field():
    from experiment.dialog import AnswerError, parse

    assert parse({"participant": " P07 ", "session": "2", "age": "", "sex": "", "handedness": "left"}) == {
        "participant": "P07", "session": 2, "age": None, "sex": None, "handedness": "left"}
    for answers, field in (({"participant": ""}, "participant"), ({"participant": "P1", "session": "0"}, "session"),
                           ({"participant": "P1", "session": "1", "age": "twenty"}, "age")):
        with pytest.raises(AnswerError, match=f"^{field}:"):
            parse(answers)


def test_the_unfinished_session_dialog_offers_continuing_first_with_the_trial_count():
    from experiment.dialog import CONTINUE, NEW, unfinished_choices

    choices = unfinished_choices(37, 140, 2)
    assert list(choices.items()) == [("continue the unfinished session (37 of 140 trials done)", CONTINUE),
                                     ("start a new session (session 2)", NEW)]
