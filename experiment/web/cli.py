"""The ``web`` and ``serve`` subcommands of ``python -m experiment`` (wired in experiment/cli.py)."""

import argparse
from pathlib import Path

from experiment import design as lab_design
from experiment.conditions import DESIGNS
from experiment.ids import DEFAULT_EXP_NAME
from experiment.session import DEFAULT_MIN_RT_S
from experiment.web import build, npm, server
from experiment.web.rows import ColumnsError
from halfface.cli import nonneg_int, port, positive_int, run_main

EXAMPLE = """example:
  python -m experiment web --conditions stimuli_out/manifest.csv --out site/
  python -m experiment serve site/ --logs logs/            # then open http://127.0.0.1:8000/?participant=P07
  python -m experiment web --conditions stimuli_out/manifest.csv --out site/ --prolific-code C1A2B3C4
      # Prolific study URL: https://your.server/?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}
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
    web.add_argument("--practice", type=nonneg_int, default=None,
                     help="number of practice trials (default: each practice stimulus once)")
    web.add_argument("--min-rt", type=float, default=DEFAULT_MIN_RT_S,
                     help=f"SPACE presses faster than this (s) are ignored and counted (default {DEFAULT_MIN_RT_S})")
    web.add_argument("--blocks", type=positive_int, default=lab_design.DEFAULT_BLOCKS,
                     help=f"photo blocks of the Latin square, as for run (default {lab_design.DEFAULT_BLOCKS})")
    web.add_argument("--cb-numbers", type=positive_int, default=build.DEFAULT_CB_NUMBERS,
                     help=f"orders for counterbalancing numbers 1..N; larger numbers fold into this range "
                          f"(default {build.DEFAULT_CB_NUMBERS})")
    web.add_argument("--sessions", type=positive_int, default=1, help="session numbers 1..S (default 1)")
    web.add_argument("--max-trials", type=positive_int, default=None,
                     help="only the first N trials of each order (pilots, tests)")
    web.add_argument("--break-every", type=nonneg_int, default=build.DEFAULT_BREAK_EVERY,
                     help=f"break screen every N trials, 0: none (default {build.DEFAULT_BREAK_EVERY})")
    web.add_argument("--stim-height-deg", type=float, default=10.0, help="face height in degrees (default 10)")
    web.add_argument("--exp-name", default=DEFAULT_EXP_NAME,
                     help=f"experiment name in log file names (default {DEFAULT_EXP_NAME})")
    web.add_argument("--consent", type=Path, default=None,
                     help="text file shown as the consent screen (default: experiment/web/texts/consent_<lang>.txt)")
    web.add_argument("--debrief", type=Path, default=None,
                     help="text file shown after the last trial (default: experiment/web/texts/debrief_<lang>.txt)")
    web.add_argument("--completion-url", default=None,
                     help="https:// address the page opens once every answer is saved (recruiter's completion link)")
    web.add_argument("--prolific-code", default=None,
                     help="Prolific completion code: the page then opens "
                          "https://app.prolific.com/submissions/complete?cc=CODE at the end")
    web.add_argument("--npm-cache", type=Path, default=None,
                     help=f"where npm installs jsPsych (default {npm.cache_root()}; env HALFFACE_WEB_CACHE)")

    srv = sub.add_parser("serve", help="serve a built site and save each posted trial to LOGS",
                         epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    srv.add_argument("site", type=Path, help="folder written by python -m experiment web")
    srv.add_argument("--logs", required=True, type=Path, help="folder for the session logs")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0: the lab network)")
    srv.add_argument("--port", type=port, default=8000, help="port (default 8000; 0: any free port)")
    srv.add_argument("--quiet", action="store_true", help="do not print each request")
    srv.add_argument("--behind-proxy", metavar="PROXY_IPS", default=None,
                     help="take the client address from X-Forwarded-For sent by these proxy addresses "
                          "(e.g. 127.0.0.1 for nginx on this machine); needed for per-client limits behind a proxy")
    srv.add_argument("--rate-limit", type=float, default=server.Limits.api_per_s,
                     help=f"API requests per second per client (burst x6; default {server.Limits.api_per_s:g})")
    srv.add_argument("--start-limit", type=float, default=server.Limits.starts_per_min,
                     help=f"session starts per minute per client (burst {server.Limits.starts_burst}; "
                          f"default {server.Limits.starts_per_min:g})")


@run_main(also=(npm.NpmError, ColumnsError, ValueError))  # BuildError, ServeError: UserErrors
def main(args) -> int:
    """Run ``web`` or ``serve``; user mistakes are one line on stderr and exit 2."""
    if args.command == "web":
        return cmd_web(args)
    if args.rate_limit <= 0 or args.start_limit <= 0:
        raise server.ServeError("--rate-limit and --start-limit must be positive")
    limits = server.Limits(api_per_s=args.rate_limit, api_burst=max(1, round(6 * args.rate_limit)),
                           starts_per_min=args.start_limit,
                           starts_burst=max(server.Limits.starts_burst, round(args.start_limit)))
    return server.serve(args.site, args.logs, args.host, args.port, args.quiet, limits, args.behind_proxy)


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
                            min_rt_s=args.min_rt, consent=args.consent, debrief=args.debrief,
                            completion=build.completion_url(args.completion_url, args.prolific_code))
    n = len(site["orders"]["1"]["1"]["trials"])
    print(f"site written to {args.out} ({site['design']} design): {len(site['stimuli'])} stimuli, "
          f"{len(site['practice_stimuli'])} practice, "
          f"{n} trials per session, orders for counterbalancing numbers 1-{site['cb_numbers']}, "
          f"jsPsych {site['jspsych']['jspsych']}")
    print(f"try it:  python -m experiment serve {args.out} --logs logs/   "
          "then open http://127.0.0.1:8000/?participant=P01")
    if not site.get("completion_url"):
        print("no --completion-url/--prolific-code: participants see the end screen and are not sent back "
              "to a recruiter")
    return 0
