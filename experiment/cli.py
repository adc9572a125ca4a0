"""Command line: ``python -m experiment run ...`` and ``python -m experiment order ...``.

User mistakes end with one line on stderr and exit code 2; a session ended with
Escape exits 3 (data kept, resumable); 0 means the session is complete.
"""

import argparse
import hashlib
import importlib.metadata
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from experiment import design, ids, logfile
from experiment.conditions import ConditionsError, load_conditions
from experiment.monitor import DEFAULT_DISTANCE_CM, load_monitor_config, monitor_spec, parse_size
from experiment.session import EventLog, QuitSession, run_session
from experiment.simulate import SimulatedParticipant
from experiment.timing import FIXATION_S, frames_for, refresh_lock_check

EXIT_OK, EXIT_USER_ERROR, EXIT_ENDED_EARLY = 0, 2, 3

EXAMPLE = """example:
  python -m experiment run --participant P07 --conditions stimuli_out/manifest.csv --logs logs/
  python -m experiment run --participant P07 --conditions stimuli_out/manifest.csv --logs logs/ --resume
  python -m experiment run --participant demo1 --conditions stimuli_out/manifest.csv --logs logs/ \\
      --windowed --simulate --max-trials 30
  python -m experiment order --participant P07 --conditions stimuli_out/manifest.csv
"""


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _nonneg_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _add_design_options(p):
    p.add_argument("--participant", required=True, help="participant ID: letters, digits, '-', '_' (e.g. P07)")
    p.add_argument("--conditions", required=True, type=Path, help="stimuli manifest.csv (conditions file)")
    p.add_argument("--session", type=_positive_int, default=1, help="session number (default 1)")
    p.add_argument("--blocks", type=_positive_int, default=design.DEFAULT_BLOCKS,
                   help=f"photo blocks ordered by a balanced Latin square (default {design.DEFAULT_BLOCKS})")
    p.add_argument("--cb-number", type=_nonneg_int, default=None,
                   help="counterbalancing number (default: trailing digits of the ID, P07 -> 7)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiment",
        description="Half-face emotion experiment (HSAW paper §3.1.2-3.1.3) in PsychoPy.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a session", epilog=EXAMPLE,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_design_options(run)
    run.add_argument("--logs", required=True, type=Path, help="folder for <ID>_s<session>.csv/.json")
    run.add_argument("--resume", action="store_true", help="continue an interrupted session, same order")
    run.add_argument("--windowed", action="store_true", help="window instead of full screen (piloting)")
    run.add_argument("--no-instructions", action="store_true", help="skip the instructions screen")
    run.add_argument("--max-trials", type=_positive_int, default=None,
                     help="plan only the first N trials of the order (pilots, demos)")
    run.add_argument("--practice", type=_nonneg_int, default=0, help="N unlogged practice trials first")
    run.add_argument("--break-every", type=_nonneg_int, default=0, help="break screen every N trials (0: none)")
    run.add_argument("--age", type=_positive_int, default=None)
    run.add_argument("--sex", choices=["female", "male", "other", "undisclosed"], default=None)
    run.add_argument("--handedness", choices=["left", "right", "ambidextrous"], default=None)
    mon = run.add_argument_group("monitor (sizes are in degrees of visual angle)")
    mon.add_argument("--config", type=Path, default=None,
                     help='monitor JSON: {"name", "width_cm", "distance_cm", "resolution_px": [w, h]}')
    mon.add_argument("--monitor-width-cm", type=float, default=None, help="visible screen width in cm")
    mon.add_argument("--distance-cm", type=float, default=None,
                     help=f"eye-screen distance (default {DEFAULT_DISTANCE_CM:g}, §3.1.2)")
    mon.add_argument("--screen-size", default=None, help="screen resolution WxH (default: detected)")
    mon.add_argument("--stim-height-deg", type=float, default=10.0, help="face height in degrees (default 10)")
    sim = run.add_argument_group("simulated participant")
    sim.add_argument("--simulate", action="store_true", help="an automated participant answers (pilots, demos)")
    sim.add_argument("--sim-accuracy", type=float, default=0.7, help="P(correct emotion) (default 0.7)")
    sim.add_argument("--sim-rt-mean", type=float, default=0.35, help="mean RT in s, lognormal (default 0.35)")
    sim.add_argument("--sim-rt-sd", type=float, default=0.1, help="RT sd in s (default 0.1)")
    sim.add_argument("--sim-seed", type=int, default=None, help="default: derived from the participant number")
    dev = run.add_argument_group("automation")
    dev.add_argument("--screenshots", type=Path, default=None,
                     help="save the first fixation/stimulus/question screens as PNGs here")
    dev.add_argument("--events-file", type=Path, default=None,
                     help="append one JSON line per screen onset and saved trial (monitoring, tests)")

    order = sub.add_parser("order", help="print the counterbalanced order of a participant (no window)",
                           epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_design_options(order)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "order":
            return cmd_order(args)
        return cmd_run(args)
    except (UserError, ConditionsError, ValueError) as err:
        for line in str(err).splitlines() or [type(err).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USER_ERROR


def _plan(args, rows):
    number = args.cb_number if args.cb_number is not None else ids.participant_number(args.participant)
    trials, info = design.trial_order(rows, number, args.session, args.blocks)
    return number, trials, info


def cmd_order(args) -> int:
    ids.validate_participant_id(args.participant)
    rows = load_conditions(args.conditions)
    _, trials, info = _plan(args, rows)
    print(f"# participant {args.participant} number {info['participant_number']} session {args.session} "
          f"seed {info['seed']} latin-square row {info['latin_square_row']} block order {info['block_order']}")
    sys.stdout.write(logfile._line(logfile.ORDER_COLUMNS))
    for t in trials:
        sys.stdout.write(logfile._line(t.get(c, "") for c in logfile.ORDER_COLUMNS))
    return EXIT_OK


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("psychopy-lib", "psychtoolbox", "pyglet", "numpy", "pillow", "halfface"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def prepare(args):
    """Everything that can fail on the user's input, checked before a window opens or a file is written."""
    ids.validate_participant_id(args.participant)
    paths = logfile.session_paths(args.logs, args.participant, args.session)
    if args.resume and args.max_trials:
        raise UserError("--max-trials cannot be combined with --resume: the saved order decides the trials")
    if not args.resume and paths.existing():
        raise UserError(f"{paths.existing()[0]} already exists: add --resume to continue this session, "
                        "or use another --session/--participant (nothing was overwritten)")
    if args.resume and not (paths.csv.exists() and paths.order.exists() and paths.sidecar.exists()):
        raise UserError(f"nothing to resume: {paths.csv}, {paths.order} and {paths.sidecar} must all exist")
    if args.logs.exists() and not args.logs.is_dir():
        raise UserError(f"{args.logs} is not a folder")
    config = load_monitor_config(args.config) if args.config else None
    screen_size = parse_size(args.screen_size) if args.screen_size else None
    rows = load_conditions(args.conditions)
    number, trials, info = _plan(args, rows)
    if args.simulate:
        SimulatedParticipant(0, args.sim_accuracy, args.sim_rt_mean, args.sim_rt_sd)  # validates the numbers
    start, sidecar = 0, None
    if args.resume:
        sidecar = logfile.read_json(paths.sidecar)
        saved_order = logfile.read_order(paths.order)
        planned = [t["stimulus"] for t in trials[:len(saved_order)]]
        if [t["stimulus"] for t in saved_order] != planned or info["seed"] != sidecar.get("seed"):
            raise UserError(f"{paths.order} no longer matches the order re-created from {args.conditions}: "
                            "was the manifest or --blocks/--cb-number changed? Resume with the original ones")
        trials = trials[:len(saved_order)]
        partial = logfile.repair_partial_last_line(paths.csv)
        if partial:
            print(f"warning: removed an unfinished last line from {paths.csv}: {partial!r} "
                  "(that trial will be run again)", file=sys.stderr)
        answered = logfile.read_rows(paths.csv)
        for k, row in enumerate(answered):
            if k >= len(trials) or row["stimulus"] != trials[k]["stimulus"]:
                raise UserError(f"{paths.csv} line {k + 2}: stimulus {row.get('stimulus')!r} does not match "
                                f"trial {k + 1} of {paths.order}; not resuming a log that disagrees with its order")
        start = len(answered)
        if start >= len(trials):
            raise UserError(f"{paths.csv} already holds all {len(trials)} trials: the session is complete")
    elif args.max_trials:
        trials = trials[:args.max_trials]
    return paths, rows, number, trials, info, config, screen_size, start, sidecar


def cmd_run(args) -> int:
    paths, rows, number, trials, info, config, screen_size, start, sidecar = prepare(args)
    # PsychoPy is imported only now: preflight errors above never wait for it.
    from experiment.responses import KeyboardResponder, SimulatedResponder
    from experiment.screen import Screen, detect_screen_size

    detected = None if (screen_size or (config or {}).get("resolution_px")) else detect_screen_size()
    spec = monitor_spec(config, args.monitor_width_cm, args.distance_cm, screen_size, detected)
    if "defaults" in spec.source:
        print(f"warning: monitor {spec.source}; sizes in degrees assume width {spec.width_cm:g} cm at "
              f"{spec.distance_cm:g} cm: give --monitor-width-cm or --config for exact visual angles",
              file=sys.stderr)
    practice = design.practice_trials(rows, args.practice, number, args.session)
    args.logs.mkdir(parents=True, exist_ok=True)

    screen = Screen(spec, fullscreen=not args.windowed, stim_height_deg=args.stim_height_deg,
                    screenshot_dir=args.screenshots)
    events = None
    try:
        if args.simulate:
            seed = args.sim_seed if args.sim_seed is not None else design.seed_for(number, args.session) + 7
            responder = SimulatedResponder(SimulatedParticipant(seed, args.sim_accuracy, args.sim_rt_mean,
                                                                args.sim_rt_sd))
        else:
            responder = KeyboardResponder()
        refresh = screen.measure_refresh_rate()
        n_fix = frames_for(FIXATION_S, refresh)
        run_info = {"started": _now(), "first_trial": start + 1, "refresh_rate_hz": round(refresh, 3),
                    "refresh_measurement": screen.refresh_method, "fixation_frames": n_fix,
                    "resumed": bool(args.resume)}
        if sidecar is None:
            logfile.write_order(paths.order, trials)
            sidecar = {
                "participant": args.participant, "session": args.session, "date": _now()[:10],
                "age": args.age, "sex": args.sex, "handedness": args.handedness,
                "conditions_file": str(args.conditions.resolve()), "conditions_sha256": _sha256(args.conditions),
                "log_file": paths.csv.name, "order_file": paths.order.name,
                "counterbalancing": info, "participant_number": number, "seed": info["seed"],
                "n_trials_planned": len(trials), "n_trials_done": 0, "completed": False,
                "software": _versions(), "simulated": None, "runs": [],
            }
        if args.simulate:
            sidecar["simulated"] = {"accuracy": args.sim_accuracy, "rt_mean": args.sim_rt_mean,
                                    "rt_sd": args.sim_rt_sd, "seed": seed}
        sidecar.update({"monitor": spec.as_dict(), "stim_height_deg": args.stim_height_deg,
                        "refresh_rate_hz": run_info["refresh_rate_hz"],
                        "refresh_measurement": screen.refresh_method, "fixation_frames": n_fix,
                        "fixation_target_s": FIXATION_S, "ended_by": "running"})
        sidecar["runs"].append(run_info)
        logfile.write_json_atomic(paths.sidecar, sidecar)

        by_stimulus = {r["stimulus"]: r for r in rows}
        trials = [dict(by_stimulus[t["stimulus"]], **{k: t[k] for k in ("trial", "block", "presentation")})
                  for t in trials]
        events = EventLog(args.events_file, screen.now())
        events.emit("ready", refresh_rate_hz=refresh, fixation_frames=n_fix, first_trial=start + 1)
        ended_by = "completed"
        with logfile.TrialLog(paths.csv) as log:
            try:
                run_session(screen, responder, trials, log, participant=args.participant, session=args.session,
                            fixation_frames=n_fix, start=start, events=events, practice=practice,
                            break_every=args.break_every, instructions=not args.no_instructions)
            except QuitSession:
                ended_by = "escape"
    except BaseException as err:
        if sidecar is not None and paths.sidecar.exists():
            _finish(paths, sidecar, f"error: {type(err).__name__}: {err}")
        screen.close()
        raise
    n_done = _finish(paths, sidecar, ended_by)
    events.emit("end", ended_by=ended_by, n_trials_done=n_done)
    events.close()
    screen.close()
    if ended_by == "completed":
        print(f"session complete: {n_done} trials in {paths.csv}")
        return EXIT_OK
    print(f"session ended early after {n_done} of {len(trials)} trials; data in {paths.csv}; "
          "continue with --resume", file=sys.stderr)
    return EXIT_ENDED_EARLY


def _finish(paths, sidecar, ended_by) -> int:
    rows = logfile.read_rows(paths.csv) if paths.csv.exists() else []
    n_done = len(rows)
    run = sidecar["runs"][-1]
    this_run = [r["fixation_duration"] for r in rows if int(r["trial"]) >= run["first_trial"]]
    check = refresh_lock_check(this_run, run["fixation_frames"], run["refresh_rate_hz"])
    run["timing_check"] = check
    if check.get("locked_to_refresh") is False:
        print(f"warning: fixations lasted {check['fixation_median_s'] * 1000:.1f} ms (median) instead of "
              f"{check['fixation_expected_s'] * 1000:.1f} ms: flips are not locked to the screen refresh "
              "(vsync off or a virtual display); frame-based durations are not valid here", file=sys.stderr)
    sidecar["n_trials_done"] = n_done
    sidecar["completed"] = n_done >= sidecar["n_trials_planned"]
    sidecar["ended_by"] = ended_by
    sidecar["runs"][-1].update({"ended": _now(), "last_trial": n_done, "ended_by": ended_by})
    logfile.write_json_atomic(paths.sidecar, sidecar)
    return n_done

