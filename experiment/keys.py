"""Response keys and the mapping shown on the question screens (§3.1.3)."""

from stimuli.labels import EMOTIONS

CONTINUE_KEY = "space"
QUIT_KEY = "escape"
CONFIRM_YES, CONFIRM_NO = "y", "n"

# Number key k answers EMOTIONS[k-1]: the paper's category order.
EMOTION_KEYS = {str(k): emotion for k, emotion in enumerate(EMOTIONS, start=1)}
INTENSITY_KEYS = {str(k): k for k in range(1, 6)}


def key_for_emotion(emotion: str) -> str:
    """The number key that answers ``emotion`` (ValueError for unknown names)."""
    for key, name in EMOTION_KEYS.items():
        if name == emotion:
            return key
    raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")


def emotion_prompt() -> str:
    mapping = "\n".join(f"{key} = {name}" for key, name in EMOTION_KEYS.items())
    return f"Which emotion did the face show?\n\n{mapping}"


def intensity_prompt() -> str:
    return "How intense was the emotion?\n\n1 = very weak   2   3   4   5 = very strong"


def quit_prompt() -> str:
    return "Quit the session?\n\ny = yes, quit (answers so far are saved)\nn = no, continue"


def instructions_text() -> str:
    mapping = "   ".join(f"{key} {name}" for key, name in EMOTION_KEYS.items())
    return (
        "In each trial a cross (+) appears, then half of a face.\n"
        "Look at the face and press SPACE when you have memorised it.\n"
        "Then answer two questions with the number keys:\n\n"
        f"the emotion: {mapping}\n"
        "its intensity: 1 (very weak) to 5 (very strong)\n\n"
        "Press SPACE to start."
    )
