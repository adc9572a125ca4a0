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
in the exclusion table. RT trimming (``rt_min``/``rt_max``) marks trials
(``rt_trimmed``) for the RT analyses only; they are listed the same way, and so are
sessions left out (simulated, a second session, no trials). Anything the analysis
changes or leaves out on its own is also a line in ``Logs.warnings`` (printed on the
console, shown at the top of the report, in results.json): nothing changes silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from halfface import schema
from halfface.cli import UserError
from halfface.schema import EMOTIONS, SIDES

REQUIRED_COLUMNS = schema.REQUIRED_LOG_COLUMNS
# A CSV with at least this many of the required columns is a log with columns missing (an
# error); with fewer it is some other table (a manifest, a questionnaire) and is skipped.
MIN_COLUMNS_OF_A_LOG = 5
# Written by the experiment beside each log: the planned order and the practice answers.
NOT_LOG_SUFFIXES = schema.NOT_LOG_SUFFIXES
OLD_NAME = schema.OLD_SESSION_NAME
# PsychoPy Builder: <participant>_<expName>_<YYYY-MM-DD>_<HHMM | 14h03.46.123>
# (PsychoPy's data file name: %Y-%m-%d_%Hh%M.%S.%f, e.g. P11_halfface_2026-12-04_23h53.29.396)
BUILDER_NAME = schema.SESSION_NAME
# The stimulus file of one half: <photo_id>_visible-left.png (stimuli.photo), <photo_id>_left.png
# (analysis.simulate), with _mirror for the crossed design's mirrored copies.
HALF_SUFFIX = schema.STIMULUS_STEM
POSITIVE_INT = r"0*[1-9][0-9]*"
# Anticipations and lapses (docs/analysis.md, "RT trimming"): Whelan 2008; Ratcliff 1993.
RT_MIN = 0.2
RT_MAX = 10.0
# A median RT above this many "seconds" is a log written in milliseconds.
MS_MEDIAN = 20.0
# A file with more than this share of its trials outside the RT window is named with a likely cause.
TRIMMED_SHARE_WARN = 0.10
SESSION_CHOICES = "all | first | N"
DEFAULT_PLATFORM = "lab"
FIX_HINT = "fix the log or rerun with --exclude-invalid to drop such rows (they are listed in the report)"
EXCLUSION_COLUMNS = ["file", "line", "data_row", "column", "value", "reason", "kind"]


class LogError(UserError, ValueError):
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
    warnings: list[str] = field(default_factory=list)

    @property
    def rt_trials(self) -> pd.DataFrame:
        """The trials the RT analyses use: every analysed trial minus those outside the RT window."""
        return self.trials[~self.trials["rt_trimmed"]] if "rt_trimmed" in self.trials else self.trials


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
        # A 0-byte log is a session that stopped before its first trial was written: listed, not fatal.
        empty = pd.DataFrame(columns=list(REQUIRED_COLUMNS), dtype=str)
        empty.attrs["empty_file"] = True
        return empty
    except pd.errors.ParserError as exc:
        raise LogError(f"{name}: cannot be parsed as CSV ({str(exc).strip()}); repair the file") from None
    except UnicodeDecodeError:
        raise LogError(f"{name}: not UTF-8 text; save it as CSV UTF-8 or move it out of the log folder") from None
    df.columns = [str(c).strip() for c in df.columns]
    if "platform" in df.columns:
        web = (df["platform"].str.strip().str.lower() == "web").to_numpy()
        if web.any():
            # The online server writes a text cell that a spreadsheet would run as a formula (e.g. an ID
            # such as -abc) with one leading apostrophe (halfface.schema.neutralise_cell); take it off.
            df.loc[web] = df.loc[web].map(schema.raw_cell)
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
        seconds = int(((rt > 0) & (rt <= MS_MEDIAN)).sum())
        if seconds:
            # Dividing the whole column would corrupt the rows that are already in seconds.
            raise LogError(f"{name}: median rt is {med:g}, which looks like milliseconds, but {seconds} of "
                           f"{int((rt > 0).sum())} rts look like seconds: the file mixes units; convert only "
                           "the rows in milliseconds (rt, emotion_rt, intensity_rt / 1000) and rerun")
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
        # A browser's frame timing and key timestamps are not checked by the experiment the way the lab's
        # display is: the same caveat as an unverified lab display, under its own name.
        browser = "web" in platforms
        if browser:
            reasons.append("browser timing, not verified (web session)")
        restarted = pd.to_numeric(g["restarted"], errors="coerce").fillna(0) if "restarted" in g else pd.Series(0)
        rows.append({"file": name, "participant": str(pid),
                     "session": int(sess) if re.fullmatch(POSITIVE_INT, sess) else sess,
                     "platform": "+".join(platforms), "n_rows": n, "n_trials_planned": planned,
                     "completed": completed,
                     "incomplete": completed is False or (isinstance(planned, (int, float)) and n < planned),
                     "simulated": bool(meta.get("simulated")), "unverified_timing": unlocked,
                     "browser_timing": browser,
                     "design": meta.get("design", ""), "n_restarted": int((restarted > 0).sum()),
                     "n_reshown": int((pd.to_numeric(g["reshown"], errors="coerce").fillna(0) > 0).sum())
                     if "reshown" in g else 0,
                     "flag": "; ".join(reasons)})
    return rows


