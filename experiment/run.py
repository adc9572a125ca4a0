"""``python -m experiment run``: check everything, open the window, refuse a bad display, run, save.

Order of events, so that a mistake costs nothing:
1. ``prepare`` (no PsychoPy): participant, the ``--logs`` folder (creatable,
   writable, local), conditions and design, practice stimuli, texts, then the
   participant's lock (one session per ID at a time) and the files in ``logs/``.
   Any problem: one line, exit 2, nothing written.
2. The window opens; the display preflight (``Screen`` + ``timing.assess_display``)
   checks its size against the monitor description, sets gamma and measures
   the refresh and whether flips are locked to it. Any problem: the window
   closes before the first instruction screen, one line naming the fix, exit 2
   (only PsychoPy's ``.log`` is kept, for diagnosis).
3. The sidecar and the order are written, then the session runs
   (``session.run_session``), every answer saved at once; the sidecar
   (``n_trials_done``, ``trial_on_screen``) and PsychoPy's ``.log`` are
   updated when each trial comes on screen and when it is saved, so the files
   of a killed session say where it stopped, and a resume flags the trial
   that was on screen (``reshown``).
4. Close: everything opened in step 2 and 3 sits on one ``ExitStack`` in
   ``cmd_run``, so the event feed, the window, PsychoPy's ``.log`` and the lock
   are closed, in that order, however the session ends.
"""

import hashlib
import importlib.metadata
import platform
import sys
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import halfface.cli
from experiment import design, ids, logfile
from experiment.conditions import check_practice_separate, load_conditions
from experiment.design import design_rows
from experiment.monitor import load_monitor_config, parse_gamma, parse_size, require_display
from experiment.session import EventLog, Fixation, QuitSession, run_session, show_message
from experiment.simulate import SimulatedParticipant
from experiment.texts import load_texts
from experiment.timing import FIXATION_S, frames_for, refresh_lock_check

EXIT_OK, EXIT_ENDED_EARLY, EXIT_CANCELLED = 0, 3, 4  # a user mistake: a UserError, exit 2 (halfface.cli)


class UserError(halfface.cli.UserError):
    """A mistake the user can fix; printed as one line."""


class ParticipantError(UserError):
    """A problem with who is tested (ID, number, session): the participant dialog can fix it."""


@dataclass
class Plan:
    """Everything a session needs that can be checked before a window opens."""
    paths: logfile.SessionPaths
    rows: list
    number: int
    trials: list
    info: dict
    start: int
    sidecar: dict | None
    texts: object
    practice: list = field(default_factory=list)
    practice_rows: list = field(default_factory=list)
    config: dict | None = None
    screen_size: tuple | None = None
    gamma: tuple | None = None
    started: datetime | None = None
    lock: logfile.SessionLock | None = None
    reshown: int | None = None  # trial number shown again on resume (on screen when the session stopped)


