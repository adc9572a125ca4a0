"""Every validation rule has a malformed log here; messages name file, line and value.

The fixture logs come from analysis.simulate, whose sidecars say simulated: true,
so these tests load with include_simulated=True (the default leaves such sessions out).
"""

import json
from functools import partial

import pandas as pd
import pytest

from analysis.load import LogError
from analysis.load import load_logs as _load_logs

load_logs = partial(_load_logs, include_simulated=True)


def _err(logdir, **kw):
    with pytest.raises(LogError) as exc:
        load_logs(logdir, **kw)
    return str(exc.value)


def test_valid_logs_load_with_types_and_no_exclusions(logdir):
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    assert logs.trials["rt"].dtype == float and logs.trials["intensity"].dtype.kind == "i"
    assert logs.exclusions.empty and logs.notes == []
    assert not logs.sessions["incomplete"].any()
    assert list(logs.sessions["n_rows"]) == [140, 140]


def test_missing_column_names_file_and_column(logdir):
    p = logdir / "P01_s1.csv"
    pd.read_csv(p).drop(columns=["intensity", "rt"]).to_csv(p, index=False)
    msg = _err(logdir)
    assert "P01_s1.csv line 1 (header)" in msg and "intensity" in msg and "rt" in msg
    # A missing column cannot be excluded row by row.
    assert "missing column" in _err(logdir, exclude_invalid=True)


@pytest.mark.parametrize("column,value,fragment", [
    ("rt", "abc", "rt is not a number"),
    ("rt", "", "rt is not a number"),
    ("rt", "-0.3", "rt must be > 0"),
    ("intensity", "high", "intensity is not a number"),
    ("intensity", "6", "integer 1-5"),
    ("intensity", "0", "integer 1-5"),
    ("intensity", "2.5", "integer 1-5"),
    ("emotion", "contempt", "unknown emotion"),
    ("response_emotion", "Happy", "unknown emotion"),
    ("visible_half", "top", "unknown side"),
    ("correct", "yes", "correct must be 1 or 0"),
    ("trial", "x1", "trial must be an integer >= 1"),
    ("trial", "0", "trial must be an integer >= 1"),
    ("session", "first", "session must be an integer >= 1"),
])
def test_bad_cell_is_reported_with_file_line_and_value(logdir, edit_log, column, value, fragment):
    edit_log(logdir / "P02_s1.csv", 7, column, value)
    msg = _err(logdir)
    assert msg.startswith("P02_s1.csv line 8 (data row 7): ")
    assert f"{column} {value!r}" in msg and fragment in msg
    assert "--exclude-invalid" in msg and "\n" not in msg


def test_correct_disagreeing_with_response_is_an_error(logdir, edit_log):
    df = pd.read_csv(logdir / "P01_s1.csv")
    row = int(df.index[df["correct"] == 1][0]) + 1
    edit_log(logdir / "P01_s1.csv", row, "correct", "0")
    msg = _err(logdir)
    assert f"line {row + 1} (data row {row})" in msg and "disagrees with emotion=" in msg
    assert "(expected 1)" in msg


def test_duplicate_trial_within_a_file_is_an_error(logdir, edit_log):
    edit_log(logdir / "P01_s1.csv", 5, "trial", "4")
    msg = _err(logdir)
    assert "P01_s1.csv line 6 (data row 5)" in msg and "duplicate of (participant=P01, session=1, trial=4)" in msg
    assert "first seen in P01_s1.csv line 5" in msg


def test_session_copied_under_another_name_is_a_duplicate(logdir):
    df = pd.read_csv(logdir / "P01_s1.csv")
    df.to_csv(logdir / "P01_halfface_2026-11-28_1403.csv", index=False)  # same participant and session inside
    msg = _err(logdir)
    assert "P01_s1.csv line 2 (data row 1)" in msg and "duplicate" in msg
    assert "first seen in P01_halfface_2026-11-28_1403.csv line 2" in msg and "139 more problem" in msg


def test_line_numbers_count_blank_lines(logdir):
    p = logdir / "P01_s1.csv"
    lines = p.read_text().splitlines()
    lines.insert(3, "")  # blank line after data row 2
    lines[5] = lines[5].replace(",left,", ",middle,").replace(",right,", ",middle,", 1)
    p.write_text("\n".join(lines) + "\n")
    msg = _err(logdir)
    assert msg.startswith("P01_s1.csv line 6 (data row 5): visible_half 'middle'")


