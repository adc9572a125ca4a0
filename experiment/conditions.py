"""Preflight of the conditions file (the stimuli manifest) before any window opens.

Every problem is reported as one line naming the file, the line and the value,
so an experimenter can fix the manifest without reading a traceback.
"""

import csv
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from halfface.cli import UserError
from halfface.schema import EMOTIONS, SIDES, parse_bool

from stimuli.halves import image_side_of_half

REQUIRED_COLUMNS = ("stimulus", "source", "photo_id", "emotion", "visible_half", "visible_image_side")
MAX_REPORTED = 10
DESIGNS = ("paper", "crossed")


def _warn(message):
    print(f"warning: {message}", file=sys.stderr)


class ConditionsError(UserError, ValueError):
    """The conditions file cannot be used; ``problems`` lists one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED]
        more = len(self.problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more problems"] if more else [])))


def is_mirror_copy(row) -> bool:
    """Is this stimulus the builder's left-right mirror image of a half-face (``--with-mirrored``)?"""
    return parse_bool(row.get("mirror_copy"))


def load_conditions(path, design="paper", warn=_warn) -> list[dict]:
    """Read and check the manifest; return its rows with ``stimulus_path``, ``image_size``, ``manifest_line``.

    ``stimulus`` paths are relative to the manifest's folder (the stimuli
    package writes them that way). Each image is fully decoded with PIL, so a
    truncated file fails here and not in trial 93. Then the design is checked
    (:func:`check_design`); ``warn`` receives its warnings (None: no warnings).
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
        row["manifest_line"] = line
        for column in REQUIRED_COLUMNS:
            if not (row.get(column) or "").strip():
                problems.append(f"{where}: empty {column}")
        if row["emotion"] and row["emotion"] not in EMOTIONS:
            problems.append(f"{where}: emotion {row['emotion']!r} is not one of {', '.join(EMOTIONS)}")
        for column in ("visible_half", "visible_image_side"):
            if row[column] and row[column] not in SIDES:
                problems.append(f"{where}: {column} {row[column]!r} must be 'left' or 'right'")
        for column in ("mirrored", "mirror_copy"):
            try:
                parse_bool(row.get(column))
            except ValueError as err:
                problems.append(f"{where}: {column} {err}")
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
    for message in check_design(rows, design, path, check_mirrored="mirrored" in header):
        if warn is not None:
            warn(message)
    return rows


def _lines(rows) -> str:
    return ", ".join(str(r["manifest_line"]) for r in rows)


def check_design(rows, design="paper", path="manifest", check_mirrored=True) -> list[str]:
    """Is every photo complete for ``design``? Raises ConditionsError naming the rows; returns warnings.

    ``paper``: each photo has exactly one row per ``visible_half`` (the
    builder's mirror copies, if any, are not used). ``crossed``: exactly one
    row per ``visible_half`` x ``visible_image_side``, so each half is seen in
    each visual field (the builder's ``--with-mirrored`` provides them). In
    both, all rows of a photo carry the same emotion, and ``visible_image_side``
    must follow from ``visible_half`` and ``mirrored`` (a non-mirrored image
    shows the poser's left half on the image's right).
    """
    if design not in DESIGNS:
        raise ConditionsError([f"design {design!r} is not one of {', '.join(DESIGNS)}"])
    problems, photos = [], defaultdict(list)
    for row in rows:
        if design == "crossed" or not is_mirror_copy(row):
            photos[row["photo_id"]].append(row)
        mirrored = parse_bool(row.get("mirrored"))
        expected = image_side_of_half(row["visible_half"], mirrored)
        if check_mirrored and row["visible_image_side"] != expected:
            problems.append(f"{path} line {row['manifest_line']}: visible_half {row['visible_half']} with "
                            f"mirrored={int(mirrored)} is on the image's {expected}, but visible_image_side says "
                            f"{row['visible_image_side']}; fix the row (or rebuild with python -m stimuli build)")
    cells = [(h, s) for h in SIDES for s in SIDES] if design == "crossed" else [(h, None) for h in SIDES]
    for photo_id, versions in photos.items():
        emotions = sorted({r["emotion"] for r in versions})
        if len(emotions) > 1:
            problems.append(f"{path}: photo {photo_id!r} has different emotions in its rows ("
                            + "; ".join(f"line {r['manifest_line']}: {r['emotion']}" for r in versions)
                            + "); both halves of a photo show the same expression")
        for half, side in cells:
            hits = [r for r in versions if r["visible_half"] == half
                    and (side is None or r["visible_image_side"] == side)]
            cell = f"visible_half={half}" + (f" on image side {side}" if side else "")
            if not hits:
                fix = ("build the stimuli with `python -m stimuli build ... --with-mirrored` so each half also "
                       "appears on the other side" if side else "every photo needs one row per half")
                problems.append(f"{path}: photo {photo_id!r} (line(s) {_lines(versions)}) has no row with "
                                f"{cell}: {fix}")
            elif len(hits) > 1:
                problems.append(f"{path}: photo {photo_id!r} has {len(hits)} rows with {cell} "
                                f"(lines {_lines(hits)}); keep one")
    if problems:
        raise ConditionsError(problems)
    per_emotion = defaultdict(list)
    for photo_id, versions in photos.items():
        per_emotion[versions[0]["emotion"]].append(versions[0])
    return [f"{path}: emotion {emotion!r} has only one photo ({found[0]['photo_id']!r}, line "
            f"{found[0]['manifest_line']}): its results rest on a single face; use at least 2 photos per emotion "
            "(the paper used 10)"
            for emotion, found in sorted(per_emotion.items(), key=lambda kv: EMOTIONS.index(kv[0]))
            if len(found) < 2]


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_practice_separate(practice_rows, test_rows, practice_path, test_path) -> None:
    """Practice must never show a test photo (prior exposure in a memorise-the-face task)."""
    test_by = {"photo_id": {}, "source": {}, "image": {}}
    for row in test_rows:
        test_by["photo_id"].setdefault(row["photo_id"], row)
        test_by["source"].setdefault(row["source"], row)
        test_by["image"].setdefault(_digest(row["stimulus_path"]), row)
    problems = []
    for row in practice_rows:
        for what, key in (("photo_id", row["photo_id"]), ("source", row["source"]),
                          ("image", _digest(row["stimulus_path"]))):
            hit = test_by[what].get(key)
            if hit is not None:
                shown = f"the same image as {hit['stimulus']!r}" if what == "image" else f"{what} {key!r}"
                problems.append(f"{practice_path} line {row['manifest_line']}: practice stimulus "
                                f"{row['stimulus']!r} has {shown} of {test_path} line {hit['manifest_line']}; "
                                "practice needs photos that are not in the test set")
                break
    if problems:
        raise ConditionsError(problems)
