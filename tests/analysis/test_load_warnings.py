"""Nothing changes silently (issue 17, item 2) and the newer log forms load (issues 16, 18).

Each case is either refused with one line naming the file and the fix, or loaded
with a warning in ``Logs.warnings`` that names the file (the report prints these
on the console, at the top of the page and in results.json["warnings"]).
"""

import shutil
from functools import partial

import pandas as pd
import pytest

from analysis.load import LogError
from analysis.load import load_logs as _load_logs
from analysis.simulate import simulate_trials, write_logs

load_logs = partial(_load_logs, include_simulated=True)


def _err(logdir, **kw):
    with pytest.raises(LogError) as exc:
        load_logs(logdir, **kw)
    return str(exc.value)


def _second_session(logdir, n_trials=None, seed=11):
    """P01 session 2 (different answers), optionally only its first n_trials."""
    s2 = simulate_trials(1, seed=seed).assign(session=2)
    if n_trials:
        s2 = s2[s2.trial <= n_trials]
    write_logs(s2, logdir)
    return logdir / "P01_s2.csv"


def test_session_copied_as_session_two_is_refused_naming_both_files(logdir):
    df = pd.read_csv(logdir / "P01_s1.csv").assign(session=2)
    df.to_csv(logdir / "P01_s2.csv", index=False)
    msg = _err(logdir)
    assert msg.startswith("P01_s2.csv: participant P01 session 2 is identical") and "P01_s1.csv" in msg
    assert "delete the copy" in msg and "\n" not in msg


def test_second_session_is_left_out_by_default_and_listed(logdir):
    _second_session(logdir, n_trials=60)
    logs = load_logs(logdir)
    assert set(logs.trials["session"]) == {1} and len(logs.trials) == 280
    assert logs.left_out.set_index("file").loc["P01_s2.csv", "n_rows"] == 60
    assert any("P01_s2.csv (P01 session 2, 60 trials)" in w and "--sessions all" in w for w in logs.warnings)
    assert list(logs.sessions["file"]) == ["P01_s1.csv", "P02_s1.csv"]


def test_sessions_all_pools_with_a_warning_and_sessions_n_picks_one(logdir):
    _second_session(logdir)
    pooled = load_logs(logdir, sessions="all")
    assert len(pooled.trials) == 420 and any("pooled" in w and "P01 (sessions 1, 2)" in w for w in pooled.warnings)
    second = load_logs(logdir, sessions="2")
    assert set(second.trials["participant"]) == {"P01"} and set(second.trials["session"]) == {2}
    assert any("without session 2" in w and "P02" in w for w in second.warnings)
    assert "--sessions often: expected all | first | N" in _err(logdir, sessions="often")


@pytest.mark.parametrize("content, reason", [("", "empty file (0 bytes)"), (None, "header only, no trials")])
def test_header_only_or_empty_log_is_listed_not_silently_dropped(logdir, content, reason):
    p = logdir / "P02_s1.csv"
    if content is None:
        content = p.read_text().splitlines()[0] + "\n"
    p.write_text(content)
    logs = load_logs(logdir)
    assert set(logs.trials["participant"]) == {"P01"}
    assert logs.left_out.set_index("file").loc["P02_s1.csv", "reason"] == reason
    assert any("P02_s1.csv" in w and "without any trial" in w for w in logs.warnings)


def test_file_with_half_its_rts_in_milliseconds_is_named_with_the_likely_cause(logdir):
    p = logdir / "P02_s1.csv"
    df = pd.read_csv(p)
    df.loc[:59, "rt"] = (df.loc[:59, "rt"] * 1000).round()  # median still in seconds: not refused
    df.to_csv(p, index=False)
    logs = load_logs(logdir)
    (w,) = [w for w in logs.warnings if w.startswith("P02_s1.csv")]
    assert "60 of 140 trials (43%)" in w and "milliseconds" in w
    assert len(logs.trials) == 280 and len(logs.rt_trials) == 220  # intensity and accuracy keep them