def cmd_run(args) -> int:
    """Dialog answers -> files -> window -> trials -> save -> close; returns the exit code.

    Read top to bottom like a PsychoPy coder demo. Whatever is opened is
    registered on one ``ExitStack`` as it opens, so it is closed in reverse
    order however the session ends (completed, Escape, refused display, error):
    event feed, window, PsychoPy's .log, then the participant's lock (which
    only kill -9 leaves behind; it is stale then and a resume takes it over).
    """
    plan = prepare(args)  # participant, options, order and file names: nothing opened or written yet
    with ExitStack() as close:
        close.enter_context(plan.lock)
        require_display()
        # PsychoPy is imported only now: the checks above never wait for it.
        from psychopy import __version__ as psychopy_version
        from psychopy import logging as psychopy_logging

        from experiment.screen import DisplayRefused, Screen, background_rgb255, font_for, monitor_for

        # Files: Builder's habit, PsychoPy's own messages go to a .log beside the data.
        spec = monitor_for(args, plan.config, plan.screen_size, plan.gamma)
        background, font, paths = background_rgb255(args.background), font_for(plan.texts), plan.paths
        args.logs.mkdir(parents=True, exist_ok=True)
        psychopy_log = psychopy_logging.LogFile(str(paths.psychopy_log), level=psychopy_logging.EXP, filemode="a")
        close.callback(psychopy_logging.root.removeTarget, psychopy_log)
        close.callback(psychopy_logging.flush)
        psychopy_logging.exp(f"halfface: participant {args.participant} session {args.session}, data {paths.csv.name}")

        # Window, and the display preflight before the first instruction screen.
        screen = Screen(spec, plan.texts, fullscreen=not args.windowed, screen=args.screen, background=args.background,
                        stim_height_deg=args.stim_height_deg, screenshot_dir=args.screenshots, font=font)
        close.callback(screen.close)
        events = EventLog(args.events_file, screen.now())
        close.callback(events.close)
        try:
            display = preflight_display(screen, args)
        except DisplayRefused as err:
            psychopy_logging.warning(f"halfface: display refused: {err}")
            events.emit("refused", reason=str(err))
            raise UserError(f"{err} (nothing was recorded; PsychoPy's log: {paths.psychopy_log})") from None
        fixation = Fixation(frames_for(FIXATION_S, display["refresh_hz"]), FIXATION_S, by_clock=not display["ok"])
        sidecar, run, run_columns = _sidecar_for_run(args, plan, spec, screen, display, fixation, background,
                                                     psychopy_version)
        responder = _responder(args, sidecar)
        if plan.sidecar is None:
            logfile.write_order(paths.order, plan.trials)
        logfile.write_json_atomic(paths.sidecar, sidecar)  # from here on the files say the session is running

        # Trials, each answer saved as it is given.
        events.emit("ready", refresh_rate_hz=display["refresh_hz"], fixation_frames=fixation.frames,
                    first_trial=plan.start + 1, stem=paths.stem)
        try:
            ended_by = _run_trials(args, plan, screen, responder, events, fixation, run_columns,
                                   _progress_writer(paths, sidecar, run, psychopy_logging))
        except BaseException as err:
            _finish(paths, sidecar, f"error: {type(err).__name__}: {err}"[:300], run)
            raise

        # Save: the data are final before the participant sees the end screen.
        n_done = _finish(paths, sidecar, ended_by, run)
        events.emit("end", ended_by=ended_by, n_trials_done=n_done)
        if ended_by == "completed":
            show_message(screen, responder, plan.texts.screen("end"), "end", events, allow_quit=False)
    if ended_by == "completed":
        print(f"session complete: {n_done} trials in {paths.csv}")
        return EXIT_OK
    print(f"session ended early after {n_done} of {len(plan.trials)} trials; data in {paths.csv}; "
          "continue with --resume", file=sys.stderr)
    return EXIT_ENDED_EARLY


def now() -> datetime:
    """Local time with its UTC offset: every time the session writes is in this one zone."""
    return datetime.now().astimezone()


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


def _check_number_is_free(args, number):
    """Two participants on one counterbalancing row would silently share an order."""
    others = [(p, path) for p, path in logfile.numbers_in_use(args.logs).get(number, []) if p != args.participant]
    if others and args.cb_number is None:
        who, path = others[0]
        raise ParticipantError(f"counterbalancing number {number} (the digits of {args.participant!r}) is already "
                               f"used by participant {who!r} ({path}): give this participant an ID with an unused "
                               "number, or pass --cb-number N explicitly")


