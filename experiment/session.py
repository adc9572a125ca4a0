"""The trial procedure (§3.1.2–3.1.3) and the session loop around it.

``run_trial`` reads like the paper: fixation -> half-face until space ->
emotion question -> intensity question. Window and keyboard details live in
``screen`` and ``responses``; this module only sequences them.
"""

import json
import time
from datetime import datetime
from typing import NamedTuple

from experiment.keys import CONFIRM_NO, CONFIRM_YES, CONTINUE_KEY, EMOTION_KEYS, INTENSITY_KEYS, QUIT_KEY
from experiment.logfile import build_row

DEFAULT_MIN_RT_S = 0.15  # a SPACE press faster than this cannot be a response to the face


class QuitSession(Exception):
    """The experimenter pressed Escape and confirmed with 'y'."""


class TrialInterrupted(Exception):
    """Escape on the face screen was declined: the face is shown again from the fixation."""


class Shown(NamedTuple):
    key: str
    rt: float  # from the onset flip of the screen's last showing
    onset: float  # flip time of that showing's first frame (screen clock)
    declined: int = 0  # Escapes declined on this screen (each re-shows it)
    early: int = 0  # presses faster than the minimum RT, ignored


class Fixation(NamedTuple):
    """The 250 ms fixation: frames of the measured refresh, or clock time on an unlocked display."""
    frames: int
    seconds: float
    by_clock: bool = False  # --allow-unlocked-display: frames do not last a period there


def run_trial(screen, responder, trial, fixation, events, min_rt=DEFAULT_MIN_RT_S):
    """One trial as in §3.1.2–3.1.3; returns the measured values for the log row."""
    screen.load_stimulus(trial["stimulus_path"], trial["image_size"])  # decode now, not at onset
    dropped_before = screen.dropped_frames()
    # 1. white '+' for 250 ms, counted in frames of the measured refresh rate
    fixation_onset, fixation_frames = show_fixation(screen, fixation, trial, events)
    # 2. the half-face stays until SPACE; its onset flip ends the fixation and starts the RT clock
    face = wait_for_key(screen, responder, screen.face, [CONTINUE_KEY], "stimulus", trial, events,
                        min_rt=min_rt, restart_on_escape=True)
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
        "restarted": emotion.declined + intensity.declined, "early_presses": face.early,
        "trial_end": datetime.now().astimezone().isoformat(timespec="milliseconds"),
    }


def show_fixation(screen, fixation, trial, events):
    """Show the '+' for ``fixation``; returns (onset flip time, frames shown).

    The next screen's onset flip ends it, so ``n`` flips here last ``n`` periods.
    """
    screen.draw(screen.fixation)
    onset = screen.flip()
    events.emit("onset", screen="fixation", trial=trial["trial"], wall=screen.last_flip_wall)
    frames = 1
    while screen.now() - onset < fixation.seconds if fixation.by_clock else frames < fixation.frames:
        screen.draw(screen.fixation)
        if frames == 1:
            screen.capture("fixation")
        screen.flip()
        frames += 1
    return onset, frames


def wait_for_key(screen, responder, drawable, valid_keys, label, trial, events, correct_emotion=None,
                 min_rt=0.0, restart_on_escape=False, allow_quit=True):
    """Show ``drawable`` until one of ``valid_keys``; other keys are ignored.

    A press faster than ``min_rt`` is ignored and counted (an anticipation).
    Escape asks for confirmation: 'y' raises QuitSession; after 'n' the screen
    is shown again and counted in ``declined``, except with
    ``restart_on_escape`` (the face), where TrialInterrupted re-runs the
    trial from the fixation, so no RT includes the pause.
    """
    accepted = list(valid_keys) + ([QUIT_KEY] if allow_quit else [])
    declined = early = 0
    while True:
        responder.arm(screen.win, accepted, correct_emotion)
        screen.draw(drawable)
        onset = screen.flip()
        events.emit("onset", screen=label, trial=trial["trial"] if trial else None, wall=screen.last_flip_wall)
        frame, press = 0, None
        while press is None:
            press = responder.poll()
            if press is not None and press.name != QUIT_KEY and press.rt < min_rt:
                early += 1
                events.emit("early_press", screen=label, trial=trial["trial"] if trial else None, rt=press.rt)
                press = None
            if press is None:
                screen.draw(drawable)
                frame += 1
                if frame == 1:
                    screen.capture(label)
                screen.flip()
        if press.name != QUIT_KEY:
            return Shown(press.name, press.rt, onset, declined, early)
        if confirm_quit(screen, responder, events):
            raise QuitSession()
        if restart_on_escape:
            raise TrialInterrupted()
        declined += 1


def confirm_quit(screen, responder, events) -> bool:
    answer = wait_for_key(screen, responder, screen.quit_question, [CONFIRM_YES, CONFIRM_NO], "quit", None,
                          events, allow_quit=False)
    return answer.key == CONFIRM_YES


def show_message(screen, responder, text, label, events, allow_quit=True):
    """A text screen that waits for SPACE (instructions, breaks, end of practice, end)."""
    drawable = screen.instructions if text is None else screen.message(text)
    wait_for_key(screen, responder, drawable, [CONTINUE_KEY], label, None, events, allow_quit=allow_quit)


def run_trial_until_done(screen, responder, trial, fixation, events, min_rt):
    """``run_trial``, again from the fixation after each declined Escape on the face (counted in ``restarted``)."""
    restarts = 0
    while True:
        try:
            measured = run_trial(screen, responder, trial, fixation, events, min_rt)
        except TrialInterrupted:
            restarts += 1
            events.emit("restart", trial=trial["trial"], restarted=restarts)
            continue
        measured["restarted"] += restarts
        return measured


def run_session(screen, responder, trials, log, *, participant, session, fixation, start, events, texts,
                run_columns=None, practice=(), practice_log=None, break_every=0, instructions=True,
                min_rt=DEFAULT_MIN_RT_S, on_progress=None):
    """Run ``trials[start:]``, saving each row as soon as it ends; returns how many were saved.

    Practice trials (only when starting from trial 1) go to ``practice_log``.
    ``on_progress(trial number, on_screen)`` is told when a trial comes on
    screen (True) and when its row is saved (False).
    """
    on_progress = on_progress or (lambda trial_number, on_screen: None)
    if instructions:
        show_message(screen, responder, None, "instructions", events)
    if practice and start == 0:
        for trial in practice:
            measured = run_trial_until_done(screen, responder, trial, fixation, events, min_rt)
            practice_log.append(build_row(participant, session, trial, measured, run_columns))
            events.emit("saved_practice", trial=trial["trial"])
        show_message(screen, responder, texts.screen("practice_end"), "practice_end", events)
    saved = 0
    for trial in trials[start:]:
        on_progress(trial["trial"], True)
        measured = run_trial_until_done(screen, responder, trial, fixation, events, min_rt)
        log.append(build_row(participant, session, trial, measured, run_columns))
        on_progress(trial["trial"], False)
        saved += 1
        events.emit("saved", trial=trial["trial"])
        done = trial["trial"]
        if break_every and done % break_every == 0 and done < len(trials):
            show_message(screen, responder, texts.screen("break", done=done, total=len(trials)), "break", events)
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
