"""Emotion categories and side names shared by stimuli, experiment and analysis.

The HSAW paper (Huang & Yang 2024, §3.1.1) uses seven categories; their order
here is the order of the number keys in the experiment (1 = happiness, ...).
"""

EMOTIONS = ("happiness", "fear", "anger", "disgust", "sadness", "surprise", "others")

# §3.1.4: positive vs negative comparison; surprise and others are in neither group.
POSITIVE_EMOTIONS = ("happiness",)
NEGATIVE_EMOTIONS = ("fear", "disgust", "sadness", "anger")

# visible_half: the poser's own (anatomical) side that stays visible.
# visible_image_side: where that half lies in the picture as shown. For a
# non-mirrored photo the poser's left half appears on the image's right.
SIDES = ("left", "right")

GENDERS = ("female", "male", "unknown")


def other_side(side: str) -> str:
    """'left' -> 'right' and back; anything else is a ValueError."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return "right" if side == "left" else "left"