def prepare(args) -> Plan:
    """Everything that can fail on the user's input, checked before a window opens or a file is written."""
    try:
        ids.validate_participant_id(args.participant)
        number = ids.counterbalancing_number(args.participant, args.cb_number)
    except ValueError as err:
        raise ParticipantError(str(err)) from None
    ids.validate_exp_name(args.exp_name)
    try:
        logfile.check_logs_folder(args.logs, allow_network=getattr(args, "allow_network_logs", False))
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.resume and args.max_trials:
        raise UserError("--max-trials cannot be combined with --resume: the saved order decides the trials")
    if args.monitor and args.config:
        raise UserError("give either --monitor (a Monitor Center calibration) or --config (a JSON file), not both")
    texts = load_texts(args.instructions)
    config = load_monitor_config(args.config) if args.config else None
    screen_size = parse_size(args.screen_size) if args.screen_size else None
    gamma = parse_gamma(args.gamma)
    rows = load_conditions(args.conditions, args.design)
    practice_rows, practice = [], []
    if args.practice_conditions:
        practice_rows = load_conditions(args.practice_conditions, args.design, warn=None)
        check_practice_separate(practice_rows, rows, args.practice_conditions, args.conditions)
        n = args.practice if args.practice is not None else len(design_rows(practice_rows, args.design))
        practice = design.practice_trials(practice_rows, n, number, args.session, args.design)
    elif args.practice:
        raise UserError("--practice N needs --practice-conditions FILE: practice uses its own stimuli, never the "
                        "test photos (the demo ships some: stimuli/demo_practice/manifest.csv)")
    trials, info = design.trial_order(rows, number, args.session, args.blocks, args.design)
    if args.simulate:
        SimulatedParticipant(0, args.sim_accuracy, args.sim_rt_mean, args.sim_rt_sd)  # validates the numbers

    # Before the log folder is read: a running session's files must not be touched (e.g. a resume's repair).
    try:
        # A stale lock is taken over to resume, or for a new session the experimenter chose in the dialog
        # after being shown the unfinished one; never silently by a plain start.
        take_over = args.resume or getattr(args, "new_after_unfinished", False)
        lock = logfile.SessionLock(args.logs, args.participant, args.exp_name).acquire(take_over, args.session)
    except logfile.SessionLocked as err:
        raise ParticipantError(str(err)) from None
    try:
        plan = _plan_files(args, rows, number, trials, info, texts, practice, practice_rows, config, screen_size,
                           gamma)
    except BaseException:
        lock.abandon()  # a stale lock taken over is put back: it records which session stopped
        raise
    plan.lock = lock
    lock.update(stem=plan.paths.stem)
    if lock.took_over:
        print(f"warning: took over the lock of a session that is no longer running: "
              f"{lock.describe(lock.took_over)}", file=sys.stderr)
    return plan


def _plan_files(args, rows, number, trials, info, texts, practice, practice_rows, config, screen_size, gamma) -> Plan:
    paths = logfile.find_session(args.logs, args.participant, args.session, args.exp_name)
    if paths and logfile.read_json(paths.sidecar).get("platform", logfile.PLATFORM) != logfile.PLATFORM:
        # An online log has the browser's extra columns: lab rows appended to it would not line up.
        raise ParticipantError(f"participant {args.participant} session {args.session} already has an online "
                               f"session ({paths.sidecar}); the lab session cannot continue it: use another "
                               "session number (nothing was changed)")
    if paths and not args.resume and logfile.read_json(paths.sidecar).get("completed"):
        raise ParticipantError(f"participant {args.participant} session {args.session} is complete "
                               f"({paths.sidecar}): use another session number (nothing was overwritten)")
    if paths and not args.resume:
        raise ParticipantError(f"participant {args.participant} session {args.session} already has {paths.sidecar}: "
                               "add --resume to continue it, or use another session number (nothing was overwritten)")
    if args.resume and paths is None:
        raise ParticipantError(f"nothing to resume: no session of participant {args.participant} session "
                               f"{args.session} ({args.exp_name}) in {args.logs}")
    plan = Plan(paths, rows, number, trials, info, 0, None, texts, practice, practice_rows, config, screen_size, gamma)
    if args.resume:
        return _resume(args, plan)
    _check_number_is_free(args, number)
    if args.max_trials:
        plan.trials = trials[:args.max_trials]
    plan.started = now()
    plan.paths = logfile.paths_for(args.logs, logfile.free_stem(
        args.logs, ids.session_stem(args.participant, args.exp_name, plan.started)))
    return plan


