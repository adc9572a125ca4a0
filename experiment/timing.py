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


def rate_from_intervals(intervals_s) -> float:
    """Refresh rate from flip-to-flip intervals; the median ignores the odd late frame."""
    intervals = [t for t in intervals_s if t > 0]
    if len(intervals) < 3:
        raise ValueError("need at least 3 positive frame intervals to estimate a refresh rate")
    return 1.0 / statistics.median(intervals)


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
