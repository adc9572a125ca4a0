"""Where responses come from: the real keyboard, or the simulated participant.

Both follow PsychoPy Builder's pattern: the response clock is reset and old
key events are cleared *on the onset flip* (``win.callOnFlip``), so an RT is
measured from the moment the screen appeared.
"""

import time
from typing import NamedTuple

from experiment.keys import keys_to_listen, normalise_key


class Press(NamedTuple):
    name: str
    rt: float  # seconds from the onset flip


class KeyboardResponder:
    """``psychopy.hardware.keyboard.Keyboard`` with the ptb backend (hardware timestamps).

    The 'event' backend of Keyboard is unreliable, so anything but ptb is refused.
    """

    def __init__(self):
        from psychopy import logging as psychopy_logging
        from psychopy.hardware import keyboard

        self._clock = psychopy_logging.defaultClock  # the clock of KeyPress.tDown
        self.kb = keyboard.Keyboard(backend="ptb")
        backend = self.kb.getBackend()
        if backend != "ptb":
            raise RuntimeError(f"keyboard backend is {backend!r}, not 'ptb': install psychtoolbox "
                               "(and libjack on Linux) so key presses are timestamped")
        self._valid = []
        self._onset = float("inf")
        self._returned = set()

    def arm(self, win, valid_keys, correct_emotion=None):
        self._valid = keys_to_listen(valid_keys)  # digits also from the numpad
        self._onset = float("inf")
        self._returned = set()
        win.callOnFlip(self._on_onset)

    def _on_onset(self):
        self.kb.clock.reset()
        self.kb.clearEvents()
        self._onset = self._clock.getTime()

    def poll(self):
        # waitRelease=False: the press itself ends the screen, as in §3.1.2.
        # Pitfall: with waitRelease=False PsychoPy skips presses whose release has
        # already arrived, so a quick tap that falls between two polls (a slow
        # frame) would be lost; completed presses are therefore collected too.
        # Both carry rt from the key-down time. A press that began before this
        # screen's onset cannot answer it: PsychoPy re-queues a press when its
        # release arrives, so the previous screen's answer key would come back.
        pressed = self.kb.getKeys(keyList=self._valid, waitRelease=False, clear=True)
        pressed += self.kb.getKeys(keyList=self._valid, waitRelease=True, clear=True)
        # The same physical press also comes back once released: a press the screen
        # ignored (faster than the minimum RT) must not count twice.
        pressed = [k for k in pressed if k.tDown >= self._onset and k.tDown not in self._returned]
        if not pressed:
            return None
        first = min(pressed, key=lambda k: k.tDown)
        self._returned.add(first.tDown)
        return Press(normalise_key(first.name), float(first.rt))


class SimulatedResponder:
    """Presses the key a :class:`~experiment.simulate.SimulatedParticipant` chose, after its RT."""

    def __init__(self, participant, quit_key="escape"):
        self.participant = participant
        self.quit_key = quit_key
        self._plan = None
        self._t0 = None

    def arm(self, win, valid_keys, correct_emotion=None):
        answerable = [k for k in valid_keys if k != self.quit_key]
        self._plan = self.participant.respond(answerable, correct_emotion)
        self._t0 = None
        win.callOnFlip(self._start)

    def _start(self):
        self._t0 = time.perf_counter()

    def poll(self):
        if self._t0 is None:
            return None
        elapsed = time.perf_counter() - self._t0
        key, delay = self._plan
        if elapsed < delay:
            return None
        # Should the screen ignore this press (faster than the minimum RT), the
        # participant presses again after another RT, as a person would.
        self._plan = (key, elapsed + self.participant.rt())
        return Press(key, elapsed)