def load_logs(logdir: str | Path, exclude_invalid: bool = False, include_simulated: bool = False,
              rt_min: float = RT_MIN, rt_max: float = RT_MAX, sessions: str = "first",
              exclude_reshown: bool = False) -> Logs:
    """Read and validate every session CSV in ``logdir``.

    Raises LogError (one line) on the first problem unless ``exclude_invalid``,
    in which case invalid rows are removed and listed in ``Logs.exclusions``.
    Missing columns, unreadable files, millisecond RTs, file names that
    contradict their participant column, a session identical to another one and a
    missing ``photo_id`` that the stimulus names cannot restore are always errors:
    no row-wise exclusion fixes them. Valid trials with ``rt`` outside [rt_min,
    rt_max] seconds are kept, marked ``rt_trimmed`` (the RT analyses leave them
    out; intensity and accuracy keep every answered trial) and listed (kind
    'rt_below_min'/'rt_above_max'). ``sessions`` picks, per participant, the
    session(s) analysed: "first" (the lowest-numbered, normally 1), "all", or a
    session number. Sessions whose sidecar says ``simulated: true`` are left out
    unless ``include_simulated``; ``exclude_reshown`` drops trials shown again after
    a stopped session (``reshown`` = 1). Everything left out is in ``Logs.left_out``
    or ``Logs.exclusions`` and named in ``Logs.warnings``.
    """
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise LogError(f"{logdir}: not a directory; pass the folder that holds the session CSVs")
    if not (0 <= rt_min < rt_max):
        raise LogError(f"--rt-min {rt_min:g} / --rt-max {rt_max:g}: need 0 <= rt-min < rt-max (seconds)")
    sessions = parse_sessions(sessions)
    paths = sorted(p for p in logdir.glob("*.csv") if p.is_file())
    companions = [p for p in paths if p.stem.endswith(NOT_LOG_SUFFIXES)]
    frames, session_rows, problems, notes, left_out, skipped, warns = [], [], [], [], [], [], []
    if companions:
        notes.append(f"{len(companions)} order/practice file(s) written by the experiment were not read as trials: "
                     + ", ".join(p.name for p in companions))
    for path in (p for p in paths if p not in companions):
        df = _read_table(path)
        if df is None:
            skipped.append(path.name)
            continue
        empty_file = bool(df.attrs.get("empty_file"))
        meta = _read_sidecar(path)
        df = df.fillna("").apply(lambda s: s.str.strip())
        df["_line"] = np.arange(len(df)) + 2
        df = df[(df[list(REQUIRED_COLUMNS)] != "").any(axis=1)].reset_index(drop=True)
        if df.empty:
            what = "empty file (0 bytes)" if empty_file else "header only, no trials"
            left_out.append({"file": path.name, "participant": str(meta.get("participant", "")),
                             "session": meta.get("session", ""), "n_rows": 0, "reason": what})
            continue
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
        session_rows += _session_rows(df, path.name, meta)
    if skipped:
        notes.append(f"{len(skipped)} CSV file(s) without the session-log columns were not read: "
                     + ", ".join(skipped))
    simulated = [r for r in left_out if r["reason"].startswith("simulated")]
    if simulated:
        notes.append(f"{len(simulated)} simulated session(s) left out (sidecar says simulated: true; "
                     "--include-simulated analyses them): " + ", ".join(r["file"] for r in simulated))
    no_trials = [r for r in left_out if r["n_rows"] == 0]
    if no_trials:
        warns.append(f"{len(no_trials)} log(s) without any trial, not analysed (a session that stopped before its "
                     "first trial was saved?): " + ", ".join(f"{r['file']} ({r['reason']})" for r in no_trials))
    if not frames:
        if simulated:
            raise LogError(f"{logdir}: all {len(simulated)} session(s) are simulated (sidecar says simulated: true); "
                           "rerun with --include-simulated to analyse them")
        if no_trials:
            raise LogError(f"{logdir}: no log has any trial ({', '.join(r['file'] for r in no_trials)}); "
                           "restore the session logs")
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
    _refuse_identical_sessions(trials)
    session_table = pd.DataFrame(session_rows)
    trials, session_table, chosen_out, chosen_warn = select_sessions(trials, session_table, sessions)
    left_out += chosen_out
    warns += chosen_warn
    reshown_out: list[dict] = []
    if exclude_reshown and trials["reshown"].any():
        gone = trials[trials["reshown"] > 0]
        reshown_out = [_problem(r.file, r.line, "reshown", 1, "shown again after a stopped session "
                                "(--exclude-reshown)", "reshown") for r in gone.itertuples()]
        trials = trials[trials["reshown"] == 0].reset_index(drop=True)
        warns.append(f"--exclude-reshown: {len(gone)} trial(s) shown again after a stopped session were left out "
                     f"of every analysis ({', '.join(sorted(set(gone['file'])))})")
    trials, photo_note = restore_photo_id(trials)
    if photo_note:
        warns.append(photo_note)
    trials["rt_trimmed"] = (trials["rt"] < rt_min) | (trials["rt"] > rt_max)
    trimmed = trim_rt(trials, rt_min, rt_max)[1]
    if trimmed:
        notes.append(f"RT trimming: {len(trimmed)} trial(s) with rt outside [{rt_min:g}, {rt_max:g}] s left out of the "
                     "RT analyses only (--rt-min/--rt-max); intensity and accuracy keep them; listed in the "
                     "exclusions table")
    warns += trimmed_share_warnings(trials, rt_min, rt_max)
    exclusions = pd.DataFrame(problems + reshown_out + trimmed, columns=EXCLUSION_COLUMNS)
    return Logs(trials=trials, sessions=session_table, exclusions=exclusions, notes=notes,
                left_out=pd.DataFrame(left_out, columns=["file", "participant", "session", "n_rows", "reason"]),
                settings={"rt_min": rt_min, "rt_max": rt_max, "include_simulated": include_simulated,
                          "exclude_invalid": exclude_invalid, "sessions": sessions,
                          "exclude_reshown": exclude_reshown},
                warnings=warns)


