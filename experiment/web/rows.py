"""The online log row: its columns and the checks the server applies to every posted row (pure).

The columns are the lab log's (``halfface.schema.LOG_COLUMNS``, read at build
time) plus what only a browser knows. ``procedure.js`` fills each of them by
name; :data:`FILLED_BY_PROCEDURE` lists the names it knows, so a column added to
the lab log fails the build (and its test) instead of arriving empty.

Cells are written CSV-injection safe (OWASP): a cell that a spreadsheet would
run as a formula gets a leading apostrophe (:func:`neutralise`), and
:func:`raw_value` takes it off again.
"""

import math
import re

from experiment.keys import EMOTION_KEYS, INTENSITY_KEYS
from halfface import schema
from halfface.schema import EMOTIONS, LOG_COLUMNS, SIDES

PLATFORM = "web"
# Columns of the shared lab log that older lab logs lack (the shared decision of this release: reshown,
# expStart); web rows carry them either way, where LOG_COLUMNS puts them once the lab has them.
SHARED_NEW = ("reshown", "expStart")
PROLIFIC = ("prolific_pid", "study_id", "session_id")  # from the link: PROLIFIC_PID, STUDY_ID, SESSION_ID
WEB_EXTRAS = ("browser", "screen_width", "screen_height", "refresh_hz", "refresh_sd_ms", "face_duration",
              "hidden_count", "blur_count", "cb_number", *PROLIFIC)
FILLED_BY_PROCEDURE = frozenset((
    "participant", "session", "trial", "stimulus", "source", "photo_id", "emotion", "visible_half",
    "visible_image_side", "response_emotion", "response_key", "correct", "intensity", "rt", "emotion_rt",
    "intensity_rt", "fixation_frames", "fixation_duration", "stim_onset", "mirrored", "block", "presentation",
    "dropped_frames", "trial_end", "restarted", "early_presses", "date", "expName", "psychopyVersion",
    "frameRate", "platform", *SHARED_NEW,
    *WEB_EXTRAS,
))
# Copied from the planned trial: the server compares them with the build's order.
PLANNED = ("stimulus", "source", "photo_id", "emotion", "visible_half", "visible_image_side", "mirrored",
           "block", "presentation")
SECONDS = ("rt", "emotion_rt", "intensity_rt", "fixation_duration", "face_duration")
MAX_SECONDS = 24 * 3600.0
MAX_TEXT = 512
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ColumnsError(ValueError):
    """The lab log has a column the online procedure does not fill (a developer must add it)."""


def web_columns(log_columns=LOG_COLUMNS) -> tuple:
    """The online log's header: the lab columns in their order, then ``platform`` (if new) and the extras."""
    unknown = [c for c in log_columns if c not in FILLED_BY_PROCEDURE]
    if unknown:
        raise ColumnsError(f"halfface.schema.LOG_COLUMNS has column(s) {', '.join(unknown)} that "
                           "experiment/web/procedure.js does not fill: add them to procedure.js (function "
                           "logRow) and to FILLED_BY_PROCEDURE in experiment/web/rows.py")
    extra = SHARED_NEW + (() if "platform" in log_columns else ("platform",)) + WEB_EXTRAS
    return tuple(log_columns) + tuple(c for c in extra if c not in log_columns)


# OWASP "CSV injection": halfface.schema adds a leading apostrophe to a cell that a spreadsheet would run
# as a formula, and to cells that already start with one, so that taking one apostrophe off any cell that
# starts with it gives back exactly what the browser sent (analysis.load does that for web logs).
FORMULA_START = schema.FORMULA_START
neutralise = schema.neutralise_cell
raw_value = schema.raw_cell


def neutralised_row(row: dict) -> dict:
    return {c: neutralise(v) for c, v in row.items()}


def _number(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(value):
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,9}", value) else None


