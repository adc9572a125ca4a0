"""The two kinds of failure a user can fix: bad command lines and bad data.

Each is printed by the CLIs as one line (``error: ...``) with exit code 2, never as a traceback.
"""

from halfface.cli import UserError  # noqa: F401  (the toolkit's one user-error base; re-exported here)


class DataError(UserError, ValueError):
    """Bad or missing dataset input; the message names the file/row/value and what to do."""


class MissingSplitError(DataError):
    """The dataset has no such split (e.g. RAF-DB has no validation split)."""
