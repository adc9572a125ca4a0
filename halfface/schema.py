"""What passes between the packages: emotions, sides, the manifest and log columns, booleans, file names.

The single definition of the data the four packages hand to each other (docs/architecture.md):

    stimuli ──manifest.csv──▶ experiment ──session logs──▶ analysis
       └──────────manifest.csv──────────▶ recognition

Standard library only, and no import of any toolkit package, so the bare-torch training machine
(``recognition``) and every test fixture can import it. Every package and test imports these values
from here (no package keeps an alias of its own), so a value is changed here and nowhere else.
"""
from __future__ import annotations

import re

# --- emotions and sides -----------------------------------------------------------------------------------

# The HSAW paper's seven categories (Huang & Yang 2024, §3.1.1) in the order of the experiment's number
# keys: key 1 answers happiness, key 7 others.
EMOTIONS = ("happiness", "fear", "anger", "disgust", "sadness", "surprise", "others")
EMOTION_KEYS = {str(k): emotion for k, emotion in enumerate(EMOTIONS, start=1)}

# §3.1.4: the positive vs negative comparison; surprise and others are in neither group.
POSITIVE_EMOTIONS = ("happiness",)
NEGATIVE_EMOTIONS = ("fear", "disgust", "sadness", "anger")

# visible_half: the poser's own (anatomical) side that stays visible; visible_image_side: where that half
# lies in the picture as shown (a non-mirrored photo shows the poser's left half on the image's right).
SIDES = ("left", "right")

GENDERS = ("female", "male", "unknown")

# --- manifest.csv: the stimuli builder's output, the experiment's PsychoPy conditions file ----------------

MANIFEST_COLUMNS = (
    "stimulus",            # PNG path relative to manifest.csv's folder
    "source",              # photo file name as given in LABELS.csv
    "photo_id",
    "emotion",
    "gender",
    "identity",
    "visible_half",        # poser's own side left visible
    "visible_image_side",  # where that half is in the image as shown
    "midline_x",           # pixel column of the split in the stimulus
    "mirrored",            # 1 if the photo was mirrored
    "landmarks_file",      # relative path: 68 points in photo and stimulus pixels
    "detector",
    "mirror_copy",         # 1: the builder's left-right mirror image of a half-face (--with-mirrored)
)

# --- session logs: written by the lab (experiment) and the online version (experiment/web), read by analysis

# A trial's own columns: what every log writer fills, analysis.simulate's logs included.
TRIAL_COLUMNS = (
    "participant", "session", "trial", "stimulus", "source", "photo_id", "emotion", "visible_half",
    "visible_image_side", "response_emotion", "response_key", "correct", "intensity", "rt",
    "emotion_rt", "intensity_rt", "fixation_frames", "fixation_duration", "stim_onset",
)
# Shared session-log format: these columns first, in this order.
LOG_COLUMNS = TRIAL_COLUMNS + (
    # extras
    "mirrored", "block", "presentation", "dropped_frames", "trial_end",
    # restarted: declined Escapes in this trial (0 normally; see docs/experiment.md);
    # early_presses: SPACE presses faster than the minimum RT, ignored
    "restarted", "early_presses",
    # PsychoPy Builder's standard columns, the same in every row of a run
    "date", "expName", "psychopyVersion", "frameRate", "platform",
)
# The lab log's own columns after the shared ones. reshown: 1 on a trial that was on screen when a
# session stopped (crash, kill -9, Escape) and is shown again on resume (old logs: read as 0);
# expStart: PsychoPy's expInfo['expStart'], the session's first start (docs/builder_columns.md).
LAB_COLUMNS = LOG_COLUMNS + ("reshown", "expStart")
# What analysis cannot do without (a log missing one of these is an error, not a warning).
REQUIRED_LOG_COLUMNS = (
    "participant", "trial", "stimulus", "emotion", "visible_half",
    "response_emotion", "correct", "intensity", "rt",
)

