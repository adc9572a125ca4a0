"""Emotion categories and side names shared by stimuli, experiment and analysis.

The HSAW paper (Huang & Yang 2024, §3.1.1) uses seven categories; their order
here is the order of the number keys in the experiment (1 = happiness, ...).
They are defined once in :mod:`halfface.schema`; these names are its aliases.
"""

from halfface.schema import EMOTIONS, GENDERS, NEGATIVE_EMOTIONS, POSITIVE_EMOTIONS, SIDES  # noqa: F401


def other_side(side: str) -> str:
    """'left' -> 'right' and back; anything else is a ValueError."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return "right" if side == "left" else "left"
