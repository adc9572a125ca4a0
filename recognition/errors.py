"""The two kinds of failure a user can fix: bad command lines and bad data.

Each is printed by the CLIs as one line (``error: ...``) with exit code 2, never as a traceback.
"""


class UserError(Exception):
    """A mistake in the command line or the inputs; the message names the file/row/value and the fix."""


class DataError(UserError, ValueError):
    """Bad or missing dataset input; the message names the file/row/value and what to do."""


class MissingSplitError(DataError):
    """The dataset has no such split (e.g. RAF-DB has no validation split)."""
