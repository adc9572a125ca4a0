"""argparse types shared by the lab (``experiment.cli``) and online (``experiment.web.cli``) commands.

They live in :mod:`halfface.cli` (one convention for every command); this module keeps the old import path.
"""

from halfface.cli import nonneg_int, positive_int  # noqa: F401
