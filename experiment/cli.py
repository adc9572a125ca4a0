"""Command line: ``python -m experiment run | order | audit | check-display | web | serve``.

User mistakes and refused displays end with one line on stderr and exit code
2; a session ended with Escape exits 3 (data kept, resumable); Cancel in the
participant dialog exits 4 (nothing written); Ctrl-C exits 130 (answers kept);
0 means the session is complete (or, for check-display, that the display passed).
"""

import argparse
import os
import sys
from pathlib import Path

from experiment import design, ids, logfile
from experiment.conditions import DESIGNS, load_conditions
from experiment.monitor import DEFAULT_DISTANCE_CM, require_display
from experiment.run import EXIT_CANCELLED, EXIT_OK, ParticipantError, cmd_run
from experiment.session import DEFAULT_MIN_RT_S
from experiment.web import cli as web_cli
from halfface.cli import nonneg_int, positive_int, run_main

EXAMPLE = """example:
  python -m experiment run --conditions stimuli_out/manifest.csv        # a dialog asks for the participant
  python -m experiment run --participant P07 --conditions stimuli_out/manifest.csv --logs logs/ \\
      --monitor booth1 --practice-conditions practice/manifest.csv --instructions zh
  python -m experiment run --participant P07 --conditions stimuli_out/manifest.csv --logs logs/ --resume
  python -m experiment run --participant demo1 --conditions stimuli_out/manifest.csv --logs logs/ \\
      --windowed --simulate --max-trials 30 --allow-unlocked-display
  python -m experiment order --participant P07 --conditions stimuli_out/manifest.csv
  python -m experiment audit --conditions stimuli_out/manifest.csv --participants 24 --out audit/
  python -m experiment check-display --monitor booth1 --out display_check/
"""


def _nonneg_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _add_design_options(p, participant_required):
    p.add_argument("--participant", required=participant_required, default=None,
                   help="participant ID, kept as given: letters, digits, '-', '_' (e.g. P07)"
                        + ("" if participant_required else "; without it a dialog asks for it"))
    p.add_argument("--conditions", required=True, type=Path, help="stimuli manifest.csv (conditions file)")
    p.add_argument("--session", type=positive_int, default=1, help="session number (default 1)")
    p.add_argument("--blocks", type=positive_int, default=design.DEFAULT_BLOCKS,
                   help=f"photo blocks ordered by a balanced Latin square (default {design.DEFAULT_BLOCKS})")
    p.add_argument("--cb-number", type=nonneg_int, default=None,
                   help="counterbalancing number (default: the digits of the ID, P07 -> 7; needed for IDs "
                        "without digits, and to reuse a number another participant has)")
    p.add_argument("--design", choices=DESIGNS, default=design.DEFAULT_DESIGN,
                   help="paper: each half as photographed (default); crossed: each half on both image sides "
                        "(needs stimuli built with --with-mirrored)")