def parse_sessions(value) -> str | int:
    """``--sessions``: 'first', 'all' or a session number >= 1 (returned as int)."""
    text = str(value).strip().lower()
    if text in ("first", "all"):
        return text
    if re.fullmatch(POSITIVE_INT, text):
        return int(text)
    raise LogError(f"--sessions {value}: expected {SESSION_CHOICES} (e.g. --sessions first)")


def _refuse_identical_sessions(trials: pd.DataFrame) -> None:
    """A session whose trials equal another session's trial for trial is a copied file: refuse.

    Equal stimuli, answers, ratings and RTs to the 4th decimal over a whole session
    cannot happen by chance; analysing both would count one person's data twice.
    """
    cols = [c for c in ("trial", "stimulus", "response_emotion", "intensity", "rt") if c in trials]
    seen: dict[int, tuple] = {}
    for (pid, sess), g in trials.groupby(["participant", "session"], sort=True):
        sig = pd.util.hash_pandas_object(g[cols].sort_values("trial").round({"rt": 4}), index=False)
        key = hash(tuple(sig))
        if key in seen:
            p0, s0, f0 = seen[key]
            raise LogError(f"{', '.join(sorted(set(g['file'])))}: participant {pid} session {sess} is identical, trial "
                           f"for trial, to participant {p0} session {s0} in {f0} (a copied log); delete the copy "
                           "and rerun")
        seen[key] = (pid, sess, ", ".join(sorted(set(g["file"]))))


