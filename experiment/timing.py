"""Frame maths: durations become whole frames of the *measured* refresh rate.

PsychoPy timing advice: count frames rather than seconds, because a stimulus can
only change on a flip. 250 ms (the fixation of §3.1.2) is 15 frames at 60 Hz but
18.75 at 75 Hz, so the rate must be measured on the lab's own screen.
"""

import math
import statistics

FIXATION_S = 0.250  # §3.1.2: white '+' for 250 ms


def frames_for(duration_s: float, refresh_hz: float) -> int:
    """Whole number of frames closest to ``duration_s`` (at least 1; halves round up)."""
    if not refresh_hz or refresh_hz <= 0 or not math.isfinite(refresh_hz):
        raise ValueError(f"refresh rate must be a positive number of Hz, got {refresh_hz!r}")
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s!r}")
    return max(1, math.floor(duration_s * refresh_hz + 0.5))


def realised_duration(n_frames: int, refresh_hz: float) -> float:
    """What ``n_frames`` actually last at ``refresh_hz``: the rounding error is visible here."""
    return n_frames / refresh_hz


def refresh_lock_check(fixation_durations, n_frames: int, refresh_hz: float) -> dict:
    """Did the fixations last what their frame count promises?

    With vsync, ``n_frames`` flips last ``n_frames / refresh_hz``. A median more
    than one frame away means flips are not locked to the refresh (vsync off
    in the driver, a virtual display such as Xvfb, or a badly measured rate),
    and frame-counted durations are then not valid.
    """
    durations = [float(d) for d in fixation_durations]
    if not durations:
        return {"n_fixations": 0}
    median = statistics.median(durations)
    expected = realised_duration(n_frames, refresh_hz)
    return {"n_fixations": len(durations), "fixation_median_s": round(median, 6),
            "fixation_expected_s": round(expected, 6),
            "locked_to_refresh": abs(median - expected) <= 1.0 / refresh_hz}


# Display preflight (before the instructions). A lab screen refreshes at 50-500 Hz;
# anything else is a measurement of something other than the refresh (no vsync:
# Xvfb free-runs at hundreds to thousands of flips per second).
MIN_PLAUSIBLE_HZ, MAX_PLAUSIBLE_HZ = 50.0, 500.0
# PsychoPy's getActualFrameRate accepts a run of frames whose intervals have an SD below 1 ms.
MAX_INTERVAL_SD_S = 0.001
# Frames longer than this many periods count as dropped.
DROPPED_FACTOR = 1.5
MAX_DROPPED_FRACTION = 0.05
# Lock test: add this much busy work (fraction of a period) before every flip. A
# loop locked to the refresh still flips once per period; a free-running one
# slows down by about the added work.
LOCK_TEST_LOAD = 0.5
MAX_LOCKED_GROWTH = 0.2


def frame_statistics(intervals_s) -> dict:
    """Median period, rate, SD of the non-dropped intervals and the dropped count of a run of flips."""
    intervals = [float(t) for t in intervals_s if t > 0]
    if len(intervals) < 3:
        raise ValueError("need at least 3 positive frame intervals")
    period = statistics.median(intervals)
    kept = [t for t in intervals if t <= DROPPED_FACTOR * period]
    return {"n_intervals": len(intervals), "median_interval_s": period, "rate_hz": 1.0 / period,
            "sd_s": statistics.pstdev(kept) if len(kept) > 1 else 0.0,
            "n_dropped": len(intervals) - len(kept), "dropped_fraction": (len(intervals) - len(kept)) / len(intervals),
            "min_interval_s": min(intervals), "max_interval_s": max(intervals)}


def assess_display(intervals_s, loaded_intervals_s, min_hz=MIN_PLAUSIBLE_HZ, max_hz=MAX_PLAUSIBLE_HZ,
                   max_sd_s=MAX_INTERVAL_SD_S, max_dropped=MAX_DROPPED_FRACTION,
                   max_growth=MAX_LOCKED_GROWTH) -> dict:
    """Is this display's refresh measurable and are flips locked to it? (pure)

    ``intervals_s``: flip-to-flip intervals of a few hundred empty frames;
    ``loaded_intervals_s``: the same with ``LOCK_TEST_LOAD`` of a period of
    busy work before each flip. Returns the numbers and ``problems`` (plain
    sentences; empty when the display can be trusted with frame-counted
    durations).
    """
    free = frame_statistics(intervals_s)
    loaded = frame_statistics(loaded_intervals_s)
    growth = loaded["median_interval_s"] / free["median_interval_s"] - 1.0
    problems = []
    if not min_hz <= free["rate_hz"] <= max_hz:
        problems.append(f"measured refresh {free['rate_hz']:.1f} Hz is outside {min_hz:g}-{max_hz:g} Hz")
    if free["sd_s"] > max_sd_s:
        problems.append(f"frame intervals vary too much (SD {free['sd_s'] * 1000:.2f} ms, limit "
                        f"{max_sd_s * 1000:g} ms)")
    if free["dropped_fraction"] > max_dropped:
        problems.append(f"{free['n_dropped']} of {free['n_intervals']} frames were dropped (limit "
                        f"{max_dropped:.0%})")
    if growth > max_growth:
        problems.append(f"flips are not locked to the refresh (frames became {growth:.0%} longer when "
                        f"{LOCK_TEST_LOAD:.0%} of a frame of work was added)")
    return {"ok": not problems, "problems": problems, "refresh_hz": free["rate_hz"],
            "interval_sd_ms": free["sd_s"] * 1000, "n_frames": free["n_intervals"],
            "n_dropped": free["n_dropped"], "lock_test_growth": growth,
            "loaded_refresh_hz": loaded["rate_hz"],
            "limits": {"min_hz": min_hz, "max_hz": max_hz, "max_sd_ms": max_sd_s * 1000,
                       "max_dropped_fraction": max_dropped, "max_lock_growth": max_growth,
                       "lock_test_load": LOCK_TEST_LOAD}}
