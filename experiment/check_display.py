"""``python -m experiment check-display``: the timing check a lab runs on its real monitor.

Opens the session's window on the described monitor and measures what the
session's preflight measures, at length: the frame-interval histogram (PNG),
dropped frames, measured vs nominal refresh, the lock test, and the 250 ms
fixation shown and timed N times (optionally with a white patch in the
bottom-left corner for a photodiode, to compare against an oscilloscope).
Prints a verdict; exit 0 when the display can run the session, 1 when it
cannot (0 with ``--allow-unlocked-display``, which only makes it a report).
"""

import json
import statistics
import sys

from experiment.monitor import (deg_to_pix, load_monitor_config, parse_gamma, parse_size, require_display,
                                window_size_problem)
from experiment.texts import load_texts
from experiment.timing import FIXATION_S, LOCK_TEST_LOAD, assess_display, frame_statistics, frames_for

EXIT_PASS, EXIT_FAIL = 0, 1
PHOTODIODE_PATCH_DEG = 2.0
HISTOGRAM = "frame_intervals.png"
RESULTS = "display_check.json"


def fixation_durations(screen, n_frames, times, photodiode=None):
    """Show the '+' for ``n_frames`` flips ``times`` times; each duration is its onset to the next onset flip."""
    durations = []
    for _ in range(times):
        onset = None
        for frame in range(n_frames):
            screen.draw(screen.fixation)
            if photodiode is not None:
                photodiode.draw()
            flip = screen.flip()
            onset = flip if frame == 0 else onset
        end = screen.flip()  # blank: the fixation ends with this flip, as the face's onset ends it in a trial
        durations.append(end - onset)
        for _ in range(5):  # a short blank between fixations, as a photodiode trace needs
            screen.flip()
    return durations


