"""The trial procedure (§3.1.2–3.1.3) and the session loop around it.

``run_trial`` reads like the paper: fixation -> half-face until space ->
emotion question -> intensity question. Window and keyboard details live in
``screen`` and ``responses``; this module only sequences them.
"""

import json
import time
from datetime import datetime, timezone
from typing import NamedTuple

from experiment.keys import CONFIRM_NO, CONFIRM_YES, CONTINUE_KEY, EMOTION_KEYS, INTENSITY_KEYS, QUIT_KEY
from experiment.logfile import build_row


class QuitSession(Exception):
    """The experimenter pressed Escape and confirmed with 'y'."""


class TrialInterrupted(Exception):
    """Escape was pressed and declined: the trial is run again from the fixation."""


class Shown(NamedTuple):
    key: str
    rt: float  # from the onset flip
    onset: float  # flip time of the screen's first frame (screen clock)


def run_trial(screen, responder, trial, fixation_frames, events):
    """One trial as in §3.1.2–3.1.3; returns the measured values for the log row."""
    screen.load_stimulus(trial["stimulus_path"], trial["image_size"])  # decode now, not at onset
    dropped_before = screen.dropped_frames()
    # 1. white '+' for 250 ms, counted in frames of the measured refresh rate
    fixation_onset = show_for_frames(screen, screen.fixation, fixation_frames, "fixation", trial, events)
    # 2. the half-face stays until SPACE; its onset flip ends the fixation and starts the RT clock
    face = wait_for_key(screen, responder, screen.face, [CONTINUE_KEY], "stimulus", trial, events)
    # 3. emotion type, keys 1-7 (mapping on screen)
    emotion = wait_for_key(screen, responder, screen.emotion_question, list(EMOTION_KEYS), "emotion", trial,
                           events, correct_emotion=trial["emotion"])
    # 4. intensity, keys 1-5
    intensity = wait_for_key(screen, responder, screen.intensity_question, list(INTENSITY_KEYS), "intensity",
                             trial, events)
    return {
        "response_emotion": EMOTION_KEYS[emotion.key], "response_key": emotion.key,
        "intensity": INTENSITY_KEYS[intensity.key],
        "rt": face.rt, "emotion_rt": emotion.rt, "intensity_rt": intensity.rt,
        "fixation_frames": fixation_frames, "fixation_duration": face.onset - fixation_onset,
        "stim_onset": face.onset - events.t0,
        "dropped_frames": screen.dropped_frames() - dropped_before,
        "trial_end": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }


def show_for_frames(screen, drawable, n_frames, label, trial, events):
    """Show ``drawable`` for exactly ``n_frames`` flips; returns the onset flip time."""
    screen.draw(drawable)
    onset = screen.flip()
    events.emit("onset", screen=label, trial=trial["trial"], wall=screen.last_flip_wall)
    for frame in range(1, n_frames):
        screen.draw(drawable)
        if frame == 1:
            screen.capture(label)
        screen.flip()
    return onset


def wait_for_key(screen, responder, drawable, valid_keys, label, trial, events, correct_emotion=None,
                 in_trial=True, allow_quit=True):
    """Show ``drawable`` until one of ``valid_keys``; other keys are ignored.

    Escape asks for confirmation: 'y' raises QuitSession; 'n' re-runs the trial
    (TrialInterrupted) so no RT includes the pause, or simply resumes waiting
    on screens outside a trial.
    """
    accepted = list(valid_keys) + ([QUIT_KEY] if allow_quit else [])
    while True:
        responder.arm(screen.win, accepted, correct_emotion)
        screen.draw(drawable)
        onset = screen.flip()
        events.emit("onset", screen=label, trial=trial["trial"] if trial else None, wall=screen.last_flip_wall)
        frame, press = 0, None
        while press is None:
            press = responder.poll()
            if press is None:
                screen.draw(drawable)
                frame += 1
                if frame == 1:
                    screen.capture(label)
                screen.flip()
        if press.name != QUIT_KEY:
            return Shown(press.name, press.rt, onset)
        if confirm_quit(screen, responder, events):
            raise QuitSession()
        if in_trial:
            raise TrialInterrupted()


def confirm_quit(screen, responder, events) -> bool:
    answer = wait_for_key(screen, responder, screen.quit_question, [CONFIRM_YES, CONFIRM_NO], "quit", None,
                          events, in_trial=False, allow_quit=False)
    return answer.key == CONFIRM_YES


def show_message(screen, responder, text, label, events):
    """A text screen that waits for SPACE (instructions, breaks, end of practice)."""
    drawable = screen.instructions if text is None else screen.message(text)
    wait_for_key(screen, responder, drawable, [CONTINUE_KEY], label, None, events, in_trial=False)


def run_trial_until_done(screen, responder, trial, fixation_frames, events):
    while True:
        try:
            return run_trial(screen, responder, trial, fixation_frames, events)
        except TrialInterrupted:
            events.emit("restart", trial=trial["trial"])


def run_session(screen, responder, trials, log, *, participant, session, fixation_frames, start, events,
                practice=(), break_every=0, instructions=True):
    """Run ``trials[start:]``, saving each row as soon as it ends; returns how many were saved.

    Practice trials (only when starting from trial 1) are not logged.
    """
    if instructions:
        show_message(screen, responder, None, "instructions", events)
    if practice and start == 0:
        for trial in practice:
            run_trial_until_done(screen, responder, trial, fixation_frames, events)
        show_message(screen, responder, "End of practice.\n\nPress SPACE to start the experiment.",
                     "practice_end", events)
    saved = 0
    for trial in trials[start:]:
        measured = run_trial_until_done(screen, responder, trial, fixation_frames, events)
        log.append(build_row(participant, session, trial, measured))
        saved += 1
        events.emit("saved", trial=trial["trial"])
        done = trial["trial"]
        if break_every and done % break_every == 0 and done < len(trials):
            show_message(screen, responder, f"Break: {done} of {len(trials)} trials done.\n\n"
                         "Rest a moment, then press SPACE to continue.", "break", events)
    return saved


class EventLog:
    """Optional JSON-lines feed of screen onsets and saves, for monitoring and automated tests."""

    def __init__(self, path=None, t0=0.0):
        self.t0 = t0
        self._file = open(path, "a", encoding="utf-8") if path else None

    def emit(self, event, **fields):
        if self._file is None:
            return
        fields.setdefault("wall", time.time())
        self._file.write(json.dumps({"event": event, **fields}) + "\n")
        self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()
