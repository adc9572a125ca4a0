"""argparse types shared by the lab (``experiment.cli``) and online (``experiment.web.cli``) commands.

They live in :mod:`halfface.cli` (one convention for every command); this module keeps the old import path.
"""

from halfface.cli import nonneg_int, positive_int  # noqa: F401


def port(text: str) -> int:
    """A TCP port for ``serve --port``: 1-65535, or 0 for any free one (the socket module would raise OverflowError)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number: give 1-65535, or 0 for any free "
                                         "port") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give a port 1-65535, or 0 for any free port")
    return value
