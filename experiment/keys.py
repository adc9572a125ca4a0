"""Response keys and the mapping shown on the question screens (§3.1.3)."""

from halfface.schema import EMOTION_KEYS, EMOTIONS  # number key k answers EMOTIONS[k-1]

CONTINUE_KEY = "space"
QUIT_KEY = "escape"
CONFIRM_YES, CONFIRM_NO = "y", "n"
NUMPAD_PREFIX = "num_"

INTENSITY_KEYS = {str(k): k for k in range(1, 6)}


def key_for_emotion(emotion: str) -> str:
    """The number key that answers ``emotion`` (ValueError for unknown names)."""
    for key, name in EMOTION_KEYS.items():
        if name == emotion:
            return key
    raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")


def normalise_key(name: str) -> str:
    """Numpad digits answer like the digits above the letters: ``num_3`` -> ``3``.

    Psychtoolbox names the keypad keys ``num_0``..``num_9`` whatever the NumLock
    state; a participant who answers on the keypad must not find the program
    deaf to them.
    """
    if name.startswith(NUMPAD_PREFIX) and name[len(NUMPAD_PREFIX):].isdigit():
        return name[len(NUMPAD_PREFIX):]
    return name


def keys_to_listen(valid_keys) -> list:
    """The names to ask the keyboard for: each valid digit also as its numpad key."""
    names = list(valid_keys)
    return names + [NUMPAD_PREFIX + k for k in names if k.isdigit()]

