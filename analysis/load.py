"""Read session logs from any source and validate them before any statistic is computed.

Every ``*.csv`` in the log folder that has the required columns is a session log,
whatever its name: the experiment's ``<participant>_s<session>.csv``, PsychoPy
Builder's ``<participant>_<expName>_<date>_<time>.csv``, an online (jsPsych)
export. Participant and session come from the columns (``session``: the column,
else the JSON sidecar, else an ``_s<N>`` file name, else 1 with a note). A name
that says one participant while the column says another is an error naming both.
The experiment's ``*_order.csv`` / ``*_practice.csv`` and CSVs with few of the
required columns are not logs: they are skipped and listed in the notes.

Every problem is reported with the file, the line number in the file (the header
is line 1, so the first trial is line 2 = data row 1), the value and what to do.
With ``exclude_invalid=True`` the offending rows are dropped instead and listed
in the exclusion table. RT trimming (``rt_min``/``rt_max``) and sessions left out
because their sidecar says ``simulated: true`` are listed the same way: nothing is
dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stimuli.labels import EMOTIONS, SIDES

REQUIRED_COLUMNS = (
    "participant", "trial", "stimulus", "emotion", "visible_half",
    "response_emotion", "correct", "intensity", "rt",
)
# A CSV with at least this many of the required columns is a log with columns missing (an
# error); with fewer it is some other table (a manifest, a questionnaire) and is skipped.
MIN_COLUMNS_OF_A_LOG = 5
# Written by the experiment beside each log: the planned order and the practice answers.
NOT_LOG_SUFFIXES = ("_order", "_practice")
OLD_NAME = re.compile(r"^(?P<participant>.+)_s(?P<session>[1-9][0-9]*)$")
# PsychoPy Builder: <participant>_<expName>_<YYYY-MM-DD>_<HHMM | 14h03.46.123>
BUILDER_NAME = re.compile(r"^(?P<head>.+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}h?\d{2}(?:\.\d{2}(?:\.\d+)?)?)$")
POSITIVE_INT = r"0*[1-9][0-9]*"
# Anticipations and lapses (docs/analysis.md, "RT trimming"): Whelan 2008; Ratcliff 1993.
RT_MIN = 0.2
RT_MAX = 10.0
# A median RT above this many "seconds" is a log written in milliseconds.
MS_MEDIAN = 20.0
DEFAULT_PLATFORM = "lab"
FIX_HINT = "fix the log or rerun with --exclude-invalid to drop such rows (they are listed in the report)"
EXCLUSION_COLUMNS = ["file", "line", "data_row", "column", "value", "reason", "kind"]


class LogError(ValueError):
    """A user-facing problem with the logs: one line naming file, row, value and what to do."""


@dataclass
class Logs:
    """Validated trials plus everything the report must disclose about them."""

    trials: pd.DataFrame
    sessions: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["file", "participant", "session", "n_rows", "reason"]))
    settings: dict = field(default_factory=dict)


def _problem(file, line, column, value, reason, kind="invalid"):
    return {"file": file, "line": int(line), "data_row": int(line) - 1,
            "column": column, "value": "" if value is None else str(value), "reason": reason, "kind": kind}


def _format(p: dict, n_more: int) -> str:
    more = f" (and {n_more} more problem(s))" if n_more else ""
    return (f"{p['file']} line {p['line']} (data row {p['data_row']}): {p['column']} "
            f"{p['value']!r}: {p['reason']}; {FIX_HINT}{more}")


def row_problems(df: pd.DataFrame, file: str) -> list[dict]:
    """Per-row checks of one session table (already read as strings).

    Returns one dict per problem, in file order; the caller decides between
    error and exclusion. Checks are vectorised; dicts are built only for bad rows.
    """
    rt = pd.to_numeric(df["rt"], errors="coerce").to_numpy(dtype=float)
    inten = pd.to_numeric(df["intensity"], errors="coerce").to_numpy(dtype=float)
    corr = pd.to_numeric(df["correct"], errors="coerce").to_numpy(dtype=float)
    emo_ok = df["emotion"].isin(EMOTIONS).to_numpy()
    resp_ok = df["response_emotion"].isin(EMOTIONS).to_numpy()
    expected = (df["emotion"] == df["response_emotion"]).to_numpy().astype(float)
    corr_valid = np.isin(corr, (0.0, 1.0))
    no = np.zeros(len(df), dtype=bool)
    with np.errstate(invalid="ignore"):
        checks = [  # (bad mask, column, reason) in the order problems are listed within a row
            ((df["participant"] == "").to_numpy(), "participant", lambda r: "participant is empty"),
            (~df["session"].str.fullmatch(POSITIVE_INT).to_numpy(dtype=bool) if "session" in df else no,
             "session", lambda r: "session must be an integer >= 1"),
            (~np.isfinite(rt), "rt", lambda r: "rt is not a number"),
            (np.isfinite(rt) & (rt <= 0), "rt", lambda r: "rt must be > 0 seconds"),
            (~np.isfinite(inten), "intensity", lambda r: "intensity is not a number"),
            (np.isfinite(inten) & ((inten != np.round(inten)) | (inten < 1) | (inten > 5)), "intensity",
             lambda r: "intensity must be an integer 1-5"),
            (~emo_ok, "emotion", lambda r: f"unknown emotion (expected one of {', '.join(EMOTIONS)})"),
            (~resp_ok, "response_emotion",
             lambda r: f"unknown emotion (expected one of {', '.join(EMOTIONS)})"),
            (~df["visible_half"].isin(SIDES).to_numpy(), "visible_half",
             lambda r: "unknown side (expected left or right)"),
            (~df["visible_image_side"].isin(SIDES).to_numpy() if "visible_image_side" in df else no,
             "visible_image_side", lambda r: "unknown side (expected left or right)"),
            (~corr_valid, "correct", lambda r: "correct must be 1 or 0"),
            (corr_valid & emo_ok & resp_ok & (corr != expected), "correct",
             lambda r: (f"disagrees with emotion={r['emotion']} and response_emotion={r['response_emotion']} "
                        f"(expected {int(r['emotion'] == r['response_emotion'])})")),
            (~df["trial"].str.fullmatch(POSITIVE_INT).to_numpy(dtype=bool), "trial",
             lambda r: "trial must be an integer >= 1 (the experiment numbers trials from 1)"),
            (~df["restarted"].str.fullmatch(r"[0-9]*").to_numpy(dtype=bool) if "restarted" in df else no,
             "restarted", lambda r: "restarted must be an integer >= 0 (or empty)"),
        ]
    problems = []
    for k, (mask, column, reason) in enumerate(checks):
        for i in np.flatnonzero(mask):
            r = df.iloc[i]
            problems.append((i, k, _problem(file, r["_line"], column, r[column], reason(r))))
    return [p for _, _, p in sorted(problems, key=lambda x: (x[0], x[1]))]


def _read_sidecar(csv_path: Path) -> dict:
    side = csv_path.with_suffix(".json")
    if not side.exists():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LogError(f"{side.name} line {exc.lineno}: not valid JSON ({exc.msg}); "
                       "fix or delete the sidecar (the session is then flagged as unknown completion)") from None
    if not isinstance(meta, dict):
        raise LogError(f"{side.name}: expected a JSON object; fix or delete the sidecar")
    meta["_has_sidecar"] = True
    return meta


def _read_table(csv_path: Path) -> pd.DataFrame | None:
    """The CSV as strings, or None when it is not a session log (too few of the required columns)."""
    name = csv_path.name
    try:
        # Blank lines are kept while numbering so that reported line numbers match the file.
        # utf-8-sig: spreadsheet programs put a byte-order mark before the first column name.
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                         encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise LogError(f"{name}: file is empty; delete it or restore the session log") from None
    except pd.errors.ParserError as exc:
        raise LogError(f"{name}: cannot be parsed as CSV ({str(exc).strip()}); repair the file") from None
    except UnicodeDecodeError:
        raise LogError(f"{name}: not UTF-8 text; save it as CSV UTF-8 or move it out of the log folder") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if not missing:
        return df
    header = " ".join(df.columns)
    for delim, what in ((";", "semicolon"), ("\t", "tab")):
        if sum(c.strip() in REQUIRED_COLUMNS for c in header.split(delim)) >= MIN_COLUMNS_OF_A_LOG:
            raise LogError(f"{name} line 1 (header): the file is {what}-delimited; save it as a comma-separated "
                           "CSV with '.' as the decimal mark (e.g. pandas: pd.read_csv(path, sep="
                           f"{delim!r}, decimal=',').to_csv(path, index=False))")
    if len(REQUIRED_COLUMNS) - len(missing) >= MIN_COLUMNS_OF_A_LOG:
        raise LogError(f"{name} line 1 (header): missing column(s) {', '.join(missing)}; "
                       "the log must have the experiment's columns (see docs/analysis.md)")
    return None


def _name_conflict(stem: str, participants: list[str], sessions: list[str], exp_names: list[str]) -> str | None:
    """Why the file name contradicts its participant/session columns, or None."""
    builder = BUILDER_NAME.match(stem)
    if builder:
        head = builder["head"]
        # With the expName column the participant part is exact; without it (both may contain
        # '_') the name can only be checked to start with the participant.
        named = next((head[: -len(e) - 1] for e in exp_names if head.endswith(f"_{e}")), None)
        for p in participants:
            if (p != named) if named is not None else not head.startswith(f"{p}_"):
                return (f"the file name says participant {named or head.split('_')[0]!r} but its participant "
                        f"column says {p!r}")
        return None
    old = OLD_NAME.match(stem)
    if old:
        for p in participants:
            if p != old["participant"]:
                return f"the file name says participant {old['participant']!r} but its participant column says {p!r}"
        for s in sessions:
            if re.fullmatch(POSITIVE_INT, s) and int(s) != int(old["session"]):
                return f"the file name says session {int(old['session'])} but its session column says {s}"
    return None


def _session_of_file(df: pd.DataFrame, csv_path: Path, meta: dict, notes: list[str]) -> pd.DataFrame:
    """Fill the session column: the column itself, else the sidecar, else an _s<N> name, else 1."""
    if "session" in df.columns:
        return df
    old = OLD_NAME.match(csv_path.stem)
    if isinstance(meta.get("session"), int) and meta["session"] >= 1:
        df["session"] = str(meta["session"])
    elif old:
        df["session"] = old["session"]
    else:
        df["session"] = "1"
        notes.append(f"{csv_path.name}: no session column, sidecar session or _s<N> in the name; session 1 assumed")
    return df


def _canonical_int(s: pd.Series) -> pd.Series:
    """'001' -> '1' for valid positive integers (Builder pads the session); others unchanged."""
    ok = s.str.fullmatch(POSITIVE_INT)
    return s.where(~ok, s[ok].str.lstrip("0"))


def _ms_check(df: pd.DataFrame, name: str) -> None:
    rt = pd.to_numeric(df["rt"], errors="coerce")
    med = rt[rt > 0].median()
    if pd.notna(med) and med > MS_MEDIAN:
        raise LogError(f"{name}: median rt is {med:g}, which looks like milliseconds (rt must be in seconds); "
                       "divide the rt column (and emotion_rt/intensity_rt) by 1000, e.g. pandas: "
                       "df['rt'] = df['rt'] / 1000, and rerun")


def _session_rows(df: pd.DataFrame, name: str, meta: dict) -> list[dict]:
    """One row per (participant, session) in one file, with the sidecar's flags."""
    planned = meta.get("n_trials_planned")
    completed = meta.get("completed")
    rows = []
    for (pid, sess), g in df.groupby(["participant", "session"], sort=False):
        n = len(g)
        reasons = []
        if not meta.get("_has_sidecar"):
            reasons.append("no JSON sidecar: completion unknown")
        if completed is False:
            reasons.append("sidecar says completed: false")
        if isinstance(planned, (int, float)) and n < planned:
            reasons.append(f"{n} of {int(planned)} planned trials")
        unlocked = bool(meta.get("allow_unlocked_display"))
        if unlocked:
            reasons.append("display timing not verified (allow_unlocked_display)")
        platforms = sorted(set(g["platform"].str.lower().replace("", DEFAULT_PLATFORM))) if "platform" in g \
            else [DEFAULT_PLATFORM]
        restarted = pd.to_numeric(g["restarted"], errors="coerce").fillna(0) if "restarted" in g else pd.Series(0)
        rows.append({"file": name, "participant": str(pid),
                     "session": int(sess) if re.fullmatch(POSITIVE_INT, sess) else sess,
                     "platform": "+".join(platforms), "n_rows": n, "n_trials_planned": planned,
                     "completed": completed,
                     "incomplete": completed is False or (isinstance(planned, (int, float)) and n < planned),
                     "simulated": bool(meta.get("simulated")), "unverified_timing": unlocked,
                     "design": meta.get("design", ""), "n_restarted": int((restarted > 0).sum()),
                     "flag": "; ".join(reasons)})
    return rows


