#!/usr/bin/env python
"""The half-face session, to open in PsychoPy Runner or Coder and start with the green Run button.

Edit the settings below once per lab; every start then asks for the
participant in PsychoPy's dialog (participant, session, age, sex, handedness),
as a Builder experiment does. The same session from a terminal:
``python -m experiment run --conditions MANIFEST`` (see ``--help``). Options
given on this script's command line are passed on and win over the settings.
"""

import sys
from pathlib import Path

# --- settings: plain values, edit them -----------------------------------------------------------
CONDITIONS = ""  # your stimuli manifest.csv (python -m stimuli build); empty: a file dialog asks
LOGS = Path.home() / "halfface_logs"  # where the data go (one CSV + JSON per session)
MONITOR = ""  # a calibration saved in PsychoPy's Monitor Center (Tools > Monitor Center), e.g. "booth1"
INSTRUCTIONS = "en"  # "en", "zh" (shipped) or your own TOML file (copy experiment/instructions/en.toml)
PRACTICE_CONDITIONS = "demo"  # practice stimuli manifest; "demo": the ones built from the demo portrait; "": none
DESIGN = "paper"  # "paper" (§3.1.2) or "crossed" (poser's half x visual field; stimuli built --with-mirrored)
BREAK_EVERY = 35  # a break screen every N trials (0: none)
MORE_OPTIONS = []  # any other option of `python -m experiment run`, e.g. ["--windowed"]
# -------------------------------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path, where its module names
# (run, screen, keys ...) could shadow others; the package is imported as a package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
try:
    import experiment  # noqa: F401  (installed with pip install -e '.[experiment]')
except ImportError:
    sys.path.insert(0, str(HERE.parent))  # a copy of the repository that is not installed

from experiment.cli import main  # noqa: E402


def options(argv) -> list:
    """The command line of ``python -m experiment run`` that these settings stand for."""
    conditions = CONDITIONS or ("" if "--conditions" in argv else ask_for_conditions())
    out = ["run", "--logs", str(LOGS), "--instructions", INSTRUCTIONS, "--design", DESIGN,
           "--break-every", str(BREAK_EVERY)]
    if conditions:
        out += ["--conditions", str(conditions)]
    if MONITOR:
        out += ["--monitor", MONITOR]
    if PRACTICE_CONDITIONS:
        if PRACTICE_CONDITIONS == "demo":
            from stimuli.demo import demo_practice_manifest

            out += ["--practice-conditions", str(demo_practice_manifest())]
        else:
            out += ["--practice-conditions", str(PRACTICE_CONDITIONS)]
    return out + list(MORE_OPTIONS) + list(argv)


def ask_for_conditions() -> str:
    from psychopy import gui

    chosen = gui.fileOpenDlg(prompt="Choose the stimuli manifest.csv", allowed="conditions file (*.csv)")
    if not chosen:
        print("no conditions file chosen; nothing was done", file=sys.stderr)
        sys.exit(4)
    return chosen[0]


if __name__ == "__main__":
    sys.exit(main(options(sys.argv[1:])))