def test_exclude_invalid_drops_and_lists_every_bad_row(logdir, edit_log):
    edit_log(logdir / "P01_s1.csv", 3, "intensity", "9")
    edit_log(logdir / "P01_s1.csv", 10, "rt", "n/a")
    edit_log(logdir / "P01_s1.csv", 10, "emotion", "boredom")  # same row: two problems, one row
    edit_log(logdir / "P02_s1.csv", 20, "trial", "19")  # duplicate: the later copy goes
    logs = load_logs(logdir, exclude_invalid=True)
    assert len(logs.trials) == 280 - 3
    ex = logs.exclusions
    assert len(ex) == 4
    assert set(zip(ex["file"], ex["line"])) == {("P01_s1.csv", 4), ("P01_s1.csv", 11), ("P02_s1.csv", 21)}
    assert sorted(ex["column"]) == ["emotion", "intensity", "rt", "trial"]
    assert any("3 row(s) excluded for 4 problem(s)" in n for n in logs.notes)
    kept = logs.trials[logs.trials["participant"] == "P02"]
    assert (kept["trial"] == 19).sum() == 1


def test_incomplete_session_is_kept_and_flagged(logdir):
    p = logdir / "P02_s1.csv"
    pd.read_csv(p).head(50).to_csv(p, index=False)
    meta = json.loads((logdir / "P02_s1.json").read_text())
    assert meta["n_trials_planned"] == 140
    logs = load_logs(logdir)
    assert len(logs.trials) == 190
    s = logs.sessions.set_index("file")
    assert bool(s.loc["P02_s1.csv", "incomplete"]) and "50 of 140 planned trials" in s.loc["P02_s1.csv", "flag"]
    assert not bool(s.loc["P01_s1.csv", "incomplete"])


def test_sidecar_completed_false_flags_session(logdir):
    meta = json.loads((logdir / "P01_s1.json").read_text())
    meta["completed"] = False
    (logdir / "P01_s1.json").write_text(json.dumps(meta))
    s = load_logs(logdir).sessions.set_index("file")
    assert bool(s.loc["P01_s1.csv", "incomplete"]) and "completed: false" in s.loc["P01_s1.csv", "flag"]


def test_missing_sidecar_is_flagged_not_fatal(logdir):
    (logdir / "P01_s1.json").unlink()
    s = load_logs(logdir).sessions.set_index("file")
    assert "no JSON sidecar" in s.loc["P01_s1.csv", "flag"] and not bool(s.loc["P01_s1.csv", "incomplete"])


def test_broken_sidecar_is_an_error(logdir):
    (logdir / "P01_s1.json").write_text("{not json")
    assert _err(logdir).startswith("P01_s1.json line 1: not valid JSON")


def test_experiment_order_and_practice_files_are_not_read_as_trials(logdir):
    # experiment/ writes <id>_s<n>_order.csv and practice answers beside each log: not trials
    (logdir / "P01_s1_order.csv").write_text("trial,stimulus\n1,a.png\n")
    pd.read_csv(logdir / "P01_s1.csv").head(5).to_csv(logdir / "P01_s1_practice.csv", index=False)
    (logdir / "P09_order.csv").write_text("trial,stimulus\n1,a.png\n")
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    note = next(n for n in logs.notes if "order/practice" in n)
    assert "3 order/practice file(s)" in note and "P01_s1_practice.csv" in note and "P09_order.csv" in note


def test_empty_or_missing_directory_is_an_error(tmp_path):
    assert "no session CSVs" in _err(tmp_path)
    assert "not a directory" in _err(tmp_path / "nope")


def test_session_column_taken_from_file_name_when_absent(logdir):
    p = logdir / "P01_s1.csv"
    pd.read_csv(p).drop(columns=["session"]).to_csv(p, index=False)
    logs = load_logs(logdir)
    assert set(logs.trials["session"]) == {1}