def load_logs(logdir: str | Path, exclude_invalid: bool = False, include_simulated: bool = False,
              rt_min: float = RT_MIN, rt_max: float = RT_MAX) -> Logs:
    """Read and validate every session CSV in ``logdir``.

    Raises LogError (one line) on the first problem unless ``exclude_invalid``,
    in which case invalid rows are removed and listed in ``Logs.exclusions``.
    Missing columns, unreadable files, millisecond RTs and file names that
    contradict their participant column are always errors: no row-wise exclusion
    fixes them. Valid trials with ``rt`` outside [rt_min, rt_max] seconds are
    removed from every analysis and listed (kind 'rt_below_min'/'rt_above_max').
    Sessions whose sidecar says ``simulated: true`` are left out unless
    ``include_simulated`` and listed in ``Logs.left_out``.
    """
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise LogError(f"{logdir}: not a directory; pass the folder that holds the session CSVs")
    if not (0 <= rt_min < rt_max):
        raise LogError(f"--rt-min {rt_min:g} / --rt-max {rt_max:g}: need 0 <= rt-min < rt-max (seconds)")
    paths = sorted(p for p in logdir.glob("*.csv") if p.is_file())
    companions = [p for p in paths if p.stem.endswith(NOT_LOG_SUFFIXES)]
    frames, sessions, problems, notes, left_out, skipped = [], [], [], [], [], []
    if companions:
        notes.append(f"{len(companions)} order/practice file(s) written by the experiment were not read as trials: "
                     + ", ".join(p.name for p in companions))
    for path in (p for p in paths if p not in companions):
        df = _read_table(path)
        if df is None:
            skipped.append(path.name)
            continue
        meta = _read_sidecar(path)
        df = df.fillna("").apply(lambda s: s.str.strip())
        df["_line"] = np.arange(len(df)) + 2
        df = df[(df[list(REQUIRED_COLUMNS)] != "").any(axis=1)].reset_index(drop=True)
        df["_file"] = path.name
        df = _session_of_file(df, path, meta, notes)
        df["session"] = _canonical_int(df["session"])
        df["trial"] = _canonical_int(df["trial"])
        if meta.get("simulated") and not include_simulated:
            for r in _session_rows(df, path.name, meta):
                left_out.append({k: r[k] for k in ("file", "participant", "session", "n_rows")}
                                | {"reason": "simulated (sidecar simulated: true)"})
            continue
        exp_names = sorted(set(df["expName"]) - {""}) if "expName" in df.columns else []
        conflict = _name_conflict(path.stem, sorted(set(df["participant"]) - {""}),
                                  sorted(set(df["session"]) - {""}), exp_names)
        if conflict:
            raise LogError(f"{path.name}: {conflict}; rename the file or correct the column")
        _ms_check(df, path.name)
        frames.append(df)
        problems += row_problems(df, path.name)
        sessions += _session_rows(df, path.name, meta)
    if skipped:
        notes.append(f"{len(skipped)} CSV file(s) without the session-log columns were not read: "
                     + ", ".join(skipped))
    if left_out:
        notes.append(f"{len(left_out)} simulated session(s) left out (sidecar says simulated: true; "
                     "--include-simulated analyses them): " + ", ".join(r["file"] for r in left_out))
    if not frames:
        if left_out:
            raise LogError(f"{logdir}: all {len(left_out)} session(s) are simulated (sidecar says simulated: true); "
                           "rerun with --include-simulated to analyse them")
        raise LogError(f"{logdir}: no session CSVs (files with the columns {', '.join(REQUIRED_COLUMNS)}) found; "
                       "check the path")
    trials = pd.concat(frames, ignore_index=True)
    problems += _duplicates(trials)
    if problems and not exclude_invalid:
        raise LogError(_format(problems[0], len(problems) - 1))
    if problems:
        bad = {(p["file"], p["line"]) for p in problems}
        keep = [(f, ln) not in bad for f, ln in zip(trials["_file"], trials["_line"])]
        notes.append(f"--exclude-invalid: {len(trials) - int(np.sum(keep))} row(s) excluded for {len(problems)} "
                     "problem(s); see the exclusions table")
        trials = trials[keep].reset_index(drop=True)
    trials = _typed(trials)
    trials, trimmed = trim_rt(trials, rt_min, rt_max)
    if trimmed:
        notes.append(f"RT trimming: {len(trimmed)} trial(s) with rt outside [{rt_min:g}, {rt_max:g}] s removed "
                     "from all analyses (--rt-min/--rt-max); listed in the exclusions table")
    if "photo_id" not in trials.columns or (trials["photo_id"] == "").any():
        fallback = "source" if "source" in trials.columns and (trials["source"] != "").all() else "stimulus"
        trials["photo_id"] = trials[fallback]
        notes.append(f"photo_id missing: stimulus random effects use the '{fallback}' column instead")
    exclusions = pd.DataFrame(problems + trimmed, columns=EXCLUSION_COLUMNS)
    return Logs(trials=trials, sessions=pd.DataFrame(sessions), exclusions=exclusions, notes=notes,
                left_out=pd.DataFrame(left_out, columns=["file", "participant", "session", "n_rows", "reason"]),
                settings={"rt_min": rt_min, "rt_max": rt_max, "include_simulated": include_simulated,
                          "exclude_invalid": exclude_invalid})


