"""The other side of a half-face.

The emotion categories (HSAW paper, Huang & Yang 2024, §3.1.1; their order is
the order of the number keys, 1 = happiness, ...) and the side names are
defined once, for every package, in :mod:`halfface.schema`: import them from there.
"""

from halfface.schema import SIDES


def other_side(side: str) -> str:
    """'left' -> 'right' and back; anything else is a ValueError."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return "right" if side == "left" else "left"