# --- booleans in CSV cells ---------------------------------------------------------------------------------

TRUE_VALUES = ("1", "true", "yes", "y")
FALSE_VALUES = ("0", "false", "no", "n", "")


def parse_bool(value, default: bool = False) -> bool:
    """A CSV cell as a boolean: 1/true/yes/y and 0/false/no/n (any case, spaces ignored).

    An empty cell or None is ``default``. Anything else is a ValueError naming the value, because a
    guess (``"2"`` read as false in one package and true in another) silently changes which rows are used.
    """
    if value is None or isinstance(value, bool):
        return default if value is None else value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text == "":
        return default
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ValueError(f"{value!r} is not a yes/no value: use 1 or 0 (true/false, yes/no also work)")


# --- spreadsheet-safe cells (web logs) -------------------------------------------------------------------

# A CSV cell that starts with one of these is run as a formula by Excel/LibreOffice (OWASP "CSV
# injection"); the online server writes such text cells with one leading apostrophe, and readers of web
# logs (analysis.load) take it off again with raw_cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise_cell(value: str) -> str:
    """``value`` safe to open in a spreadsheet (a negative plain number such as ``-0.5`` stays as it is)."""
    if value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def raw_cell(cell: str) -> str:
    """What was sent for a cell written by :func:`neutralise_cell`."""
    return cell[1:] if cell.startswith("'") else cell


# --- file names ----------------------------------------------------------------------------------------------

# Session files: PsychoPy Builder's <participant>_<expName>_<date>, with the date as PsychoPy's
# data.getDateStr() writes it, to the millisecond (P11_halfface_2026-12-04_23h53.29.396; strftime gives
# microseconds, so cut the last three digits), and the earlier minute form (P11_halfface_2026-12-04_2353).
SESSION_DATE_FORMAT = "%Y-%m-%d_%Hh%M.%S.%f"
OLD_SESSION_DATE_FORMAT = "%Y-%m-%d_%H%M"
SESSION_NAME = re.compile(
    r"^(?P<head>.+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}h?\d{2}(?:\.\d{2}(?:\.\d+)?)?)$")
# Before the Builder names: <participant>_s<session>.
OLD_SESSION_NAME = re.compile(r"^(?P<participant>.+)_s(?P<session>[1-9][0-9]*)$")
# Files written beside each log that are not logs: the planned order and the practice answers.
NOT_LOG_SUFFIXES = ("_order", "_practice")


def session_date(moment) -> str:
    """``2026-12-04_23h53.29.396``: PsychoPy's ``data.getDateStr()`` of a datetime (milliseconds, 3 digits)."""
    return moment.strftime(SESSION_DATE_FORMAT)[:-3]


def session_stem(participant: str, exp_name: str, moment) -> str:
    """``P11_halfface_2026-12-04_23h53.29.396``: a session's file name without suffix."""
    return f"{participant}_{exp_name}_{session_date(moment)}"


# Stimuli: <photo_id>_visible-<half>.png, and <photo_id>_visible-<half>_mirror.png for the builder's
# mirror copies (--with-mirrored). STIMULUS_STEM also reads the simulator's <photo_id>_<half> and an
# older _mirrored suffix, so analysis can recover photo_id and the half from any log's stimulus column.
STIMULUS_DIR = "stimuli"
STIMULUS_STEM = re.compile(r"^(?P<photo>.+?)_(?:visible-)?(?P<half>left|right)(?:_mirror(?:ed)?)?$")


def stimulus_name(photo_id: str, half: str, mirror_copy: bool = False) -> str:
    """``hap03_visible-left.png`` (``hap03_visible-left_mirror.png`` for a mirror copy)."""
    if half not in SIDES:
        raise ValueError(f"half must be 'left' or 'right', got {half!r}")
    return f"{photo_id}_visible-{half}{'_mirror' if mirror_copy else ''}.png"