@pytest.mark.parametrize("renamed", [None, "photo"])
def test_missing_or_renamed_photo_id_is_restored_from_the_stimulus_names_with_a_warning(logdir, renamed):
    for p in logdir.glob("*.csv"):
        df = pd.read_csv(p)
        (df.rename(columns={"photo_id": renamed}) if renamed else df.drop(columns=["photo_id"])).to_csv(p, index=False)
    logs = load_logs(logdir)
    # One photo per pair of halves (70), not one per stimulus (140).
    assert logs.trials["photo_id"].nunique() == 70
    assert (logs.trials["photo_id"] + "_" + logs.trials["visible_half"] + ".png"
            == logs.trials["stimulus"].str.replace("stimuli/", "")).all()
    assert any("photo_id restored from the stimulus names" in w and "P01_s1.csv" in w for w in logs.warnings)


def test_missing_photo_id_with_unreadable_stimulus_names_is_refused_naming_the_fix(logdir, edit_log):
    for p in logdir.glob("*.csv"):
        pd.read_csv(p).drop(columns=["photo_id"]).to_csv(p, index=False)
    edit_log(logdir / "P02_s1.csv", 5, "stimulus", "face17.png")
    msg = _err(logdir)
    assert msg.startswith("P02_s1.csv line 6: no photo_id") and "'face17.png'" in msg and "add a photo_id" in msg


# --- logs from any source (issue 9, item 8) -------------------------------------------------------

def _rename(logdir, old_stem, new_stem):
    for ext in (".csv", ".json"):
        if (logdir / f"{old_stem}{ext}").exists():
            (logdir / f"{old_stem}{ext}").rename(logdir / f"{new_stem}{ext}")


@pytest.mark.parametrize("stem", ["P01_halfface_2026-11-28_14h03.46.123", "P01_halfface_2026-11-28_1403",
                                  "pilot export", "P01"])
def test_any_file_name_is_read_and_participant_comes_from_the_column(logdir, stem):
    _rename(logdir, "P01_s1", stem)
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    mine = logs.trials[logs.trials["file"] == f"{stem}.csv"]
    assert set(mine["participant"]) == {"P01"} and set(mine["session"]) == {1}
    assert logs.sessions.set_index("file").loc[f"{stem}.csv", "participant"] == "P01"


def test_builder_session_column_padded_with_zeros_is_session_one(logdir):
    _rename(logdir, "P01_s1", "P01_halfface_2026-11-28_1403")
    p = logdir / "P01_halfface_2026-11-28_1403.csv"
    df = pd.read_csv(p, dtype=str)
    df["session"] = "001"
    df.to_csv(p, index=False)
    logs = load_logs(logdir)
    assert set(logs.trials.loc[logs.trials["participant"] == "P01", "session"]) == {1}


def test_session_without_a_column_comes_from_sidecar_then_name_then_one(logdir):
    for p in logdir.glob("*.csv"):
        pd.read_csv(p).drop(columns=["session"]).to_csv(p, index=False)
    meta = json.loads((logdir / "P02_s1.json").read_text())
    meta["session"] = 3
    _rename(logdir, "P02_s1", "P02_halfface_2026-11-28_1403")
    (logdir / "P02_halfface_2026-11-28_1403.json").write_text(json.dumps(meta))
    _rename(logdir, "P01_s1", "P01_s2")
    meta1 = json.loads((logdir / "P01_s2.json").read_text())
    del meta1["session"]
    (logdir / "P01_s2.json").write_text(json.dumps(meta1))
    logs = load_logs(logdir)
    by = logs.trials.groupby("participant")["session"].unique()
    assert list(by["P02"]) == [3] and list(by["P01"]) == [2]
    (logdir / "P01_s2.json").unlink()
    _rename(logdir, "P01_s2", "P01_halfface_2026-11-28_1500")
    logs = load_logs(logdir)
    assert list(logs.trials.groupby("participant")["session"].unique()["P01"]) == [1]
    assert any("P01_halfface_2026-11-28_1500.csv: no session column" in n and "session 1 assumed" in n
               for n in logs.notes)


@pytest.mark.parametrize("stem,fragment", [
    ("P02_halfface_2026-11-28_1403", "the file name says participant 'P02' but its participant column says 'P01'"),
    ("P07_s1", "the file name says participant 'P07' but its participant column says 'P01'"),
    ("P01_s2", "the file name says session 2 but its session column says 1"),
])
def test_file_name_contradicting_its_columns_is_an_error_naming_both(logdir, stem, fragment):
    (logdir / "P02_s1.csv").unlink()
    _rename(logdir, "P01_s1", stem)
    msg = _err(logdir)
    assert msg.startswith(f"{stem}.csv: ") and fragment in msg and "rename the file or correct the column" in msg
    assert "\n" not in msg


