"""Every validation rule has a malformed log here; messages name file, line and value."""

import json

import pandas as pd
import pytest

from analysis.load import LogError, load_logs


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
    ("trial", "x1", "trial must be a positive integer"),
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
    df.to_csv(logdir / "P01copy_s1.csv", index=False)  # still says participant P01 inside
    msg = _err(logdir)
    assert "P01copy_s1.csv line 2 (data row 1)" in msg and "duplicate" in msg
    assert "139 more problem" in msg


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


def test_badly_named_file_is_an_error(logdir):
    (logdir / "P01_s1.csv").rename(logdir / "P01.csv")
    assert "P01.csv: file name does not match <participant>_s<session>.csv" in _err(logdir)


def test_experiment_order_files_are_not_read_as_trials(logdir):
    # experiment/ writes <id>_s<n>_order.csv beside each log: an audit file, not trials
    (logdir / "P01_s1_order.csv").write_text("trial,stimulus\n1,a.png\n")
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    assert any("_order.csv" in note for note in logs.notes)


def test_order_like_file_without_its_log_is_still_an_error(logdir):
    (logdir / "P09_order.csv").write_text("trial,stimulus\n1,a.png\n")
    assert "P09_order.csv: file name does not match" in _err(logdir)


def test_empty_or_missing_directory_is_an_error(tmp_path):
    assert "no session CSVs" in _err(tmp_path)
    assert "not a directory" in _err(tmp_path / "nope")


def test_session_column_taken_from_file_name_when_absent(logdir):
    p = logdir / "P01_s1.csv"
    pd.read_csv(p).drop(columns=["session"]).to_csv(p, index=False)
    logs = load_logs(logdir)
    assert set(logs.trials["session"]) == {1}


def test_missing_photo_id_falls_back_to_source_with_a_note(logdir):
    for p in logdir.glob("*.csv"):
        pd.read_csv(p).drop(columns=["photo_id"]).to_csv(p, index=False)
    logs = load_logs(logdir)
    assert logs.trials["photo_id"].str.endswith(".jpg").all()
    assert any("'source'" in n for n in logs.notes)
