"""Participant IDs, experiment names and the counterbalancing number (pure).

The ID is kept exactly as given (it names the files and fills the
``participant`` column). The counterbalancing number, which picks the
participant's row of every Latin square, is either given (``--cb-number``) or
taken from the digits of the ID (``P07`` -> 7). ``P07`` and ``P007`` both give
7, so the session also refuses a number another participant already used in
the log folder (``logfile.numbers_in_use``); an ID without digits needs an
explicit number, since any number derived from letters would balance nothing.
"""

import re

from halfface.schema import session_date

# Letters, digits, '-' and '_' only: the ID becomes part of a file name in logs/,
# so '/', '..', spaces and the like could escape the folder or confuse a shell.
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGIT_RUN = re.compile(r"\d+")

DEFAULT_EXP_NAME = "halfface"


def validate_participant_id(participant: str) -> str:
    """Return the ID unchanged, or raise ValueError saying what is allowed."""
    if not isinstance(participant, str) or not _ID_PATTERN.fullmatch(participant):
        raise ValueError(
            f"participant ID {participant!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
            "(e.g. P07)"
        )
    return participant


def validate_exp_name(name: str) -> str:
    if not isinstance(name, str) or not _ID_PATTERN.fullmatch(name):
        raise ValueError(f"experiment name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
                         f"(default {DEFAULT_EXP_NAME})")
    return name


def number_from_id(participant: str) -> int | None:
    """The last run of digits in the ID (``P07`` -> 7, ``lab2-012`` -> 12), or None without digits."""
    validate_participant_id(participant)
    runs = _DIGIT_RUN.findall(participant)
    return int(runs[-1]) if runs else None


def counterbalancing_number(participant: str, cb_number: int | None = None) -> int:
    """``cb_number`` when given, else the digits of the ID; ValueError for an ID without digits."""
    if cb_number is not None:
        if not isinstance(cb_number, int) or cb_number < 0:
            raise ValueError(f"counterbalancing number must be an integer >= 0, got {cb_number!r}")
        return cb_number
    number = number_from_id(participant)
    if number is None:
        raise ValueError(f"participant ID {participant!r} has no digits to take the counterbalancing number "
                         "from: use an ID with a number (P07; number participants consecutively) or add "
                         "--cb-number N")
    return number


def date_str(moment) -> str:
    """PsychoPy's ``data.getDateStr()``: ``2026-12-04_23h53.29.396`` (milliseconds, 3 digits)."""
    return session_date(moment)


def exp_start_str(moment) -> str:
    """PsychoPy's ``expInfo['expStart']``: ``2026-12-04 23h53.29.396123 +0800`` (Builder 2023.1 on)."""
    return moment.strftime("%Y-%m-%d %Hh%M.%S.%f %z")


def session_stem(participant: str, exp_name: str, started) -> str:
    """PsychoPy Builder's naming, to the millisecond: ``P07_halfface_2026-11-28_14h03.09.117``.

    ``started`` is the (local, time-zone aware) datetime the session was first
    started; a resumed session keeps the stem of its first start. Earlier
    versions named files to the minute (``P07_halfface_2026-11-28_1403``);
    sessions are found by their sidecar's contents, so both forms are read.
    """
    validate_participant_id(participant)
    validate_exp_name(exp_name)
    return f"{participant}_{exp_name}_{date_str(started)}"

