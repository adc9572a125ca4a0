"""Frame maths: 250 ms in whole frames of the measured refresh rate."""

import pytest

from experiment.timing import FIXATION_S, frames_for, rate_from_intervals, realised_duration, refresh_lock_check


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


def test_rate_from_intervals_ignores_an_occasional_late_frame():
    intervals = [1 / 75] * 50 + [3 / 75, 2 / 75]
    assert rate_from_intervals(intervals) == pytest.approx(75)
    with pytest.raises(ValueError):
        rate_from_intervals([0.01, 0.01])


def test_refresh_lock_check_flags_unsynchronised_flips():
    locked = refresh_lock_check([0.2505, 0.2498, 0.2501], 15, 60)
    assert locked["locked_to_refresh"] is True
    assert locked["fixation_expected_s"] == pytest.approx(0.25)
    free_running = refresh_lock_check([0.081, 0.078, 0.080], 42, 167)  # Xvfb: no vsync
    assert free_running["locked_to_refresh"] is False
    assert free_running["fixation_median_s"] == pytest.approx(0.080)