def select_sessions(trials: pd.DataFrame, sessions: pd.DataFrame, which: str | int):
    """Keep each participant's chosen session(s): 'first' (lowest number), 'all', or session N.

    Returns (trials, sessions table, left-out rows, warnings). A second session
    repeats the same photos, so pooling it changes what a participant's mean is;
    by default only the first is analysed and the rest are listed.
    """
    per = trials.groupby("participant")["session"].agg(lambda s: sorted(set(s.dropna().astype(int))))
    multi = per[per.map(len) > 1]
    if which == "all":
        warn = ([f"--sessions all: {len(multi)} participant(s) with several sessions are analysed with their "
                 "sessions pooled: " + ", ".join(f"{p} (sessions {', '.join(map(str, s))})" for p, s in multi.items())]
                if len(multi) else [])
        return trials, sessions, [], warn
    keep = per.map(lambda s: s[0]) if which == "first" else per.map(lambda s: which if which in s else None)
    chosen = trials["participant"].map(keep)
    mask = trials["session"].astype(float).to_numpy() == chosen.astype(float).to_numpy()
    gone = trials[~mask]
    if gone.empty:
        return trials, sessions, [], []
    rule = ("--sessions first analyses each participant's first session; --sessions all pools them"
            if which == "first" else f"--sessions {which} analyses session {which} only")
    out = [{"file": f, "participant": p, "session": int(s), "n_rows": int(len(g)),
            "reason": f"not the session analysed ({rule})"}
           for (f, p, s), g in gone.groupby(["file", "participant", "session"], sort=True)]
    without = sorted(set(gone["participant"]) - set(trials.loc[mask, "participant"]))
    warn = [f"{len(out)} session(s) not analysed ({rule}): "
            + ", ".join(f"{r['file']} ({r['participant']} session {r['session']}, {r['n_rows']} trials)" for r in out)]
    if without:
        warn.append(f"participant(s) without session {which}, not analysed at all: {', '.join(without)}")
    if not mask.any():
        raise LogError(f"--sessions {which}: no participant has that session; use --sessions first or all")
    kept_files = set(trials.loc[mask, "file"])
    sess_key = set(zip(trials.loc[mask, "file"], trials.loc[mask, "participant"], trials.loc[mask, "session"]))
    if len(sessions):
        rows = [(f, p, s) in sess_key and f in kept_files
                for f, p, s in zip(sessions["file"], sessions["participant"], sessions["session"])]
        sessions = sessions[rows].reset_index(drop=True)
    return trials[mask].reset_index(drop=True), sessions, out, warn