def _duplicates(trials: pd.DataFrame) -> list[dict]:
    """(participant, session, trial) seen before, within one file or across files (a copied session)."""
    key = ["participant", "session", "trial"]
    dup = trials.duplicated(key, keep="first")
    out = []
    for i in np.flatnonzero(dup.to_numpy()):
        r = trials.iloc[i]
        first = trials[(trials[key] == r[key]).all(axis=1)].iloc[0]
        out.append(_problem(r["_file"], r["_line"], "trial", r["trial"],
                            f"duplicate of (participant={r['participant']}, session={r['session']}, "
                            f"trial={r['trial']}) first seen in {first['_file']} line {first['_line']}"))
    return out


def trim_rt(trials: pd.DataFrame, rt_min: float = RT_MIN, rt_max: float = RT_MAX) -> tuple[pd.DataFrame, list[dict]]:
    """Drop trials with rt < rt_min (anticipations) or rt > rt_max (lapses); return them as exclusions.

    Fixed cut-offs, set before looking at the data, rather than SD-based ones, which
    bias condition means when conditions differ in skew or size (Miller 1991;
    Ratcliff 1993). Responses faster than ~200 ms cannot follow from seeing the
    face (Whelan 2008). The trials go from every analysis, not only the RT ones,
    so all tests describe the same trials.
    """
    low, high = trials["rt"] < rt_min, trials["rt"] > rt_max
    out = []
    for mask, kind, reason in ((low, "rt_below_min", f"rt below --rt-min {rt_min:g} s (anticipation)"),
                               (high, "rt_above_max", f"rt above --rt-max {rt_max:g} s (lapse)")):
        for r in trials[mask].itertuples():
            out.append(_problem(r.file, r.line, "rt", f"{r.rt:g}", reason, kind))
    return trials[~(low | high)].reset_index(drop=True), sorted(out, key=lambda p: (p["file"], p["line"]))


def _typed(trials: pd.DataFrame) -> pd.DataFrame:
    out = trials.copy()
    out["session"] = pd.to_numeric(out["session"], errors="coerce").astype("Int64")
    out["trial"] = pd.to_numeric(out["trial"]).astype(int)
    out["correct"] = pd.to_numeric(out["correct"]).astype(int)
    out["intensity"] = pd.to_numeric(out["intensity"]).astype(int)
    out["rt"] = pd.to_numeric(out["rt"]).astype(float)
    # A column present in some files only is NaN in the others after concat: missing platform = lab.
    out["platform"] = (out["platform"].fillna("").str.lower().replace("", DEFAULT_PLATFORM) if "platform" in out
                       else DEFAULT_PLATFORM)
    out["restarted"] = (pd.to_numeric(out["restarted"], errors="coerce").fillna(0).astype(int)
                        if "restarted" in out else 0)
    out = out.rename(columns={"_file": "file", "_line": "line"})
    return out
