"""Participant IDs: validation and the participant number used for counterbalancing."""

import re
import zlib

# Letters, digits, '-' and '_' only: the ID becomes part of a file name in logs/,
# so '/', '..', spaces and the like could escape the folder or confuse a shell.
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRAILING_DIGITS = re.compile(r"(\d+)$")


def validate_participant_id(participant: str) -> str:
    """Return the ID unchanged, or raise ValueError saying what is allowed."""
    if not isinstance(participant, str) or not _ID_PATTERN.fullmatch(participant):
        raise ValueError(
            f"participant ID {participant!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
            "(e.g. P07)"
        )
    return participant


def validate_session(session: int) -> int:
    if not isinstance(session, int) or session < 1:
        raise ValueError(f"session must be an integer >= 1, got {session!r}")
    return session


def participant_number(participant: str) -> int:
    """Counterbalancing number of a participant: trailing digits of the ID (P07 -> 7).

    IDs without trailing digits fall back to a CRC32 of the ID, which is stable
    across machines and Python runs (unlike ``hash``) but gives no balance
    guarantee; labs should number participants consecutively.
    """
    validate_participant_id(participant)
    match = _TRAILING_DIGITS.search(participant)
    if match:
        return int(match.group(1))
    return zlib.crc32(participant.encode("utf-8")) % 10000


def session_stem(participant: str, session: int) -> str:
    """File stem shared by the session CSV and its JSON sidecar, e.g. ``P01_s1``."""
    validate_participant_id(participant)
    validate_session(session)
    return f"{participant}_s{session}"
