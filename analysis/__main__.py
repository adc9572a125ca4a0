"""`python -m analysis` lists the commands of this package, each with an example."""

import sys

from halfface.cli import UserError, run_main

USAGE = """usage: python -m analysis.<command> ...

commands:
  report       read session logs, run the paper's tests and the participant-level /
               mixed-model checks, write report.html, results.json, results.csv, CSVs and PNGs
               e.g.  python -m analysis.report logs/ --out report/ [--exclude-invalid]
  simulate     write realistic synthetic session logs (with JSON sidecars)
               e.g.  python -m analysis.simulate --participants 18 --out logs/ --effect 1 --seed 1
  power        power of the recommended tests for more participants, simulated from pilot logs
               e.g.  python -m analysis.power logs/ --participants 12,18,24,36 --sims 200 --jobs 2
  calibration  type-I error and power of every test of the report on simulated studies
               e.g.  python -m analysis.calibration --datasets 40 --power-datasets 0
  paper        what the paper's reported statistics (§3.1.4) imply, and whether they agree
               e.g.  python -m analysis.paper

Run `python -m analysis.<command> --help` for all options (report, simulate, power, calibration).
"""


@run_main
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print(USAGE)
    # Asking for help is a success; anything else is a usage error.
    if argv and argv[0] not in ("-h", "--help"):
        raise UserError(f"python -m analysis {argv[0]}: a command runs as python -m analysis.<command> (a dot, "
                        "not a space); they are listed above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
