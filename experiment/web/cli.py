"""The ``web`` and ``serve`` subcommands of ``python -m experiment`` (wired in experiment/cli.py)."""

import argparse
import sys
from pathlib import Path

from experiment import design as lab_design
from experiment.argtypes import nonneg_int as _nonneg_int, positive_int as _positive_int
from experiment.conditions import DESIGNS
from experiment.ids import DEFAULT_EXP_NAME
from experiment.session import DEFAULT_MIN_RT_S
from experiment.web import build, npm, server
from experiment.web.rows import ColumnsError

EXAMPLE = """example:
  python -m experiment web --conditions stimuli_out/manifest.csv --out site/
  python -m experiment serve site/ --logs logs/            # then open http://127.0.0.1:8000/?participant=P07
"""


def add_parsers(sub) -> None:
    web = sub.add_parser("web", help="build the session as a static jsPsych site (online data collection)",
                         epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    web.add_argument("--conditions", required=True, type=Path, help="stimuli manifest.csv (as for run)")
    web.add_argument("--out", required=True, type=Path, help="site folder to write (an earlier build is replaced)")
    web.add_argument("--practice-conditions", type=Path, default=None,
                     help="manifest of separate practice stimuli (never the test photos)")
    web.add_argument("--instructions", default="en",
                     help="screen texts: en, zh (shipped) or a TOML file like experiment/instructions/en.toml, "
                          "as for run; an optional [web] table holds the online-only screens (default en)")
    web.add_argument("--design", choices=DESIGNS, default=lab_design.DEFAULT_DESIGN,
                     help="paper: each photo's two halves; crossed: also mirrored, so poser's half x image side "
                          "(as for run; default paper)")
    web.add_argument("--practice", type=_nonneg_int, default=None,
                     help="number of practice trials (default: each practice stimulus once)")
    web.add_argument("--min-rt", type=float, default=DEFAULT_MIN_RT_S,
                     help=f"SPACE presses faster than this (s) are ignored and counted (default {DEFAULT_MIN_RT_S})")
    web.add_argument("--blocks", type=_positive_int, default=lab_design.DEFAULT_BLOCKS,
                     help=f"photo blocks of the Latin square, as for run (default {lab_design.DEFAULT_BLOCKS})")
    web.add_argument("--cb-numbers", type=_positive_int, default=build.DEFAULT_CB_NUMBERS,
                     help=f"orders for counterbalancing numbers 1..N; larger numbers fold into this range "
                          f"(default {build.DEFAULT_CB_NUMBERS})")
    web.add_argument("--sessions", type=_positive_int, default=1, help="session numbers 1..S (default 1)")
    web.add_argument("--max-trials", type=_positive_int, default=None,
                     help="only the first N trials of each order (pilots, tests)")
    web.add_argument("--break-every", type=_nonneg_int, default=build.DEFAULT_BREAK_EVERY,
                     help=f"break screen every N trials, 0: none (default {build.DEFAULT_BREAK_EVERY})")
    web.add_argument("--stim-height-deg", type=float, default=10.0, help="face height in degrees (default 10)")
    web.add_argument("--exp-name", default=DEFAULT_EXP_NAME,
                     help=f"experiment name in log file names (default {DEFAULT_EXP_NAME})")
    web.add_argument("--npm-cache", type=Path, default=None,
                     help=f"where npm installs jsPsych (default {npm.cache_root()}; env HALFFACE_WEB_CACHE)")

    srv = sub.add_parser("serve", help="serve a built site and save each posted trial to LOGS",
                         epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    srv.add_argument("site", type=Path, help="folder written by python -m experiment web")
    srv.add_argument("--logs", required=True, type=Path, help="folder for the session logs")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0: the lab network)")
    srv.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    srv.add_argument("--quiet", action="store_true", help="do not print each request")


def main(args) -> int:
    """Run ``web`` or ``serve``; user mistakes are one line on stderr and exit 2."""
    try:
        if args.command == "web":
            return cmd_web(args)
        return server.serve(args.site, args.logs, args.host, args.port, args.quiet)
    except (build.BuildError, server.ServeError, npm.NpmError, ColumnsError, ValueError) as err:
        for line in str(err).splitlines() or [type(err).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return 2


def cmd_web(args) -> int:
    if args.stim_height_deg <= 0:
        raise build.BuildError(f"--stim-height-deg must be positive, got {args.stim_height_deg}")
    if args.min_rt < 0:
        raise build.BuildError(f"--min-rt must be >= 0 seconds, got {args.min_rt}")
    site = build.build_site(args.conditions, args.out, practice_conditions=args.practice_conditions,
                            instructions=args.instructions, npm_cache=args.npm_cache, design=args.design,
                            n_practice=args.practice, exp_name=args.exp_name, cb_numbers=args.cb_numbers,
                            sessions=args.sessions, n_blocks=args.blocks, max_trials=args.max_trials,
                            break_every=args.break_every, stim_height_deg=args.stim_height_deg,
                            min_rt_s=args.min_rt)
    n = len(site["orders"]["1"]["1"]["trials"])
    print(f"site written to {args.out} ({site['design']} design): {len(site['stimuli'])} stimuli, "
          f"{len(site['practice_stimuli'])} practice, "
          f"{n} trials per session, orders for counterbalancing numbers 1-{site['cb_numbers']}, "
          f"jsPsych {site['jspsych']['jspsych']}")
    print(f"try it:  python -m experiment serve {args.out} --logs logs/   "
          "then open http://127.0.0.1:8000/?participant=P01")
    return 0
