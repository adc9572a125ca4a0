"""A participant at the keyboard and mouse of a headless Chromium page (Playwright).

Everything goes through real input events: clicks, a mouse drag on the card's
corner, key presses. The page's ``window.halfface.screens`` (what is on screen
since when, on the page's own clock) tells the participant when to act;
``performance.timeOrigin`` turns those times into wall-clock seconds for the
RT checks against the moment each key was sent.
"""

import math
import time

WAIT_S = 60


class Participant:
    def __init__(self, page, screenshot_dir=None, prefix=""):
        self.page = page
        self.shots = screenshot_dir
        self.prefix = prefix
        self.seen = 0  # screens already consumed
        self.taken = set()
        self.sent = []  # (screen, trial, key, t_send_start, t_send_end) in wall-clock seconds
        self.errors = []
        page.on("pageerror", lambda err: self.errors.append(str(err)))

    # ------------------------------------------------------------------ waiting
    def screens(self):
        return self.page.evaluate("window.halfface ? window.halfface.screens : []")

    def wait(self, screen, trial=None):
        """Block until ``screen`` (of ``trial``) appears after the screens already consumed; returns it.

        The page looks for it at every frame (Playwright's ``wait_for_function``) instead of a round trip
        from here every 5 ms, which kept Python, Playwright's driver and the page busy the whole session.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # (conftest explains a missing Playwright)

        try:
            found = self.page.wait_for_function(
                """([seen, screen, trial]) => {
                    const shown = window.halfface ? window.halfface.screens : [];
                    for (let k = seen; k < shown.length; k++) {
                      const s = shown[k];
                      if (s.screen === "error" || (s.screen === screen && (trial === null || s.trial === trial)))
                        return { k, s };
                    }
                    return false;
                }""", arg=[self.seen, screen, None if trial is None else str(trial)], timeout=WAIT_S * 1000,
            ).json_value()
        except PlaywrightTimeout:
            raise AssertionError(f"no {screen} screen (trial {trial}) within {WAIT_S} s; "
                                 f"last screens {self.screens()[-5:]}; page errors {self.errors}") from None
        if found["s"]["screen"] == "error" and screen != "error":
            raise AssertionError(f"the page shows an error: {self.page.inner_text('body')}")
        self.seen = found["k"] + 1
        return found["s"]

    def wall(self, page_ms):
        """Wall-clock seconds of a page timestamp (performance.now() scale)."""
        return (self.origin + page_ms) / 1000

    @property
    def origin(self):
        if not hasattr(self, "_origin"):
            self._origin = self.page.evaluate("performance.timeOrigin")
        return self._origin

    def snap(self, name):
        """A screenshot of the current screen, once per name."""
        if self.shots is not None and name not in self.taken:
            self.page.screenshot(path=str(self.shots / f"{self.prefix}{len(self.taken) + 1:02d}_{name}.png"))
            self.taken.add(name)

    # ------------------------------------------------------------------ acting
    def press(self, key, screen=None, trial=None):
        t0 = time.time()
        self.page.keyboard.press(key)
        t1 = time.time()
        self.sent.append((screen, trial, key, t0, t1))
        return t0, t1

    def consent(self, agree=True):
        self.wait("consent")
        self.snap("consent")
        self.page.click(f'#hf-final button[data-choice="{0 if agree else 1}"]')

    def enter_fullscreen(self):
        self.wait("fullscreen")
        self.page.wait_for_selector("#jspsych-fullscreen-btn")
        self.snap("fullscreen")
        self.page.click("#jspsych-fullscreen-btn")

    def calibrate(self, card_width_px, distance_mm, reps=5):
        """Drag the card to ``card_width_px``, then press space where the ball is 13.5 deg from the square."""
        self.wait("chinrest")
        handle = self.page.wait_for_selector("#jspsych-resize-handle").bounding_box()
        width = self.page.evaluate("document.querySelector('#item').getBoundingClientRect().width")
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + (card_width_px - width) / 2, y, steps=8)  # the card grows by twice the drag
        self.page.mouse.up()
        self.snap("card")
        self.page.click("#end_resize_phase")
        px_per_mm = card_width_px / 85.6
        target = math.tan(math.radians(13.5)) * distance_mm * px_per_mm  # ball-to-square distance at the blind spot
        self.page.wait_for_selector("#virtual-chinrest-circle")
        self.snap("blindspot")
        for _ in range(reps):
            self.page.keyboard.press("Space")  # start the ball
            self.page.wait_for_function("""(target) => {  // checked at every frame, in the page
                const x = (s) => { const b = document.querySelector(s).getBoundingClientRect();
                                   return b.left + b.width / 2; };
                return x('#virtual-chinrest-square') - x('#virtual-chinrest-circle') >= target; }""",
                                        arg=target, timeout=WAIT_S * 1000)
            self.page.keyboard.press("Space")  # "the ball disappeared"
        self.page.wait_for_selector("#distance-estimate")
        self.snap("distance")
        self.page.click("#proceed")

    def message(self, name):
        self.wait(name)
        self.snap(name)
        self.press("Space", name)

    def trial(self, trial, emotion_key="3", intensity_key="4", look_s=0.35, before_emotion=(), on_face=None,
              on_emotion=None):
        """One trial as a participant does it; returns the face screen's page entry (with its fixation's)."""
        fixation = self.wait("fixation", trial)
        self.snap("fixation")
        face = self.wait("face", trial)
        self.snap("face")
        if on_face is not None:
            on_face()
        wait = self.wall(face["t"]) + look_s - time.time()
        time.sleep(max(0.0, wait))
        self.press("Space", "face", trial)
        self.wait("emotion", trial)
        self.snap("emotion")
        if on_emotion is not None:
            on_emotion()
            return face
        for key in before_emotion:
            self.press(key, "emotion", trial)
        self.press(emotion_key, "emotion", trial)
        self.wait("intensity", trial)
        self.snap("intensity")
        self.press(intensity_key, "intensity", trial)
        self.wait("saved", trial)
        face["fixation"] = fixation
        return face

    def last_send(self, screen, trial, key):
        return [s for s in self.sent if s[:3] == (screen, trial, key)][-1]
