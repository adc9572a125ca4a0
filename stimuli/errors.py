"""The one exception type for user mistakes (bad labels, missing models, ...).

The CLI prints its message as a single line and exits non-zero; no traceback,
because the fix is on the user's side (STYLE.md: errors name file/row/value).
"""


class StimulusError(Exception):
    """A user-fixable problem; ``str(err)`` is the whole message."""
