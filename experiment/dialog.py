"""The participant-info dialog (PsychoPy ``gui.DlgFromDict``), for starting a session without typing flags.

``python -m experiment run --conditions manifest.csv`` (no ``--participant``)
opens it, as PsychoPy Builder does before an experiment. A value the session
refuses (an ID that cannot name a file, a number already used, a session
that is complete or running) re-opens the dialog with the reason in red and
with every field as it was typed; Cancel ends without writing anything. When
the participant's session exists and is unfinished, a second dialog offers to
continue it (with its trial count) or to start a new session; a new session
is started only when asked for.
"""

TITLE = "halfface session"
SEXES = ("", "female", "male", "other", "undisclosed")
HANDEDNESS = ("", "right", "left", "ambidextrous")
FIELDS = ("participant", "session", "age", "sex", "handedness")


class AnswerError(ValueError):
    """An answer in the dialog the session cannot use; the message names the field."""


def _choices(current, options):
    # DlgFromDict preselects an empty entry if the list has one, else the first: a
    # value already given goes first, without the empty entry.
    return [current] + [o for o in options if o not in (current, "")] if current else list(options)


def ask(defaults: dict, problem: str | None = None) -> dict | None:
    """Show the dialog pre-filled with ``defaults``; the raw answers, or None when cancelled."""
    from psychopy import gui

    info = {
        "participant": defaults.get("participant") or "",
        "session": str(defaults.get("session") or 1),
        "age": "" if defaults.get("age") is None else str(defaults["age"]),
        "sex": _choices(defaults.get("sex") or "", SEXES),
        "handedness": _choices(defaults.get("handedness") or "", HANDEDNESS),
    }
    dlg = gui.DlgFromDict(info, title=TITLE, order=list(FIELDS), sortKeys=False, show=False)
    if problem:
        dlg.addText(problem, color="red").setWordWrap(True)
    dlg.show()
    return dict(info) if dlg.OK else None


def parse(answers: dict) -> dict:
    """Dialog answers -> session options; AnswerError naming the field and the fix."""
    participant = str(answers.get("participant", "")).strip()
    if not participant:
        raise AnswerError("participant: enter an ID (letters, digits, '-' or '_', e.g. P07)")
    session = str(answers.get("session", "")).strip()
    if not session.isdigit() or int(session) < 1:
        raise AnswerError(f"session: {session!r} is not a whole number >= 1")
    age = str(answers.get("age", "")).strip()
    if age and (not age.isdigit() or not 1 <= int(age) <= 120):
        raise AnswerError(f"age: {age!r} is not a whole number of years (or leave it empty)")
    sex = answers.get("sex") or None
    handedness = answers.get("handedness") or None
    if sex is not None and sex not in SEXES:
        raise AnswerError(f"sex: {sex!r} is not one of {', '.join(s for s in SEXES if s)}")
    if handedness is not None and handedness not in HANDEDNESS:
        raise AnswerError(f"handedness: {handedness!r} is not one of {', '.join(h for h in HANDEDNESS if h)}")
    return {"participant": participant, "session": int(session), "age": int(age) if age else None,
            "sex": sex, "handedness": handedness}


CONTINUE, NEW = "continue", "new"


def unfinished_choices(done: int, planned, next_session: int) -> dict:
    """The second dialog's options, label -> CONTINUE / NEW; continuing comes first (the default)."""
    of = f" of {planned}" if planned else ""
    return {f"continue the unfinished session ({done}{of} trials done)": CONTINUE,
            f"start a new session (session {next_session})": NEW}


def ask_unfinished(participant: str, session: int, sidecar: dict, next_session: int) -> str | None:
    """Continue the unfinished session or start a new one? CONTINUE, NEW, or None (back to the first dialog)."""
    from psychopy import gui

    choices = unfinished_choices(int(sidecar.get("n_trials_done") or 0), sidecar.get("n_trials_planned"),
                                 next_session)
    info = {"unfinished session": list(choices)}
    dlg = gui.DlgFromDict(info, title=f"{TITLE}: {participant} session {session} is unfinished", show=False)
    stopped = sidecar.get("updated") or sidecar.get("started") or "?"
    ended = sidecar.get("ended_by", "?")
    ended = "the program ended without closing (crash or kill)" if ended == "running" else ended
    dlg.addText(f"Participant {participant} session {session} stopped at {stopped} ({ended}).").setWordWrap(True)
    dlg.show()
    return choices.get(info["unfinished session"]) if dlg.OK else None