def test_builder_name_with_exp_name_column_is_checked_exactly(logdir):
    p = logdir / "P01_s1.csv"
    df = pd.read_csv(p)
    df["expName"] = "half_face"  # underscores in the experiment name
    df["participant"] = "P_01"   # and in the participant ID
    df.to_csv(p, index=False)
    _rename(logdir, "P01_s1", "P_01_half_face_2026-11-28_1403")
    assert set(load_logs(logdir).trials["participant"]) == {"P_01", "P02"}
    _rename(logdir, "P_01_half_face_2026-11-28_1403", "P_02_half_face_2026-11-28_1403")
    assert "says participant 'P_02' but its participant column says 'P_01'" in _err(logdir)


def test_csv_without_the_log_columns_is_skipped_and_listed(logdir):
    pd.DataFrame({"stimulus": ["a.png"], "emotion": ["fear"], "visible_half": ["left"]}).to_csv(
        logdir / "manifest.csv", index=False)
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    assert any("1 CSV file(s) without the session-log columns were not read: manifest.csv" in n for n in logs.notes)


def test_simulated_sessions_are_left_out_by_default_and_listed(logdir):
    meta = json.loads((logdir / "P01_s1.json").read_text())
    assert meta["simulated"] is True
    meta2 = json.loads((logdir / "P02_s1.json").read_text())
    meta2["simulated"] = False  # as a real session's sidecar says
    (logdir / "P02_s1.json").write_text(json.dumps(meta2))
    logs = _load_logs(logdir)
    assert set(logs.trials["participant"]) == {"P02"} and len(logs.trials) == 140
    assert logs.left_out.to_dict("records") == [{"file": "P01_s1.csv", "participant": "P01", "session": 1,
                                                 "n_rows": 140, "reason": "simulated (sidecar simulated: true)"}]
    assert any("1 simulated session(s) left out" in n and "P01_s1.csv" in n for n in logs.notes)
    both = _load_logs(logdir, include_simulated=True)
    assert len(both.trials) == 280 and both.left_out.empty
    assert both.sessions.set_index("file")["simulated"].to_dict() == {"P01_s1.csv": True, "P02_s1.csv": False}


def test_only_simulated_sessions_without_the_flag_is_an_error_saying_what_to_do(logdir):
    with pytest.raises(LogError) as exc:
        _load_logs(logdir)
    assert "all 2 session(s) are simulated" in str(exc.value) and "--include-simulated" in str(exc.value)


# --- input sanity (issue 9, item 9) ---------------------------------------------------------------

def test_millisecond_rts_are_refused_naming_the_file_and_the_conversion(logdir):
    p = logdir / "P02_s1.csv"
    df = pd.read_csv(p)
    df["rt"] = (df["rt"] * 1000).round()
    df.to_csv(p, index=False)
    msg = _err(logdir, exclude_invalid=True)  # not a row problem: excluding rows cannot fix it
    assert msg.startswith("P02_s1.csv: median rt is ") and "looks like milliseconds" in msg
    assert "divide the rt column" in msg and "by 1000" in msg


def test_rt_trimming_marks_anticipations_and_lapses_for_rt_analyses_only_and_lists_them(logdir, edit_log):
    edit_log(logdir / "P01_s1.csv", 3, "rt", "0.05")
    edit_log(logdir / "P01_s1.csv", 4, "rt", "0.19")
    edit_log(logdir / "P02_s1.csv", 10, "rt", "14.2")
    logs = load_logs(logdir)
    # Intensity and accuracy keep every answered trial; the RT analyses use logs.rt_trials.
    assert len(logs.trials) == 280 and logs.trials["rt_trimmed"].sum() == 3
    assert len(logs.rt_trials) == 277 and logs.rt_trials["rt"].between(0.2, 10).all()
    ex = logs.exclusions
    assert ex.groupby("kind").size().to_dict() == {"rt_above_max": 1, "rt_below_min": 2}
    assert set(zip(ex["file"], ex["line"], ex["value"])) == {("P01_s1.csv", 4, "0.05"), ("P01_s1.csv", 5, "0.19"),
                                                              ("P02_s1.csv", 11, "14.2")}
    assert any("3 trial(s) with rt outside [0.2, 10] s left out of the RT analyses only" in n for n in logs.notes)
    wide = load_logs(logdir, rt_min=0.1, rt_max=20)
    assert len(wide.rt_trials) == 279 and list(wide.exclusions["value"]) == ["0.05"]
    assert "need 0 <= rt-min < rt-max" in _err(logdir, rt_min=3, rt_max=2)


