"""The PsychoPy window and what is drawn on it (the only module that draws).

Sizes are in degrees of visual angle through a ``psychopy.monitors.Monitor``
built from :class:`experiment.monitor.MonitorSpec` (which may come from
Monitor Center). The display preflight's measurements live here too
(``check_size``, ``apply_gamma``, ``measure_display``); ``run`` calls them
before the first instruction screen and ``timing.assess_display`` judges them.
"""

import sys
import time
from dataclasses import replace
from pathlib import Path

from psychopy import logging as psychopy_logging
from psychopy import visual

from experiment import monitor_center
from experiment.monitor import monitor_spec, stimulus_size_deg, window_size_problem
from experiment.monitor_center import unsaved_monitor
from experiment.texts import TextsError
from experiment.timing import LOCK_TEST_LOAD, assess_display

WINDOW_TITLE = "halfface experiment"
WINDOWED_SIZE = (1024, 768)
TEXT_HEIGHT_DEG = 0.8
FIXATION_HEIGHT_DEG = 1.0
# PsychoPy's advice: a frame counts as dropped when it took longer than the
# period plus a few ms of tolerance.
DROPPED_FRAME_TOLERANCE_S = 0.004
PREFLIGHT_FRAMES = 300  # "a few hundred": 5 s at 60 Hz
LOCK_TEST_FRAMES = 120
WARM_UP_FRAMES = 20
# On a display whose flips are not locked to a refresh (--allow-unlocked-display: Xvfb, a demo machine) a
# flip returns at once, so a screen that waits for a key is redrawn as fast as the CPU allows (Xvfb: over
# 1000 times a second), taking a core, and the X server another, from everything else on the machine.
# There the session's flips are paced at a common monitor's rate instead; a locked display paces itself.
UNLOCKED_PACE_HZ = 60.0


class DisplayRefused(Exception):
    """The display cannot give the sizes or timing the procedure needs; the message names the fix."""


def screen_sizes() -> list:
    """Pixel size of each screen of the display, before any window opens."""
    import pyglet

    return [(s.width, s.height) for s in pyglet.canvas.get_display().get_screens()]


def nominal_refresh_hz(win):
    """The refresh rate the operating system reports for the window's screen, or None."""
    try:
        mode = win.winHandle.screen.get_mode()
        return float(mode.rate) if mode is not None and getattr(mode, "rate", 0) else None
    except Exception:  # pyglet raises different things per platform when modes are unavailable
        return None


def first_installed_font(fonts):
    """The first of ``fonts`` that the system has (None: none is, or none was asked for)."""
    import pyglet

    return next((f for f in fonts if pyglet.font.have_font(f)), None)


def font_for(texts):
    """The instructions file's first installed font; refused when its language would show as empty boxes."""
    font = first_installed_font(texts.fonts)
    if texts.fonts and font is None and texts.language != "en":
        raise TextsError(f"{texts.source}: none of its fonts ({', '.join(texts.fonts)}) is installed, so its text "
                         "would show as empty boxes: install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei)")
    return font


def monitor_for(args, config=None, screen_size=None, gamma=None):
    """The monitor description: Monitor Center, or config/options/detected size (ValueError names the fix)."""
    sizes = screen_sizes()
    if not 0 <= args.screen < len(sizes):
        raise ValueError(f"--screen {args.screen}: this display has {len(sizes)} screen(s), numbered 0 to "
                         f"{len(sizes) - 1}")
    if args.monitor:
        spec = monitor_center.load_saved(args.monitor, args.distance_cm, screen_size)
        if gamma:
            spec = replace(spec, gamma=gamma, source=spec.source + "; gamma from --gamma")
        return spec
    detected = None if (screen_size or (config or {}).get("resolution_px")) else sizes[args.screen]
    spec = monitor_spec(config, args.monitor_width_cm, args.distance_cm, screen_size, detected, gamma)
    if config:
        monitor_center.refuse_name_clash(spec)
    if "defaults" in spec.source:
        print(f"warning: monitor {spec.source}; sizes in degrees assume width {spec.width_cm:g} cm at "
              f"{spec.distance_cm:g} cm: give --monitor, --monitor-width-cm or --config for exact visual angles",
              file=sys.stderr)
    return spec


def background_rgb255(text):
    """``--background`` as [r, g, b] 0-255 (for the sidecar); ValueError for what PsychoPy cannot draw."""
    from psychopy.colors import Color

    try:
        colour = Color(text)
        if colour.valid:
            return [int(v) for v in colour.rgb255]
    except Exception:  # PsychoPy raises a bare Exception for unknown colour strings
        pass
    raise ValueError(f"--background {text!r} is not a PsychoPy colour name or #rrggbb (e.g. black, grey, #808080)")


def display_refusal(check: dict) -> str:
    """The one line that refuses a display whose timing failed ``timing.assess_display``, with the fix."""
    return ("the display's timing cannot be trusted: " + "; ".join(check["problems"]) + ". Turn on vsync "
            "(\"wait for vertical refresh\") in the graphics driver and close other programs; run "
            "`python -m experiment check-display` to see the frame intervals; for a demo or a virtual display "
            "add --allow-unlocked-display")