def _resume(args, plan: Plan) -> Plan:
    paths = plan.paths
    if not (paths.csv.exists() and paths.order.exists()):
        raise UserError(f"cannot resume: {paths.csv} and {paths.order} must both exist beside {paths.sidecar}")
    sidecar = logfile.read_json(paths.sidecar)
    for key, value in (("design", args.design), ("participant_number", plan.number)):
        if sidecar.get(key, value) != value:
            raise UserError(f"{paths.sidecar} was run with {key} {sidecar.get(key)!r}, not {value!r}: resume with "
                            "the original options")
    saved_order = logfile.read_order(paths.order)
    planned = [t["stimulus"] for t in plan.trials[:len(saved_order)]]
    if [t["stimulus"] for t in saved_order] != planned or plan.info["seed"] != sidecar.get("seed"):
        raise UserError(f"{paths.order} no longer matches the order re-created from {args.conditions}: "
                        "was the manifest or --blocks/--cb-number changed? Resume with the original ones")
    if paths.csv.stat().st_size == 0:
        raise UserError(f"cannot resume: {paths.csv} is empty (not even its header was saved); move the session's "
                        "files out of the log folder and start the session again")
    partial = logfile.repair_partial_last_line(paths.csv)
    if partial:
        print(f"warning: removed an unfinished last line from {paths.csv}: {partial!r} "
              "(that trial will be run again)", file=sys.stderr)
    answered = logfile.read_rows(paths.csv)
    trials = plan.trials[:len(saved_order)]
    for k, row in enumerate(answered):
        if k >= len(trials) or row["stimulus"] != trials[k]["stimulus"]:
            raise UserError(f"{paths.csv} line {k + 2}: stimulus {row.get('stimulus')!r} does not match "
                            f"trial {k + 1} of {paths.order}; not resuming a log that disagrees with its order")
    if len(answered) >= len(trials):
        raise UserError(f"{paths.csv} already holds all {len(trials)} trials: the session is complete")
    plan.trials, plan.start, plan.sidecar = trials, len(answered), sidecar
    if sidecar.get("trial_on_screen") == len(answered) + 1:  # it was on screen when the session stopped
        plan.reshown = len(answered) + 1
    if sidecar.get("ended_by") == "running" and sidecar.get("runs"):  # the process ended without closing
        sidecar["runs"][-1].setdefault("ended_by", "interrupted (crash, kill or power cut)")
        sidecar["runs"][-1].setdefault("last_trial", len(answered))
    plan.started = datetime.fromisoformat(sidecar["started"]) if sidecar.get("started") else now()
    return plan


def _sidecar_for_run(args, plan, spec, screen, display, fixation, background, psychopy_version):
    """The sidecar (new, or the resumed one) with this run added; returns (sidecar, run, Builder's row columns)."""
    sidecar = plan.sidecar or _new_sidecar(args, plan, psychopy_version)
    run, run_columns = _record_run(sidecar, args, plan, spec, screen, display, fixation, background,
                                   psychopy_version)
    return sidecar, run, run_columns


def _responder(args, sidecar):
    from experiment.responses import KeyboardResponder, SimulatedResponder

    if args.simulate:
        return SimulatedResponder(SimulatedParticipant(sidecar["simulation"]["seed"], args.sim_accuracy,
                                                       args.sim_rt_mean, args.sim_rt_sd))
    return KeyboardResponder()