def row_problems(row, columns, expected) -> list[str]:
    """What is wrong with one posted row, as ``column 'value': reason`` strings (empty: the row is fine).

    ``row`` maps column -> string (the browser sends the exact text of its CSV
    cells, so the server's file and the participant's download are the same
    bytes). ``expected`` holds ``participant``, ``session``, ``trial``, ``expName``
    and the planned trial's :data:`PLANNED` values.
    """
    if not isinstance(row, dict):
        return [f"row must be a JSON object of column -> text, got {type(row).__name__}"]
    problems = [f"missing column {c!r}" for c in columns if c not in row]
    problems += [f"unknown column {c!r}" for c in row if c not in columns]
    if problems:
        return problems
    bad = lambda c, why: problems.append(f"{c} {row[c]!r}: {why}")
    for c in columns:
        if not isinstance(row[c], str):
            problems.append(f"{c}: must be text, got {type(row[c]).__name__}")
        elif len(row[c]) > MAX_TEXT or _CONTROL.search(row[c]):
            problems.append(f"{c}: longer than {MAX_TEXT} characters or contains control characters")
    if problems:
        return problems
    for c in ("participant", "session", "trial", "expName"):
        if c in row and row[c] != str(expected[c]):
            bad(c, f"expected {str(expected[c])!r}")
    for c in PLANNED:
        if c in row and row[c] != str(expected[c]):
            bad(c, f"trial {expected['trial']} of this participant's order has {str(expected[c])!r}")
    if row["platform"] != PLATFORM:
        bad("platform", f"must be {PLATFORM!r}")
    key = row["response_key"]
    if key not in EMOTION_KEYS:
        bad("response_key", f"must be one of {', '.join(EMOTION_KEYS)}")
    elif row["response_emotion"] != EMOTION_KEYS[key]:
        bad("response_emotion", f"key {key} answers {EMOTION_KEYS[key]!r}")
    if row["response_emotion"] not in EMOTIONS:
        bad("response_emotion", f"must be one of {', '.join(EMOTIONS)}")
    elif row["correct"] != str(int(row["response_emotion"] == str(expected["emotion"]))):
        bad("correct", f"must be {int(row['response_emotion'] == str(expected['emotion']))} for "
                       f"emotion={expected['emotion']} and response_emotion={row['response_emotion']}")
    if row["intensity"] not in {str(v) for v in INTENSITY_KEYS.values()}:
        bad("intensity", "must be an integer 1-5")
    for c in SECONDS:
        x = _number(row[c])
        if x is None or not 0 < x < MAX_SECONDS:
            bad(c, "must be a number of seconds > 0")
    x = _number(row["stim_onset"])
    if x is None or not 0 <= x < MAX_SECONDS:
        bad("stim_onset", "must be a number of seconds >= 0")
    for c in ("refresh_hz", "frameRate"):
        if c in row and not (_number(row[c]) or 0) > 0:
            bad(c, "must be a positive number of Hz")
    for c, low in (("fixation_frames", 1), ("dropped_frames", 0), ("restarted", 0), ("early_presses", 0),
                   ("screen_width", 1), ("screen_height", 1), ("hidden_count", 0), ("blur_count", 0),
                   ("cb_number", 1)):
        if c in row and (_int(row[c]) is None or _int(row[c]) < low):
            bad(c, f"must be an integer >= {low}")
    if "reshown" in row and row["reshown"] not in ("0", "1"):
        bad("reshown", "must be 0 or 1")
    if "refresh_sd_ms" in row and (_number(row["refresh_sd_ms"]) is None or _number(row["refresh_sd_ms"]) < 0):
        bad("refresh_sd_ms", "must be a number >= 0")
    for c in PROLIFIC + ("cb_number",):
        if c in row and c in expected and row[c] != str(expected[c]):
            bad(c, f"expected {str(expected[c])!r} (this session's)")
    if not _ISO.fullmatch(row["trial_end"]):
        bad("trial_end", "must be an ISO 8601 time")
    if "visible_half" in row and row["visible_half"] not in SIDES:
        bad("visible_half", "must be left or right")
    return problems