def _add_monitor_options(p):
    mon = p.add_argument_group("monitor (sizes are in degrees of visual angle)")
    mon.add_argument("--monitor", default=None, metavar="NAME",
                     help="a calibration saved in PsychoPy's Monitor Center (width, distance, resolution, gamma)")
    mon.add_argument("--config", type=Path, default=None,
                     help='monitor JSON: {"name", "width_cm", "distance_cm", "resolution_px": [w, h], "gamma"}')
    mon.add_argument("--monitor-width-cm", type=float, default=None, help="visible screen width in cm")
    mon.add_argument("--distance-cm", type=float, default=None,
                     help=f"eye-screen distance (default {DEFAULT_DISTANCE_CM:g}, §3.1.2)")
    mon.add_argument("--screen-size", default=None, help="screen resolution WxH (default: detected)")
    mon.add_argument("--screen", type=nonneg_int, default=0, help="screen number for the window (default 0)")
    mon.add_argument("--gamma", default=None, type=float, help="monitor gamma (default: Monitor Center's or none)")
    mon.add_argument("--windowed", action="store_true", help="window instead of full screen (piloting)")
    mon.add_argument("--allow-unlocked-display", action="store_true",
                     help="run although the display's timing is not verified (demos, virtual displays such as "
                          "Xvfb); recorded in the sidecar and shown in the analysis report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiment",
        description="Half-face emotion experiment (HSAW paper §3.1.2-3.1.3) in PsychoPy.",
        epilog=EXAMPLE + web_cli.EXAMPLE.removeprefix("example:\n"), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a session", epilog=EXAMPLE,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_design_options(run, participant_required=False)
    run.add_argument("--logs", type=Path, default=Path("logs"), help="folder for the session files (default logs)")
    run.add_argument("--exp-name", default=ids.DEFAULT_EXP_NAME,
                     help=f"experiment name in file names and the expName column (default {ids.DEFAULT_EXP_NAME})")
    run.add_argument("--resume", action="store_true",
                     help="continue an interrupted session, same order (the trial on screen when it stopped is "
                          "shown again with reshown=1)")
    run.add_argument("--allow-network-logs", action="store_true",
                     help="accept a --logs folder on a network file system (NFS, SMB...); by default refused")
    run.add_argument("--instructions", default="en",
                     help="screen texts: en or zh (shipped), or a TOML file like experiment/instructions/en.toml")
    run.add_argument("--no-instructions", action="store_true", help="skip the instructions screen")
    run.add_argument("--max-trials", type=positive_int, default=None,
                     help="plan only the first N trials of the order (pilots, demos)")
    run.add_argument("--practice-conditions", type=Path, default=None,
                     help="manifest of separate practice stimuli (never the test photos); answers go to "
                          "<stem>_practice.csv")
    run.add_argument("--practice", type=nonneg_int, default=None,
                     help="number of practice trials (default: each practice stimulus once)")
    run.add_argument("--break-every", type=nonneg_int, default=0, help="break screen every N trials (0: none)")
    run.add_argument("--min-rt", type=_nonneg_float, default=DEFAULT_MIN_RT_S,
                     help=f"SPACE presses faster than this (s) are ignored and counted (default {DEFAULT_MIN_RT_S})")
    run.add_argument("--background", default="black", help="background colour, a PsychoPy name or #rrggbb "
                                                            "(default black)")
    run.add_argument("--stim-height-deg", type=float, default=10.0, help="face height in degrees (default 10)")
    run.add_argument("--age", type=positive_int, default=None)
    run.add_argument("--sex", choices=["female", "male", "other", "undisclosed"], default=None)
    run.add_argument("--handedness", choices=["left", "right", "ambidextrous"], default=None)
    _add_monitor_options(run)
    sim = run.add_argument_group("simulated participant")
    sim.add_argument("--simulate", action="store_true", help="an automated participant answers (pilots, demos)")
    sim.add_argument("--sim-accuracy", type=float, default=0.7, help="P(correct emotion) (default 0.7)")
    sim.add_argument("--sim-rt-mean", type=float, default=0.35, help="mean RT in s, lognormal (default 0.35)")
    sim.add_argument("--sim-rt-sd", type=float, default=0.1, help="RT sd in s (default 0.1)")
    sim.add_argument("--sim-seed", type=int, default=None, help="default: derived from the participant number")
    dev = run.add_argument_group("automation")
    dev.add_argument("--screenshots", type=Path, default=None, help="save the first showing of each screen as PNGs")
    dev.add_argument("--events-file", type=Path, default=None,
                     help="append one JSON line per screen onset and saved trial (monitoring, tests)")

    order = sub.add_parser("order", help="print the counterbalanced order of a participant (no window)",
                           epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_design_options(order, participant_required=True)

    audit = sub.add_parser("audit", help="tabulate the counterbalancing of participants 1..N (no window)",
                           epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    audit.add_argument("--conditions", required=True, type=Path, help="stimuli manifest.csv (conditions file)")
    audit.add_argument("--participants", required=True, type=positive_int,
                       help="audit counterbalancing numbers 1..N (P01..PN)")
    audit.add_argument("--design", choices=DESIGNS, default=design.DEFAULT_DESIGN, help="paper (default) or crossed")
    audit.add_argument("--blocks", type=positive_int, default=design.DEFAULT_BLOCKS,
                       help=f"photo blocks, as for run (default {design.DEFAULT_BLOCKS})")
    audit.add_argument("--session", type=positive_int, default=1, help="session number (default 1)")
    audit.add_argument("--out", type=Path, default=None,
                       help="folder for the tables (CSV) and summary.txt; without it only the summary is printed")

    check = sub.add_parser("check-display", help="measure a display's refresh and timing (run it on the lab screen)",
                           epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--out", type=Path, default=Path("display_check"),
                       help="folder for the histogram and the numbers (default display_check)")
    check.add_argument("--frames", type=positive_int, default=600, help="frames to measure (default 600)")
    check.add_argument("--fixations", type=positive_int, default=20,
                       help="times the 250 ms fixation is shown and measured (default 20)")
    check.add_argument("--photodiode", action="store_true",
                       help="a white patch in the bottom-left corner during each fixation, for a photodiode")
    check.add_argument("--background", default="black", help="background colour (default black)")
    _add_monitor_options(check)
    web_cli.add_parsers(sub)  # web, serve: the online session (experiment/web/)
    return parser


# UserError covers the package's own errors (ConditionsError, TextsError, run.UserError); ValueError is what
# the pure helpers (design, ids, monitor, logfile) raise for a value the user gave.
@run_main(also=(ValueError,),
          interrupted="interrupted; any answers already given are saved (a session continues with --resume)")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("web", "serve"):
        return web_cli.main(args)
    if args.command == "order":
        return cmd_order(args)
    if args.command == "audit":
        from experiment.audit import cmd_audit

        return cmd_audit(args)
    if args.command == "check-display":
        from experiment.check_display import cmd_check_display

        return cmd_check_display(args)
    if args.participant is None:
        return run_with_dialog(args)
    return cmd_run(args)


def run_with_dialog(args) -> int:
    """No --participant: ask in PsychoPy's dialog until the session accepts the answers (or Cancel)."""
    from experiment import dialog

    require_display()  # Qt would abort the process without a screen
    problem, shown, resume_given = None, dict(vars(args)), args.resume
    while True:
        args.resume = resume_given  # a choice made for an earlier answer does not carry over
        args.new_after_unfinished = False
        answers = dialog.ask(shown, problem)
        if answers is None:
            print("cancelled in the participant dialog; nothing was written", file=sys.stderr)
            return EXIT_CANCELLED
        shown = dict(vars(args), **answers)  # a refused value comes back as typed, with the other fields
        try:
            vars(args).update(dialog.parse(answers))
            if not offer_unfinished(args, dialog):
                problem = None
                continue
            return cmd_run(args)
        except (ParticipantError, dialog.AnswerError) as err:  # raised before any window or file
            problem = str(err)
            print(f"participant dialog: {problem}", file=sys.stderr)


def offer_unfinished(args, dialog) -> bool:
    """An unfinished lab session of this participant/session: continue it or start a new one (asked in a dialog).

    Returns False when the experimenter goes back to the first dialog.
    """
    if args.resume:
        return True
    paths = logfile.find_session(args.logs, args.participant, args.session, args.exp_name)
    if paths is None:
        return True
    sidecar = logfile.read_json(paths.sidecar)
    if sidecar.get("platform", logfile.PLATFORM) != logfile.PLATFORM or sidecar.get("completed"):
        return True  # the session refuses these with its own message, which the dialog then shows
    used = {int(data["session"]) for _, data in logfile.read_sidecars(args.logs)
            if str(data["participant"]) == args.participant and str(data["session"]).isdigit()}
    next_session = next(n for n in range(args.session + 1, args.session + len(used) + 2) if n not in used)
    choice = dialog.ask_unfinished(args.participant, args.session, sidecar, next_session)
    if choice is None:
        return False
    if choice == dialog.CONTINUE:
        args.resume = True
    else:
        args.session = next_session
        args.new_after_unfinished = True  # may take over the stale lock the unfinished session left
    return True


def cmd_order(args) -> int:
    ids.validate_participant_id(args.participant)
    rows = load_conditions(args.conditions, args.design)
    number = ids.counterbalancing_number(args.participant, args.cb_number)
    trials, info = design.trial_order(rows, number, args.session, args.blocks, args.design)
    try:
        print(f"# participant {args.participant} number {info['participant_number']} session {args.session} "
              f"design {args.design} seed {info['seed']} latin-square row {info['latin_square_row']} "
              f"block order {info['block_order']}")
        sys.stdout.write(logfile._line(logfile.ORDER_COLUMNS))
        for t in trials:
            sys.stdout.write(logfile._line(t.get(c, "") for c in logfile.ORDER_COLUMNS))
        sys.stdout.flush()
    except BrokenPipeError:  # `order ... | head` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's advice: no second error at exit
    return EXIT_OK
