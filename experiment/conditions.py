"""Preflight of the conditions file (the stimuli manifest) before any window opens.

Every problem is reported as one line naming the file, the line and the value,
so an experimenter can fix the manifest without reading a traceback.
"""

import csv
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from stimuli.labels import EMOTIONS, SIDES

REQUIRED_COLUMNS = ("stimulus", "source", "photo_id", "emotion", "visible_half", "visible_image_side")
MAX_REPORTED = 10


class ConditionsError(ValueError):
    """The conditions file cannot be used; ``problems`` lists one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED]
        more = len(self.problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more problems"] if more else [])))


def load_conditions(path) -> list[dict]:
    """Read and check the manifest; return its rows with ``stimulus_path`` and ``image_size`` added.

    ``stimulus`` paths are relative to the manifest's folder (the stimuli
    package writes them that way). Each image is fully decoded with PIL, so a
    truncated file fails here and not in trial 93.
    """
    path = Path(path)
    if not path.is_file():
        raise ConditionsError([f"{path}: conditions file not found (pass the stimuli manifest.csv)"])
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ConditionsError([f"{path}: missing column(s) {', '.join(missing)}; "
                                   f"found {', '.join(header) or 'no header'}"])
        rows = list(reader)
    if not rows:
        raise ConditionsError([f"{path}: no trials (only a header)"])
    problems, seen = [], {}
    for line, row in enumerate(rows, start=2):
        where = f"{path} line {line}"
        for column in REQUIRED_COLUMNS:
            if not (row.get(column) or "").strip():
                problems.append(f"{where}: empty {column}")
        if row["emotion"] and row["emotion"] not in EMOTIONS:
            problems.append(f"{where}: emotion {row['emotion']!r} is not one of {', '.join(EMOTIONS)}")
        for column in ("visible_half", "visible_image_side"):
            if row[column] and row[column] not in SIDES:
                problems.append(f"{where}: {column} {row[column]!r} must be 'left' or 'right'")
        if row["stimulus"] in seen:
            problems.append(f"{where}: stimulus {row['stimulus']!r} already listed on line {seen[row['stimulus']]}")
        seen.setdefault(row["stimulus"], line)
        if not row["stimulus"]:
            continue
        image_path = (path.parent / row["stimulus"]).resolve()
        row["stimulus_path"] = str(image_path)
        if not image_path.is_file():
            problems.append(f"{where}: stimulus file {row['stimulus']!r} not found (looked for {image_path})")
            continue
        try:
            with Image.open(image_path) as im:
                im.load()
                row["image_size"] = im.size
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            problems.append(f"{where}: stimulus {row['stimulus']!r} cannot be read as an image ({err})")
        row.setdefault("mirrored", "0")
    if problems:
        raise ConditionsError(problems)
    if len({r["photo_id"] for r in rows}) < 2:
        raise ConditionsError([f"{path}: counterbalancing needs at least 2 different photo_id values"])
    return rows
