"""Frame maths: 250 ms in whole frames of the measured refresh rate."""

import pytest

from experiment.timing import (FIXATION_S, assess_display, frames_for, realised_duration,
                               refresh_lock_check)


@pytest.mark.parametrize("hz, frames, realised_ms", [
    (60, 15, 250.0), (75, 19, 253.333), (144, 36, 250.0), (390, 98, 251.282), (120, 30, 250.0),
    (59.94, 15, 250.250), (85, 21, 247.059),
])
def test_fixation_frames_for_common_refresh_rates(hz, frames, realised_ms):
    assert frames_for(FIXATION_S, hz) == frames
    assert realised_duration(frames, hz) * 1000 == pytest.approx(realised_ms, abs=1e-3)
    assert abs(realised_duration(frames, hz) - FIXATION_S) <= 0.5 / hz + 1e-12


@pytest.mark.parametrize("bad", [0, -60, None, float("nan"), float("inf")])
def test_refresh_rate_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError):
        frames_for(0.25, bad)


def test_very_short_durations_still_get_one_frame():
    assert frames_for(0.001, 60) == 1


def test_refresh_lock_check_flags_unsynchronised_flips():
    locked = refresh_lock_check([0.2505, 0.2498, 0.2501], 15, 60)
    assert locked["locked_to_refresh"] is True
    assert locked["fixation_expected_s"] == pytest.approx(0.25)
    free_running = refresh_lock_check([0.081, 0.078, 0.080], 42, 167)  # Xvfb: no vsync
    assert free_running["locked_to_refresh"] is False
    assert free_running["fixation_median_s"] == pytest.approx(0.080)


def _intervals(period, sd=0.0, n=300, seed=0, dropped=0):
    import random

    rng = random.Random(seed)
    out = [max(1e-5, rng.gauss(period, sd)) for _ in range(n)]
    for k in range(dropped):
        out[k * 7] = 2 * period
    return out


def test_a_locked_60hz_display_passes_the_preflight():
    check = assess_display(_intervals(1 / 60, 0.0001), _intervals(1 / 60, 0.0001, n=120, seed=1))
    assert check["ok"] and check["problems"] == []
    assert check["refresh_hz"] == pytest.approx(60, rel=1e-3) and abs(check["lock_test_growth"]) < 0.01


def test_xvfb_like_free_running_flips_are_refused_with_each_reason():
    # what Xvfb showed: ~2114 Hz, and frames that lengthen by the work added before each flip
    check = assess_display(_intervals(1 / 2114, 0.00001), _intervals(1.5 / 2114, 0.00001, n=120))
    assert not check["ok"]
    assert any("refresh 211" in p and "outside 50-500 Hz" in p for p in check["problems"])
    assert any("not locked to the refresh" in p for p in check["problems"])


def test_a_free_running_loop_at_a_plausible_rate_is_caught_by_the_lock_test_alone():
    check = assess_display(_intervals(1 / 120, 0.0002), _intervals(1.5 / 120, 0.0002, n=120))
    assert [p for p in check["problems"]] == [
        "flips are not locked to the refresh (frames became 50% longer when 50% of a frame of work was added)"]


def test_jittery_intervals_and_dropped_frames_are_refused():
    jitter = assess_display(_intervals(1 / 60, 0.003), _intervals(1 / 60, 0.0001, n=120))
    assert any("SD" in p for p in jitter["problems"]) and len(jitter["problems"]) == 1
    drops = assess_display(_intervals(1 / 60, 0.0001, dropped=30), _intervals(1 / 60, 0.0001, n=120))
    assert drops["n_dropped"] == 30 and any("30 of 300 frames were dropped" in p for p in drops["problems"])


def test_window_size_mismatch_names_both_sizes_and_the_fix():
    from experiment.monitor import MonitorSpec, window_size_problem

    spec = MonitorSpec(53.0, 60.0, (1920, 1080), source="--screen-size")
    assert window_size_problem((1920, 1080), spec, fullscreen=True) is None
    problem = window_size_problem((1280, 1024), spec, fullscreen=True)
    assert "1280x1024 px" in problem and "1920x1080 px" in problem and "15.0 deg tall" in problem
    assert "--screen-size 1280x1024" in problem