def histogram(path, intervals_s, check, nominal_hz):
    """Frame intervals in ms, with the measured period, the dropped-frame limit and the nominal period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = [t * 1000 for t in intervals_s]
    period = 1000 / check["refresh_hz"]
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.hist(ms, bins=60, color="0.4")
    ax.axvline(period, color="tab:blue", label=f"measured period {period:.2f} ms ({check['refresh_hz']:.1f} Hz)")
    ax.axvline(1.5 * period, color="tab:red", linestyle="--", label="dropped-frame limit (1.5 periods)")
    if nominal_hz:
        ax.axvline(1000 / nominal_hz, color="tab:green", linestyle=":", label=f"nominal {nominal_hz:g} Hz")
    ax.set_xlabel("flip-to-flip interval (ms)")
    ax.set_ylabel("frames")
    verdict = "locked to the refresh" if check["ok"] else "NOT verified"
    ax.set_title(f"{len(ms)} frames, SD {check['interval_sd_ms']:.2f} ms, {check['n_dropped']} dropped: {verdict}")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cmd_check_display(args) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder: choose a folder for the histogram and numbers")
    config = load_monitor_config(args.config) if args.config else None
    screen_size = parse_size(args.screen_size) if args.screen_size else None
    gamma = parse_gamma(args.gamma)
    require_display()
    from psychopy import visual

    from experiment.screen import (DisplayRefused, Screen, background_rgb255, display_refusal, monitor_for,
                                   nominal_refresh_hz)

    background_rgb255(args.background)
    spec = monitor_for(args, config, screen_size, gamma)
    args.out.mkdir(parents=True, exist_ok=True)
    screen = Screen(spec, load_texts("en"), fullscreen=not args.windowed, screen=args.screen,
                    background=args.background)
    try:
        handle = screen.win.winHandle
        actual = screen.win.size if screen.fullscreen else (handle.screen.width, handle.screen.height)
        size_problem = window_size_problem(actual, spec, screen.fullscreen)
        try:
            screen.apply_gamma(allow_failure=False)
            gamma_problem = None
        except DisplayRefused as err:
            gamma_problem = str(err)
        free = screen.frame_intervals(args.frames)
        period = statistics.median(free)
        loaded = screen.frame_intervals(max(60, args.frames // 5), load_s=LOCK_TEST_LOAD * period)
        check = assess_display(free, loaded)
        nominal = nominal_refresh_hz(screen.win)
        n_frames = frames_for(FIXATION_S, check["refresh_hz"])
        patch = None
        if args.photodiode:
            side = deg_to_pix(PHOTODIODE_PATCH_DEG, spec)
            w, h = screen.win.size
            patch = visual.Rect(screen.win, width=side, height=side, units="pix", fillColor="white", lineColor=None,
                                pos=(-w / 2 + side / 2, -h / 2 + side / 2))
        durations = fixation_durations(screen, n_frames, args.fixations, patch)
    finally:
        screen.close()

    stats = frame_statistics(free)
    fix_ms = [d * 1000 for d in durations]
    expected_ms = n_frames / check["refresh_hz"] * 1000
    results = {
        "monitor": spec.as_dict(), "window_size_px": [int(v) for v in actual], "size_problem": size_problem,
        "gamma_problem": gamma_problem, "nominal_refresh_hz": nominal, "display_check": check,
        "frame_statistics": stats, "fixation": {
            "frames": n_frames, "target_ms": FIXATION_S * 1000, "expected_ms": expected_ms, "n": len(fix_ms),
            "median_ms": statistics.median(fix_ms), "min_ms": min(fix_ms), "max_ms": max(fix_ms),
            "sd_ms": statistics.pstdev(fix_ms), "all_ms": [round(v, 3) for v in fix_ms]},
        "photodiode_patch": bool(args.photodiode), "allow_unlocked_display": bool(args.allow_unlocked_display),
    }
    fixation_off = abs(results["fixation"]["median_ms"] - expected_ms) > 1000 / check["refresh_hz"]
    problems = [p for p in (size_problem, gamma_problem) if p]
    if not check["ok"]:
        problems.append(display_refusal(check))
    elif fixation_off:
        problems.append(f"the {n_frames}-frame fixation lasted {results['fixation']['median_ms']:.1f} ms (median), "
                        f"not {expected_ms:.1f} ms")
    results["verdict"] = "pass" if not problems else ("not verified (allowed)" if args.allow_unlocked_display
                                                      else "fail")
    results["problems"] = problems
    histogram(args.out / HISTOGRAM, free, check, nominal)
    (args.out / RESULTS).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    print(f"refresh: measured {check['refresh_hz']:.2f} Hz over {stats['n_intervals']} frames "
          f"(nominal {f'{nominal:g} Hz' if nominal else 'not reported by the system'}); interval SD "
          f"{check['interval_sd_ms']:.3f} ms; {check['n_dropped']} dropped; lock test: frames "
          f"{check['lock_test_growth']:+.0%} longer with {LOCK_TEST_LOAD:.0%} of a frame of work")
    print(f"fixation: {n_frames} frames = {expected_ms:.1f} ms expected; measured {len(fix_ms)} times: median "
          f"{results['fixation']['median_ms']:.1f} ms (min {min(fix_ms):.1f}, max {max(fix_ms):.1f})")
    print(f"window: {actual[0]}x{actual[1]} px; monitor description {spec.resolution_px[0]}x{spec.resolution_px[1]} "
          f"px ({spec.source})")
    print(f"histogram: {args.out / HISTOGRAM}; numbers: {args.out / RESULTS}")
    if not problems:
        print("verdict: PASS: the display can run the session (frame-counted durations are valid)")
        return EXIT_PASS
    for problem in problems:
        print(f"  problem: {problem}", file=sys.stderr)
    if args.allow_unlocked_display:
        print("verdict: NOT VERIFIED (allowed by --allow-unlocked-display: demos and virtual displays only)")
        return EXIT_PASS
    print("verdict: FAIL: do not collect data on this display as it is", file=sys.stderr)
    return EXIT_FAIL
