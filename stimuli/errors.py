"""The one exception type for user mistakes (bad labels, missing models, ...).

The CLI prints its message as a single line and exits 2 (halfface.cli's convention); no traceback,
because the fix is on the user's side (STYLE.md: errors name file/row/value).
"""

from halfface.cli import UserError


class StimulusError(UserError):
    """A user-fixable problem; ``str(err)`` is the whole message."""