def restore_photo_id(trials: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Fill a missing or empty ``photo_id`` from the stimulus name (``hap03_visible-left.png`` -> ``hap03``).

    The photo is the random factor of the mixed models: its two halves are one
    photo, so using the stimulus (one per half) instead would double the photos
    and make the photo side slope inestimable. The name is used only when every
    affected stimulus ends in the row's own half and each restored photo has one
    emotion; otherwise LogError.
    """
    col = trials["photo_id"] if "photo_id" in trials else pd.Series("", index=trials.index)
    missing = col.isna() | (col.astype(str).str.strip() == "")
    if not missing.any():
        return trials, None
    out = trials.copy()
    rows = out[missing]
    stems = rows["stimulus"].astype(str).str.replace("\\", "/", regex=False).str.rsplit("/", n=1).str[-1]
    stems = stems.str.replace(r"\.[A-Za-z0-9]+$", "", regex=True)
    m = stems.str.extract(HALF_SUFFIX)
    ok = m["photo"].notna() & (m["half"] == rows["visible_half"])
    files = ", ".join(sorted(set(rows["file"])))
    if not ok.all():
        bad = rows[~ok].iloc[0]
        raise LogError(f"{bad['file']} line {bad['line']}: no photo_id, and the stimulus name {bad['stimulus']!r} does "
                       "not end in its visible half (_left/_right), so the photo cannot be restored; add a photo_id "
                       "column (the photo both halves come from) and rerun")
    out.loc[missing, "photo_id"] = m["photo"].to_numpy()
    emotions = out.loc[missing].groupby("photo_id")["emotion"].nunique()
    if (emotions > 1).any():
        ph = emotions[emotions > 1].index[0]
        raise LogError(f"{files}: no photo_id, and the photo {ph!r} restored from the stimulus names has several "
                       "emotions, so the names are ambiguous; add a photo_id column and rerun")
    n_photos = out.loc[missing, "photo_id"].nunique()
    return out, (f"{_where_photo_id_missing(trials, missing)}: photo_id restored from the stimulus names by "
                 f"removing the half suffix ({int(missing.sum())} trials, {n_photos} photos); check that these are the photos")


def _where_photo_id_missing(trials: pd.DataFrame, missing: pd.Series) -> str:
    """'no photo_id in a.csv, b.csv; photo_id empty in 3 of 140 rows of c.csv' (files read together share
    one table, so a file without the column shows up as a file whose every row is empty)."""
    if "photo_id" not in trials:
        return f"no photo_id column ({', '.join(sorted(set(trials['file'])))})"
    whole, some = [], []
    for f, m in missing.groupby(trials["file"], sort=True):
        if m.all():
            whole.append(f)
        elif m.any():
            some.append(f"{int(m.sum())} of {len(m)} rows of {f}")
    parts = ([f"no photo_id in {', '.join(whole)}"] if whole else []) + (
        [f"photo_id empty in {'; '.join(some)}"] if some else [])
    return "; ".join(parts)


def trimmed_share_warnings(trials: pd.DataFrame, rt_min: float, rt_max: float) -> list[str]:
    """One warning per file with more than TRIMMED_SHARE_WARN of its trials outside the RT window."""
    out = []
    for f, g in trials.groupby("file", sort=True):
        low, high = g["rt"] < rt_min, g["rt"] > rt_max
        share = (low | high).mean()
        if share <= TRIMMED_SHARE_WARN:
            continue
        if high.sum() >= low.sum():
            cause = ("these rows look like milliseconds (median of the long RTs "
                     f"{g.loc[high, 'rt'].median():g}); convert them to seconds" if g.loc[high, "rt"].median() > 100
                     else "long pauses: was the participant interrupted, or is rt measured from the wrong onset?")
        else:
            cause = "anticipations: a key held down or stuck, or rt measured from the wrong onset?"
        out.append(f"{f}: {int((low | high).sum())} of {len(g)} trials ({share:.0%}) are outside the RT window "
                   f"[{rt_min:g}, {rt_max:g}] s ({int(low.sum())} below, {int(high.sum())} above) and left out of "
                   f"the RT analyses; likely cause: {cause}")
    return out


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
    face (Whelan 2008). ``load_logs`` keeps these trials (marked ``rt_trimmed``)
    for intensity and accuracy: a slow or fast answer is still an answer, and the
    paper's intensity test used all 2,520 trials (df 2517.15).
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
    # Trials shown again after a stopped session (crash, Escape, closed tab); logs before the column = 0.
    out["reshown"] = (pd.to_numeric(out["reshown"], errors="coerce").fillna(0).astype(int)
                      if "reshown" in out else 0)
    out = out.rename(columns={"_file": "file", "_line": "line"})
    return out
