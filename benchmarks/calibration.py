"""Type-I error and power of every test in the report on simulated null / paper-sized studies.

    python benchmarks/calibration.py --datasets 500 --power-datasets 200 --jobs 2

The simulation and the table live in ``analysis/calibration.py`` (also
``python -m analysis.calibration``); the measured table is in benchmarks/RESULTS.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.calibration import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
