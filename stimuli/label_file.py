"""Reading and validating LABELS.csv (pure except for the file read itself).

Columns: ``file`` and ``emotion`` are required; ``gender``, ``identity`` and
``mirrored`` are optional. Every error names the line of the CSV (line 1 is
the header) and the offending value, so a lab can fix the file directly.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from halfface.schema import EMOTIONS, GENDERS, parse_bool
from stimuli.errors import StimulusError

REQUIRED_COLUMNS = ("file", "emotion")
OPTIONAL_COLUMNS = ("gender", "identity", "mirrored")

_GENDER_ALIASES = {"f": "female", "m": "male", "": "unknown"}


@dataclass(frozen=True)
class PhotoLabel:
    """One validated row of the label file."""

    file: str          # as written in LABELS.csv, relative to PHOTOS_DIR
    photo_id: str      # unique, filesystem-safe; names the output files
    emotion: str
    gender: str
    identity: str
    mirrored: bool
    line: int          # line in LABELS.csv, for later messages


def parse_label_rows(
    rows: Iterable[Mapping[str, str | None]],
    columns: Iterable[str],
    *,
    source: str = "LABELS.csv",
    photo_exists: Callable[[str], bool] = lambda _f: True,
    mirrored_default: bool = False,
) -> list[PhotoLabel]:
    """Validate label rows; raise StimulusError naming the first bad row.

    ``mirrored_default`` applies where the ``mirrored`` column is absent or
    blank (the CLI's ``--mirrored-input``); a value in the column wins.
    """
    columns = [c.strip() for c in columns if c is not None]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise StimulusError(
            f"{source}: missing column(s) {', '.join(missing)}; the header must "
            f"contain file,emotion (optional: {','.join(OPTIONAL_COLUMNS)}), got {','.join(columns) or 'nothing'}"
        )
    labels: list[PhotoLabel] = []
    first_line_of: dict[str, int] = {}
    used_ids: set[str] = set()
    for line, raw in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue  # blank line
        where = f"{source} line {line}"
        file = row.get("file", "")
        if not file:
            raise StimulusError(f"{where}: empty 'file' value; give the photo's file name relative to PHOTOS_DIR")
        key = Path(file).as_posix().lower()
        if key in first_line_of:
            raise StimulusError(
                f"{where}: duplicate row for file {file!r} (first listed on line {first_line_of[key]}); "
                "list each photo once"
            )
        first_line_of[key] = line
        emotion = row.get("emotion", "").lower()
        if emotion not in EMOTIONS:
            raise StimulusError(
                f"{where} (file {file!r}): unknown emotion {row.get('emotion', '')!r}; use one of {', '.join(EMOTIONS)}"
            )
        gender = row.get("gender", "").lower()
        gender = _GENDER_ALIASES.get(gender, gender)
        if gender not in GENDERS:
            raise StimulusError(
                f"{where} (file {file!r}): unknown gender {row.get('gender')!r}; use one of {', '.join(GENDERS)} or leave it empty"
            )
        try:
            mirrored = parse_bool(row.get("mirrored"), default=mirrored_default)
        except ValueError:
            raise StimulusError(
                f"{where} (file {file!r}): mirrored must be 0 or 1, got {row.get('mirrored')!r}"
            )
        if not photo_exists(file):
            raise StimulusError(f"{where}: photo {file!r} not found in the photos folder; fix the name or add the file")
        photo_id = _unique_id(_safe_id(file), used_ids)
        used_ids.add(photo_id.lower())
        labels.append(
            PhotoLabel(
                file=file,
                photo_id=photo_id,
                emotion=emotion,
                gender=gender,
                identity=row.get("identity", "") or "unknown",
                mirrored=mirrored,
                line=line,
            )
        )
    if not labels:
        raise StimulusError(f"{source}: no photos listed; add one row per photo under the header file,emotion")
    return labels


def read_label_file(path: Path, photos_dir: Path, *, mirrored_default: bool = False) -> list[PhotoLabel]:
    """Read and validate LABELS.csv; photo files are looked up in ``photos_dir``."""
    path = Path(path)
    if not path.is_file():
        raise StimulusError(f"{path}: label file not found; pass --labels with a CSV that has columns file,emotion")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise StimulusError(f"{path}: not a readable UTF-8 CSV ({err}); save it as CSV (UTF-8)") from None
    return parse_label_rows(
        rows,
        columns,
        source=str(path),
        photo_exists=lambda f: (photos_dir / f).is_file(),
        mirrored_default=mirrored_default,
    )


def _safe_id(file: str) -> str:
    stem = Path(file).with_suffix("").as_posix()
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "photo"


def _unique_id(base: str, used_lower: set[str]) -> str:
    # a.jpg and a.png would collide on their stem (also on case-insensitive
    # file systems); a suffix keeps both.
    candidate, k = base, 2
    while candidate.lower() in used_lower:
        candidate, k = f"{base}_{k}", k + 1
    return candidate
