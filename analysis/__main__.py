"""`python -m analysis` lists the two commands of this package."""

import sys

USAGE = """usage: python -m analysis.<command> ...

commands:
  report     read session logs, run the paper's tests and the participant-level /
             mixed-model checks, write report.html, results.json, CSVs and PNGs
             e.g.  python -m analysis.report logs/ --out report/ [--exclude-invalid]
  simulate   write realistic synthetic session logs (with JSON sidecars)
             e.g.  python -m analysis.simulate --participants 18 --out logs/ --effect 1 --seed 1

Run `python -m analysis.report --help` or `python -m analysis.simulate --help` for all options.
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print(USAGE)
    # Asking for help is a success; anything else is a usage error.
    return 0 if (not argv or argv[0] in ("-h", "--help")) else 2


if __name__ == "__main__":
    sys.exit(main())