def test_file_with_most_of_its_rts_in_milliseconds_is_refused_without_advice_that_corrupts_the_rest(logdir):
    p = logdir / "P02_s1.csv"
    df = pd.read_csv(p)
    df.loc[:99, "rt"] = (df.loc[:99, "rt"] * 1000).round()  # median in ms, 40 rows still in seconds
    df.to_csv(p, index=False)
    msg = _err(logdir)
    assert msg.startswith("P02_s1.csv: median rt is ") and "40 of 140 rts look like seconds" in msg
    assert "mixes units" in msg and "divide the rt column" not in msg


def test_web_cells_neutralised_against_spreadsheet_formulas_are_read_as_the_browser_sent_them(logdir):
    # experiment serve writes "-abc" as "'-abc" so that a spreadsheet does not run it (OWASP CSV injection)
    from halfface.schema import neutralise_cell

    src = logdir / "P02_s1.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False).assign(participant="-abc", platform="web")
    df.map(neutralise_cell).to_csv(logdir / "-abc_halfface_2026-12-04_23h53.29.396.csv", index=False)
    src.unlink()
    src.with_suffix(".json").unlink()
    logs = load_logs(logdir)
    assert set(logs.trials["participant"]) == {"P01", "-abc"}
    assert (logs.trials.loc[logs.trials["participant"] == "-abc", "rt"] > 0).all()


@pytest.mark.parametrize("stem", ["P01_halfface_2026-12-04_23h53.29.396", "P01_halfface_2026-12-04_2353", "P01_s1"])
def test_psychopy_and_earlier_file_names_are_checked_against_the_participant(logdir, stem):
    if stem != "P01_s1":
        for ext in (".csv", ".json"):
            (logdir / f"P01_s1{ext}").rename(logdir / f"{stem}{ext}")
    assert len(load_logs(logdir).trials) == 280
    shutil.copy(logdir / f"{stem}.csv", logdir / f"{stem.replace('P01', 'P09')}.csv")
    assert "says participant 'P09' but its participant column says 'P01'" in _err(logdir)


def test_reshown_trials_are_kept_and_listed_or_dropped_with_exclude_reshown(logdir):
    p = logdir / "P01_s1.csv"
    df = pd.read_csv(p)
    df["reshown"] = 0
    df.loc[[7], "reshown"] = 1
    df["expStart"] = "2026-12-04 23h53.29.396000 +0000"
    df.to_csv(p, index=False)
    logs = load_logs(logdir)  # P02 has no column: read as 0
    assert len(logs.trials) == 280 and logs.trials["reshown"].sum() == 1
    assert logs.sessions.set_index("file")["n_reshown"].to_dict() == {"P01_s1.csv": 1, "P02_s1.csv": 0}
    dropped = load_logs(logdir, exclude_reshown=True)
    assert len(dropped.trials) == 279 and list(dropped.exclusions["kind"]) == ["reshown"]
    assert any("--exclude-reshown: 1 trial(s)" in w and "P01_s1.csv" in w for w in dropped.warnings)


def test_web_session_with_unknown_extra_columns_loads_and_is_marked_browser_timing(logdir):
    p = logdir / "P02_s1.csv"
    df = pd.read_csv(p)
    df["platform"] = "web"
    for col, val in (("PROLIFIC_PID", "5f2a"), ("STUDY_ID", "s9"), ("SESSION_ID", "x1"), ("n_blur", 2),
                     ("n_visibility_hidden", 1), ("dropped_frames", 3), ("a_column_nobody_planned", "?")):
        df[col] = val
    df.to_csv(p, index=False)
    logs = load_logs(logdir)
    assert len(logs.trials) == 280
    s = logs.sessions.set_index("file")
    assert s["browser_timing"].to_dict() == {"P01_s1.csv": False, "P02_s1.csv": True}
    assert "browser timing, not verified" in s.loc["P02_s1.csv", "flag"]


def test_clean_logs_give_no_warning(logdir):
    assert load_logs(logdir).warnings == []