def test_semicolon_or_tab_delimited_file_gets_a_delimiter_hint(logdir):
    p = logdir / "P01_s1.csv"
    df = pd.read_csv(p)
    df.to_csv(p, index=False, sep=";", decimal=",")
    msg = _err(logdir)
    assert msg.startswith("P01_s1.csv line 1 (header): the file is semicolon-delimited")
    assert "sep=';', decimal=','" in msg
    df.to_csv(p, index=False, sep="\t")
    assert "the file is tab-delimited" in _err(logdir)


def test_spreadsheet_byte_order_mark_is_read(logdir):
    p = logdir / "P01_s1.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert len(load_logs(logdir).trials) == 280


# --- columns from the experiment's and the online version's logs (issues 10, 13) ------------------

def test_restarted_trials_are_kept_and_counted(logdir, edit_log):
    p = logdir / "P01_s1.csv"
    df = pd.read_csv(p)
    df["restarted"] = 0
    df.loc[[4, 9], "restarted"] = [1, 2]
    df.to_csv(p, index=False)
    logs = load_logs(logdir)
    assert len(logs.trials) == 280 and (logs.trials["restarted"] > 0).sum() == 2
    assert logs.sessions.set_index("file")["n_restarted"].to_dict() == {"P01_s1.csv": 2, "P02_s1.csv": 0}
    edit_log(p, 3, "restarted", "yes")
    assert "restarted 'yes': restarted must be an integer >= 0" in _err(logdir)


def test_platform_column_is_read_and_missing_means_lab(logdir):
    p = logdir / "P02_s1.csv"
    df = pd.read_csv(p)
    df["platform"], df["browser"] = "web", "Firefox 140"
    df.to_csv(p, index=False)
    logs = load_logs(logdir)
    assert logs.trials.groupby("participant")["platform"].unique().map(list).to_dict() == {"P01": ["lab"],
                                                                                            "P02": ["web"]}
    assert logs.sessions.set_index("file")["platform"].to_dict() == {"P01_s1.csv": "lab", "P02_s1.csv": "web"}


def test_unverified_display_timing_is_flagged_per_session(logdir):
    meta = json.loads((logdir / "P02_s1.json").read_text())
    meta["allow_unlocked_display"] = True
    meta["design"] = "crossed"
    (logdir / "P02_s1.json").write_text(json.dumps(meta))
    s = load_logs(logdir).sessions.set_index("file")
    assert s["unverified_timing"].to_dict() == {"P01_s1.csv": False, "P02_s1.csv": True}
    assert "display timing not verified" in s.loc["P02_s1.csv", "flag"] and s.loc["P02_s1.csv", "design"] == "crossed"


def test_builder_name_with_another_experiment_name_still_checks_the_participant(logdir):
    p = logdir / "P01_s1.csv"
    df = pd.read_csv(p)
    df["expName"] = "halfface"
    df.to_csv(p, index=False)
    _rename(logdir, "P01_s1", "P01_pilotversion_2026-11-28_1403")  # renamed experiment, same participant
    assert len(load_logs(logdir).trials) == 280
    _rename(logdir, "P01_pilotversion_2026-11-28_1403", "P1_halfface_2026-11-28_1403")
    assert "the file name says participant 'P1' but its participant column says 'P01'" in _err(logdir)


def test_photo_id_warning_says_which_file_lacks_the_column_and_which_has_empty_rows(logdir):
    files = sorted(logdir.glob("*.csv"))
    pd.read_csv(files[0]).drop(columns=["photo_id"]).to_csv(files[0], index=False)
    df = pd.read_csv(files[1])
    df.loc[[0, 3], "photo_id"] = ""
    df.to_csv(files[1], index=False)
    logs = load_logs(logdir)
    (w,) = [w for w in logs.warnings if "photo_id restored from the stimulus names" in w]
    assert f"no photo_id in {files[0].name}" in w
    assert f"photo_id empty in 2 of {len(df)} rows of {files[1].name}" in w
    assert not any(f.name in w for f in files[2:])