def _progress_writer(paths, sidecar, run, psychopy_logging):
    """``on_progress`` for the session: the sidecar and PsychoPy's .log say where it is, so a killed session's
    files tell which trial was on screen."""
    def progress(trial_number, on_screen):
        sidecar["n_trials_done"] = trial_number - 1 if on_screen else trial_number
        sidecar["trial_on_screen"] = trial_number if on_screen else None
        sidecar["updated"] = now().isoformat(timespec="seconds")
        run["last_trial"] = sidecar["n_trials_done"]
        logfile.write_json_atomic(paths.sidecar, sidecar)
        psychopy_logging.exp(f"halfface: trial {trial_number} " + ("on screen" if on_screen else "saved"))
        psychopy_logging.flush()

    return progress


def _run_trials(args, plan, screen, responder, events, fixation, run_columns, progress) -> str:
    """Practice (new sessions only) and the trials from ``plan.start``; returns how it ended."""
    by_stimulus = {r["stimulus"]: r for r in plan.rows}
    trials = [dict(by_stimulus[t["stimulus"]], **{k: t[k] for k in ("trial", "block", "presentation")},
                   reshown=int(t["trial"] == plan.reshown))
              for t in plan.trials]
    paths = plan.paths
    practice_log = logfile.TrialLog(paths.practice) if plan.practice and plan.start == 0 else nullcontext()
    with logfile.TrialLog(paths.csv) as log, practice_log as practice_log:
        try:
            run_session(screen, responder, trials, log, participant=args.participant, session=args.session,
                        fixation=fixation, start=plan.start, events=events, texts=plan.texts,
                        run_columns=run_columns, practice=plan.practice, practice_log=practice_log,
                        break_every=args.break_every, instructions=not args.no_instructions, min_rt=args.min_rt,
                        on_progress=progress)
        except QuitSession:
            return "escape"
    return "completed"


def preflight_display(screen, args) -> dict:
    """Size, gamma, refresh and lock, before the first instruction screen; raises DisplayRefused."""
    from experiment.screen import DisplayRefused, display_refusal

    screen.check_size(args.stim_height_deg)
    screen.apply_gamma(allow_failure=args.allow_unlocked_display)
    display = screen.measure_display()
    if not display["ok"]:
        if not args.allow_unlocked_display:
            raise DisplayRefused(display_refusal(display))
        screen.pace_flips()
        print("warning: --allow-unlocked-display: " + "; ".join(display["problems"]) + ". The fixation is timed "
              f"on the clock instead of in frames, and flips are paced at {screen.pace_hz:g} Hz; the sidecar records "
              "it. Not for real data.", file=sys.stderr)
    return display


def _record_run(sidecar, args, plan, spec, screen, display, fixation, background, psychopy_version):
    """Put this run's set-up and measurements into the sidecar; returns (run entry, Builder's row columns)."""
    started = now()
    run = {"started": started.isoformat(timespec="seconds"), "first_trial": plan.start + 1,
           "refresh_rate_hz": round(display["refresh_hz"], 3), "refresh_measurement": screen.refresh_method,
           "fixation_frames": fixation.frames, "fixation_timing": "clock" if fixation.by_clock else "frames",
           "flip_pacing_hz": screen.pace_hz, "display_check": display,
           "allow_unlocked_display": bool(args.allow_unlocked_display), "resumed": bool(args.resume)}
    if args.simulate:
        seed = args.sim_seed if args.sim_seed is not None else design.seed_for(plan.number, args.session) + 7
        sidecar["simulated"] = True
        sidecar["simulation"] = {"accuracy": args.sim_accuracy, "rt_mean": args.sim_rt_mean,
                                 "rt_sd": args.sim_rt_sd, "seed": seed}
    sidecar.update({
        "monitor": spec.as_dict(), "screen": args.screen, "fullscreen": not args.windowed,
        "window_size_px": [int(v) for v in screen.win.size], "background": args.background,
        "background_rgb255": background, "gamma_applied": screen.gamma_applied,
        "stim_height_deg": args.stim_height_deg, "refresh_rate_hz": run["refresh_rate_hz"],
        "refresh_measurement": screen.refresh_method, "nominal_refresh_hz": display["nominal_refresh_hz"],
        "display_check": display, "display_verified": display["ok"],
        # once any run of a session went unverified, the session did
        "allow_unlocked_display": bool(sidecar.get("allow_unlocked_display")) or bool(args.allow_unlocked_display),
        "fixation_frames": fixation.frames, "fixation_timing": run["fixation_timing"],
        "flip_pacing_hz": run["flip_pacing_hz"], "fixation_target_s": FIXATION_S, "min_rt_s": args.min_rt,
        "psychopyVersion": psychopy_version, "ended_by": "running"})
    sidecar["runs"].append(run)
    if not sidecar.get("expStart"):  # sessions begun before the column existed: from their first start
        sidecar["expStart"] = ids.exp_start_str(datetime.fromisoformat(sidecar["started"]))
    columns = {"date": ids.date_str(started), "expName": args.exp_name,
               "psychopyVersion": psychopy_version, "frameRate": run["refresh_rate_hz"],
               "platform": logfile.PLATFORM, "expStart": sidecar["expStart"]}
    return run, columns


