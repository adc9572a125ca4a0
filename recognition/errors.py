"""Bad dataset input, the recognition package's own kind of user error.

A :class:`halfface.cli.UserError` like every user mistake of the toolkit: printed by the commands as one
line (``error: ...``) with exit code 2, never as a traceback.
"""

from halfface.cli import UserError


class DataError(UserError, ValueError):
    """Bad or missing dataset input; the message names the file/row/value and what to do."""


class MissingSplitError(DataError):
    """The dataset has no such split (e.g. RAF-DB has no validation split)."""
