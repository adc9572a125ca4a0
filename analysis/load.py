"""Read session logs and validate them before any statistic is computed.

A log directory holds one CSV per session, ``<participant>_s<session>.csv``,
with a JSON sidecar of the same stem (``n_trials_planned``, ``completed``).
Every problem is reported with the file, the line number in the file (the
header is line 1, so the first trial is line 2 = data row 1), the value and what
to do. With ``exclude_invalid=True`` the offending rows are dropped instead and
returned as an exclusion table so that the report can list them: nothing is
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

# The minimum; `session` comes from the file name when the column is absent.
REQUIRED_COLUMNS = (
    "participant", "trial", "stimulus", "emotion", "visible_half",
    "response_emotion", "correct", "intensity", "rt",
)
LOG_NAME = re.compile(r"^(?P<participant>.+)_s(?P<session>[1-9][0-9]*)$")
FIX_HINT = "fix the log or rerun with --exclude-invalid to drop such rows (they are listed in the report)"


class LogError(ValueError):
    """A user-facing problem with the logs: one line naming file, row, value and what to do."""


@dataclass
class Logs:
    """Validated trials plus everything the report must disclose about them."""

    trials: pd.DataFrame
    sessions: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _problem(file, line, column, value, reason):
    return {"file": file, "line": int(line), "data_row": int(line) - 1,
            "column": column, "value": "" if value is None else str(value), "reason": reason}


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
    with np.errstate(invalid="ignore"):
        checks = [  # (bad mask, column, reason) in the order problems are listed within a row
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
            (~corr_valid, "correct", lambda r: "correct must be 1 or 0"),
            (corr_valid & emo_ok & resp_ok & (corr != expected), "correct",
             lambda r: (f"disagrees with emotion={r['emotion']} and response_emotion={r['response_emotion']} "
                        f"(expected {int(r['emotion'] == r['response_emotion'])})")),
            (~df["trial"].str.fullmatch(r"[0-9]+").to_numpy(dtype=bool), "trial",
             lambda r: "trial must be a positive integer"),
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
    return meta


def read_session(csv_path: Path) -> tuple[pd.DataFrame, dict]:
    """One session CSV as strings (with its file line numbers) and its session metadata."""
    name = csv_path.name
    match = LOG_NAME.match(csv_path.stem)
    if match is None:
        raise LogError(f"{name}: file name does not match <participant>_s<session>.csv; rename it "
                       "(e.g. P01_s1.csv) or move it out of the log directory")
    try:
        # Blank lines are kept while numbering so that reported line numbers match the file.
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise LogError(f"{name}: file is empty; delete it or restore the session log") from None
    except pd.errors.ParserError as exc:
        raise LogError(f"{name}: cannot be parsed as CSV ({str(exc).strip()}); repair the file") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise LogError(f"{name} line 1 (header): missing column(s) {', '.join(missing)}; "
                       "the log must have the experiment's columns (see docs/analysis.md)")
    df = df.fillna("").apply(lambda s: s.str.strip())
    df["_line"] = np.arange(len(df)) + 2
    df = df[(df[list(REQUIRED_COLUMNS)] != "").any(axis=1)].reset_index(drop=True)
    df["_file"] = name
    if "session" not in df.columns:
        df["session"] = match["session"]
    meta = _read_sidecar(csv_path)
    meta.setdefault("participant", match["participant"])
    meta["session_from_name"] = int(match["session"])
    return df, meta


def _session_row(name, meta, n_rows):
    planned = meta.get("n_trials_planned")
    completed = meta.get("completed")
    reasons = []
    if not meta.get("_has_sidecar"):
        reasons.append("no JSON sidecar: completion unknown")
    if completed is False:
        reasons.append("sidecar says completed: false")
    if isinstance(planned, (int, float)) and n_rows < planned:
        reasons.append(f"{n_rows} of {int(planned)} planned trials")
    return {"file": name, "participant": str(meta.get("participant")), "session": meta["session_from_name"],
            "n_rows": n_rows, "n_trials_planned": planned, "completed": completed,
            "incomplete": completed is False or (isinstance(planned, (int, float)) and n_rows < planned),
            "flag": "; ".join(reasons)}


def load_logs(logdir: str | Path, exclude_invalid: bool = False) -> Logs:
    """Read and validate every ``*_s<N>.csv`` in ``logdir``.

    Raises LogError (one line) on the first problem unless ``exclude_invalid``,
    in which case invalid rows are removed and listed in ``Logs.exclusions``.
    Missing columns and unreadable files are always errors: there is no row to exclude.
    """
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise LogError(f"{logdir}: not a directory; pass the folder that holds the session CSVs")
    paths = sorted(p for p in logdir.glob("*.csv") if p.is_file())
    # The experiment writes <participant>_s<session>_order.csv (the planned trial order) beside
    # each log; it is an audit file, not trials. Any other unexpected CSV is still an error.
    order_files = [p for p in paths if p.stem.endswith("_order")
                   and LOG_NAME.match(p.stem[: -len("_order")])]
    paths = [p for p in paths if p not in order_files]
    if not paths:
        raise LogError(f"{logdir}: no session CSVs (<participant>_s<session>.csv) found; check the path")
    frames, sessions, problems, notes = [], [], [], []
    if order_files:
        notes.append(f"{len(order_files)} trial-order file(s) (*_order.csv) written by the experiment "
                     "were not read as trials")
    for path in paths:
        df, meta = read_session(path)
        meta["_has_sidecar"] = path.with_suffix(".json").exists()
        frames.append(df)
        problems += row_problems(df, path.name)
        sessions.append(_session_row(path.name, meta, len(df)))
    trials = pd.concat(frames, ignore_index=True)
    # Duplicates are checked across files: a session copied under two names is also a duplicate.
    key = ["participant", "session", "trial"]
    dup = trials.duplicated(key, keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        r = trials.iloc[i]
        first = trials[(trials[key] == r[key]).all(axis=1)].iloc[0]
        problems.append(_problem(r["_file"], r["_line"], "trial", r["trial"],
                                 f"duplicate of (participant={r['participant']}, session={r['session']}, "
                                 f"trial={r['trial']}) first seen in {first['_file']} line {first['_line']}"))
    exclusions = pd.DataFrame(problems, columns=["file", "line", "data_row", "column", "value", "reason"])
    if len(exclusions) and not exclude_invalid:
        raise LogError(_format(problems[0], len(problems) - 1))
    if len(exclusions):
        bad = set(zip(exclusions["file"], exclusions["line"]))
        keep = [(f, ln) not in bad for f, ln in zip(trials["_file"], trials["_line"])]
        n_bad_rows = len(trials) - int(np.sum(keep))
        trials = trials[keep].reset_index(drop=True)
        notes.append(f"--exclude-invalid: {n_bad_rows} row(s) excluded for {len(exclusions)} problem(s); "
                     "see the exclusions table")
    trials = _typed(trials)
    if "photo_id" not in trials.columns or (trials["photo_id"] == "").any():
        fallback = "source" if "source" in trials.columns and (trials["source"] != "").all() else "stimulus"
        trials["photo_id"] = trials[fallback]
        notes.append(f"photo_id missing: stimulus random effects use the '{fallback}' column instead")
    sessions = pd.DataFrame(sessions)
    return Logs(trials=trials, sessions=sessions, exclusions=exclusions, notes=notes)


def _typed(trials: pd.DataFrame) -> pd.DataFrame:
    out = trials.copy()
    out["session"] = pd.to_numeric(out["session"], errors="coerce").astype("Int64")
    out["trial"] = pd.to_numeric(out["trial"]).astype(int)
    out["correct"] = pd.to_numeric(out["correct"]).astype(int)
    out["intensity"] = pd.to_numeric(out["intensity"]).astype(int)
    out["rt"] = pd.to_numeric(out["rt"]).astype(float)
    out = out.rename(columns={"_file": "file", "_line": "line"})
    return out