def _new_sidecar(args, plan, psychopy_version) -> dict:
    started = plan.started
    return {
        "participant": args.participant, "session": args.session, "expName": args.exp_name,
        "date": started.strftime("%Y-%m-%d"), "started": started.isoformat(timespec="seconds"),
        "expStart": ids.exp_start_str(started),
        "timezone": logfile.timezone_name(started),
        "age": args.age, "sex": args.sex, "handedness": args.handedness,
        "platform": logfile.PLATFORM, "design": args.design,
        "conditions_file": str(args.conditions.resolve()), "conditions_sha256": _sha256(args.conditions),
        "practice_conditions_file": str(args.practice_conditions.resolve()) if args.practice_conditions else None,
        "practice_conditions_sha256": _sha256(args.practice_conditions) if args.practice_conditions else None,
        "n_practice": len(plan.practice),
        "instructions": {"file": plan.texts.source, "language": plan.texts.language},
        "log_file": plan.paths.csv.name, "order_file": plan.paths.order.name,
        "practice_file": plan.paths.practice.name if plan.practice else None,
        "psychopy_log_file": plan.paths.psychopy_log.name,
        "counterbalancing": plan.info, "participant_number": plan.number,
        "participant_number_from": "--cb-number" if args.cb_number is not None else "digits of the participant ID",
        "seed": plan.info["seed"], "n_trials_planned": len(plan.trials), "n_trials_done": 0, "completed": False,
        "software": _versions(), "simulated": False, "simulation": None, "allow_unlocked_display": False,
        "runs": [],
    }


def _finish(paths, sidecar, ended_by, run) -> int:
    rows = logfile.read_rows(paths.csv) if paths.csv.exists() else []
    n_done = len(rows)
    if run["fixation_timing"] == "frames":
        this_run = [r["fixation_duration"] for r in rows if int(r["trial"]) >= run["first_trial"]]
        check = refresh_lock_check(this_run, run["fixation_frames"], run["refresh_rate_hz"])
        run["timing_check"] = check
        if check.get("locked_to_refresh") is False:
            print(f"warning: fixations lasted {check['fixation_median_s'] * 1000:.1f} ms (median) instead of "
                  f"{check['fixation_expected_s'] * 1000:.1f} ms although the display passed its check at the start: "
                  "frame-based durations of this run are suspect", file=sys.stderr)
    sidecar["n_trials_done"] = n_done
    sidecar["trial_on_screen"] = None if ended_by == "completed" else sidecar.get("trial_on_screen")
    sidecar["completed"] = n_done >= sidecar["n_trials_planned"]
    sidecar["ended_by"] = ended_by
    run.update({"ended": now().isoformat(timespec="seconds"), "last_trial": n_done, "ended_by": ended_by})
    logfile.write_json_atomic(paths.sidecar, sidecar)
    return n_done
