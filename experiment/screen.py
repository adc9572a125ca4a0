"""The PsychoPy window and what is drawn on it (the only module that draws).

Sizes are in degrees of visual angle through a ``psychopy.monitors.Monitor``
built from :class:`experiment.monitor.MonitorSpec`.
"""

import time
from pathlib import Path

from psychopy import logging as psychopy_logging
from psychopy import monitors, visual

from experiment import keys
from experiment.monitor import stimulus_size_deg
from experiment.timing import rate_from_intervals

WINDOW_TITLE = "halfface experiment"
WINDOWED_SIZE = (1024, 768)
TEXT_HEIGHT_DEG = 0.8
FIXATION_HEIGHT_DEG = 1.0
# PsychoPy's advice: a frame counts as dropped when it took longer than the
# period plus a few ms of tolerance.
DROPPED_FRAME_TOLERANCE_S = 0.004


def detect_screen_size() -> tuple:
    """Resolution of the default screen (before any window opens)."""
    import pyglet

    screen = pyglet.canvas.get_display().get_default_screen()
    return (screen.width, screen.height)


class Screen:
    """A window plus the fixation cross, the face image and text screens."""

    def __init__(self, spec, fullscreen=True, stim_height_deg=10.0, screenshot_dir=None):
        # Dropped frames are counted per trial in the log; PsychoPy's console
        # warnings for each one would only bury the experimenter's messages.
        psychopy_logging.console.setLevel(psychopy_logging.ERROR)
        monitor = monitors.Monitor(spec.name, width=spec.width_cm, distance=spec.distance_cm, autoLog=False)
        monitor.setSizePix(list(spec.resolution_px))
        size = spec.resolution_px if fullscreen else tuple(min(a, b) for a, b in zip(WINDOWED_SIZE, spec.resolution_px))
        self.win = visual.Window(size=size, fullscr=fullscreen, monitor=monitor, units="deg", color="black",
                                 winType="pyglet", allowGUI=not fullscreen, title=WINDOW_TITLE, checkTiming=False)
        self.win.mouseVisible = False
        self.stim_height_deg = stim_height_deg
        wrap = 0.9 * self.win.size[0] / (spec.resolution_px[0] / spec.width_cm) / (spec.distance_cm * 0.017455)
        self.fixation = visual.TextStim(self.win, text="+", color="white", height=FIXATION_HEIGHT_DEG)
        self.face = visual.ImageStim(self.win, units="deg", interpolate=True)
        self.emotion_question = self._text(keys.emotion_prompt(), wrap)
        self.intensity_question = self._text(keys.intensity_prompt(), wrap)
        self.quit_question = self._text(keys.quit_prompt(), wrap)
        self.instructions = self._text(keys.instructions_text(), wrap)
        self._message = self._text("", wrap)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self._captured = set()
        self.last_flip_wall = None
        self.refresh_hz = None
        self.refresh_method = None

    def _text(self, text, wrap):
        return visual.TextStim(self.win, text=text, color="white", height=TEXT_HEIGHT_DEG, wrapWidth=wrap)

    def message(self, text):
        self._message.text = text
        return self._message

    def measure_refresh_rate(self) -> float:
        """Measure the refresh rate on this screen (never assume 60 Hz)."""
        rate = self.win.getActualFrameRate(nIdentical=20, nMaxFrames=240, nWarmUpFrames=20, threshold=1)
        method = "psychopy getActualFrameRate (20 identical frames, sd < 1 ms)"
        if rate is None:
            # No stable run of frames (no vsync, e.g. Xvfb, or a busy machine): median interval instead.
            times = [self.win.flip() for _ in range(121)]
            rate = rate_from_intervals([b - a for a, b in zip(times, times[1:])])
            method = "median of 120 flip intervals (no stable vsync)"
        self.refresh_hz, self.refresh_method = float(rate), method
        self.win.refreshThreshold = 1.0 / rate + DROPPED_FRAME_TOLERANCE_S
        self.win.recordFrameIntervals = True
        return self.refresh_hz

    def dropped_frames(self) -> int:
        return self.win.nDroppedFrames

    def now(self) -> float:
        """Time on the clock that ``flip`` timestamps use."""
        return psychopy_logging.defaultClock.getTime()

    def load_stimulus(self, path, image_size):
        self.face.image = str(path)
        self.face.size = stimulus_size_deg(image_size, self.stim_height_deg)
        self.win.frameIntervals = []  # only dropped-frame counts are kept; the list would grow all session

    def draw(self, drawable):
        drawable.draw()

    def flip(self) -> float:
        """Flip; returns the flip time and records its wall-clock time for outside observers."""
        self.win.callOnFlip(self._stamp_wall)
        return self.win.flip()

    def _stamp_wall(self):
        self.last_flip_wall = time.time()

    def capture(self, name):
        """Save the back buffer (drawn, not yet flipped) as ``name.png``, once per name."""
        if self.screenshot_dir is None or name in self._captured:
            return
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        image = self.win.getMovieFrame(buffer="back")
        self.win.movieFrames.clear()
        image.save(self.screenshot_dir / f"{name}.png")
        self._captured.add(name)

    def close(self):
        self.win.close()