class Screen:
    """A window plus the fixation cross, the face image and text screens."""

    def __init__(self, spec, texts, fullscreen=True, screen=0, background="black", stim_height_deg=10.0,
                 screenshot_dir=None, font=None):
        # Dropped frames are counted per trial in the log, and PsychoPy's warnings
        # go to the session's .log file (LogFile, opened by the caller); on the
        # console they would only bury the experimenter's messages.
        psychopy_logging.console.setLevel(psychopy_logging.ERROR)
        self.spec, self.fullscreen, self.texts = spec, fullscreen, texts
        size = spec.resolution_px if fullscreen else tuple(min(a, b) for a, b in zip(WINDOWED_SIZE, spec.resolution_px))
        self.win = visual.Window(size=size, fullscr=fullscreen, screen=screen, monitor=unsaved_monitor(spec),
                                 units="deg", color=background, winType="pyglet", allowGUI=not fullscreen,
                                 title=WINDOW_TITLE, checkTiming=False)
        self.win.mouseVisible = False
        self.gamma_applied = None
        self.stim_height_deg = stim_height_deg
        wrap = 0.9 * self.win.size[0] / (spec.resolution_px[0] / spec.width_cm) / (spec.distance_cm * 0.017455)
        self.font = font
        self.fixation = visual.TextStim(self.win, text="+", color="white", height=FIXATION_HEIGHT_DEG)
        self.face = visual.ImageStim(self.win, units="deg", interpolate=True)
        self.emotion_question = self._text(texts.screen("emotion_question"), wrap)
        self.intensity_question = self._text(texts.screen("intensity_question"), wrap)
        self.quit_question = self._text(texts.screen("quit_question"), wrap)
        self.instructions = self._text(texts.screen("instructions"), wrap)
        self._message = self._text("", wrap)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self._captured = set()
        self.last_flip_wall = None
        self.pace_hz = None  # pace_flips()
        self._last_flip = 0.0
        self.refresh_hz = None
        self.refresh_method = None

    def _text(self, text, wrap):
        extra = {"font": self.font} if self.font else {}
        return visual.TextStim(self.win, text=text, color="white", height=TEXT_HEIGHT_DEG, wrapWidth=wrap, **extra)

    def message(self, text):
        self._message.text = text
        return self._message

    # --- preflight: before the first instruction screen -------------------------------------------

    def apply_gamma(self, allow_failure: bool) -> None:
        """Set the monitor's gamma on the window, or refuse (or, if allowed, record that it was not set)."""
        if not self.spec.gamma:
            return
        try:
            self.win.gamma = list(self.spec.gamma)
            self.gamma_applied = True
        except OSError as err:
            self.gamma_applied = False
            message = (f"gamma {list(self.spec.gamma)} ({self.spec.source}) cannot be set on this display "
                       f"({str(err).splitlines()[0]}): use a display driver with a gamma table (X: XF86VidMode), "
                       "or for a demo or virtual display add --allow-unlocked-display")
            if not allow_failure:
                raise DisplayRefused(message) from None
            psychopy_logging.warning(message)

    def check_size(self, stim_height_deg) -> None:
        handle = self.win.winHandle
        actual = self.win.size if self.fullscreen else (handle.screen.width, handle.screen.height)
        problem = window_size_problem(actual, self.spec, self.fullscreen, stim_height_deg)
        if problem:
            raise DisplayRefused(problem)

    def frame_intervals(self, n_frames: int, load_s: float = 0.0) -> list:
        """Flip-to-flip intervals of ``n_frames`` empty frames, with ``load_s`` of busy work before each flip."""
        for _ in range(WARM_UP_FRAMES):
            self.win.flip()
        times = [self.win.flip()]
        for _ in range(n_frames):
            if load_s:
                until = time.perf_counter() + load_s
                while time.perf_counter() < until:
                    pass
            times.append(self.win.flip())
        return [b - a for a, b in zip(times, times[1:])]

    def measure_display(self) -> dict:
        """Refresh rate, interval SD, dropped frames and the lock test (``timing.assess_display``)."""
        free = self.frame_intervals(PREFLIGHT_FRAMES)
        period = sorted(free)[len(free) // 2]
        loaded = self.frame_intervals(LOCK_TEST_FRAMES, load_s=LOCK_TEST_LOAD * period)
        result = assess_display(free, loaded)
        result["nominal_refresh_hz"] = nominal_refresh_hz(self.win)
        self.refresh_hz = result["refresh_hz"]
        self.refresh_method = (f"median of {PREFLIGHT_FRAMES} flip intervals; lock test: {LOCK_TEST_FRAMES} "
                               f"flips with {LOCK_TEST_LOAD:.0%} of a frame of busy work each")
        self.win.refreshThreshold = 1.0 / self.refresh_hz + DROPPED_FRAME_TOLERANCE_S
        self.win.recordFrameIntervals = True
        return result

    # --- during the session ----------------------------------------------------------------------

    def pace_flips(self, hz: float = UNLOCKED_PACE_HZ) -> None:
        """From now on at most ``hz`` flips a second (an unlocked display); a frame counts as dropped
        when it took longer than that pace plus the tolerance."""
        self.pace_hz = hz
        self.win.refreshThreshold = 1.0 / hz + DROPPED_FRAME_TOLERANCE_S

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
        if self.pace_hz:
            wait = self._last_flip + 1.0 / self.pace_hz - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        self.win.callOnFlip(self._stamp_wall)
        flip_time = self.win.flip()
        self._last_flip = time.perf_counter()
        return flip_time

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
