"""Screen texts from an instructions file (TOML), with the key mapping filled in (pure).

The shipped files are ``experiment/instructions/en.toml`` and ``zh.toml`` (the
paper's participants were Chinese). A file names each emotion and holds the
text of every screen; the program fills ``{emotion_keys}`` from the shared
emotion list (``halfface.schema.EMOTIONS`` via ``experiment.keys``), so the
mapping on screen is always the mapping that is scored, in any language.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from experiment.keys import EMOTION_KEYS
from halfface.cli import UserError

SHIPPED = ("en", "zh")
SCREENS = ("instructions", "practice_end", "emotion_question", "intensity_question", "quit_question", "break",
           "end")
PLACEHOLDERS = {
    "emotion_keys": SCREENS, "emotion_keys_inline": SCREENS, "done": ("break",), "total": ("break",),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class TextsError(UserError, ValueError):
    """The instructions file cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Texts:
    language: str
    fonts: tuple  # candidates, first installed one is used
    emotion_names: dict  # emotion -> display name
    screens: dict  # screen -> text with {emotion_keys...} filled in; break keeps {done}/{total}
    source: str  # file it came from

    def screen(self, name: str, **values) -> str:
        text = self.screens[name]
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        return text


INSTRUCTIONS_DIR = Path(__file__).resolve().parent / "instructions"


def shipped_path(language: str) -> Path:
    return INSTRUCTIONS_DIR / f"{language}.toml"


def resolve(choice) -> Path:
    """``en``/``zh`` name a shipped file unless a file of that name exists; anything else is a path."""
    path = Path(choice)
    if not path.exists() and str(choice) in SHIPPED:
        return shipped_path(str(choice))
    return path


def key_lines(emotion_names: dict) -> str:
    return "\n".join(f"{key} = {emotion_names[emotion]}" for key, emotion in EMOTION_KEYS.items())


def key_line(emotion_names: dict) -> str:
    return "   ".join(f"{key} {emotion_names[emotion]}" for key, emotion in EMOTION_KEYS.items())


def load_texts(choice="en") -> Texts:
    """Read, check and fill an instructions file (a path, or ``en``/``zh`` for the shipped ones)."""
    path = resolve(choice)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TextsError(f"{path}: instructions file not found (use a TOML file like "
                         f"{shipped_path('en')}, or 'en'/'zh' for the shipped ones)") from None
    except UnicodeDecodeError:
        raise TextsError(f"{path}: not UTF-8 text; save the instructions file as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise TextsError(f"{path}: not valid TOML ({err}); compare with {shipped_path('en')}") from None
    emotions = data.get("emotions")
    screens = data.get("screens")
    if not isinstance(emotions, dict) or not isinstance(screens, dict):
        raise TextsError(f"{path}: needs an [emotions] and a [screens] table (see {shipped_path('en')})")
    missing = [e for e in EMOTION_KEYS.values() if not str(emotions.get(e, "")).strip()]
    if missing:
        raise TextsError(f"{path}: [emotions] lacks a name for {', '.join(missing)}; every one of the "
                         f"{len(EMOTION_KEYS)} emotions needs one")
    unknown = sorted(set(emotions) - set(EMOTION_KEYS.values()))
    if unknown:
        raise TextsError(f"{path}: [emotions] has unknown emotion(s) {', '.join(unknown)}; the emotions are "
                         f"{', '.join(EMOTION_KEYS.values())}")
    missing = [s for s in SCREENS if not isinstance(screens.get(s), str) or not screens[s].strip()]
    if missing:
        raise TextsError(f"{path}: [screens] lacks {', '.join(missing)}")
    names = {e: str(emotions[e]).strip() for e in EMOTION_KEYS.values()}
    filled = {}
    for screen in SCREENS:
        text = screens[screen].strip("\n")
        for name in _PLACEHOLDER.findall(text):
            if screen not in PLACEHOLDERS.get(name, ()):
                allowed = [p for p, where in PLACEHOLDERS.items() if screen in where]
                raise TextsError(f"{path}: [screens] {screen} has the placeholder {{{name}}}, which is not "
                                 f"filled there (allowed: {', '.join('{' + p + '}' for p in allowed)})")
        filled[screen] = text.replace("{emotion_keys}", key_lines(names)).replace(
            "{emotion_keys_inline}", key_line(names))
    fonts = data.get("fonts", [])
    fonts = (fonts,) if isinstance(fonts, str) else tuple(str(f) for f in fonts)
    return Texts(str(data.get("language", path.stem)), fonts, names, filled, str(path))
