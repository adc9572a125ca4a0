"""Session files in logs/: the trial CSV, its JSON sidecar and the saved trial order.

Crash safety: each trial is one ``write`` of a complete line followed by
``flush`` and ``os.fsync``, so a crash, power cut or ``kill -9`` loses at most
the trial in progress. The sidecar is replaced atomically (write + rename).
"""

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from experiment.ids import session_stem

# Shared session-log format (read by analysis/): these columns first, in this order.
LOG_COLUMNS = (
    "participant", "session", "trial", "stimulus", "source", "photo_id", "emotion", "visible_half",
    "visible_image_side", "response_emotion", "response_key", "correct", "intensity", "rt",
    "emotion_rt", "intensity_rt", "fixation_frames", "fixation_duration", "stim_onset",
    # extras
    "mirrored", "block", "presentation", "dropped_frames", "trial_end",
)
ORDER_COLUMNS = ("trial", "stimulus", "source", "photo_id", "emotion", "gender", "identity",
                 "visible_half", "visible_image_side", "mirrored", "block", "presentation")


@dataclass(frozen=True)
class SessionPaths:
    csv: Path
    sidecar: Path
    order: Path

    def existing(self) -> list:
        return [p for p in (self.csv, self.sidecar, self.order) if p.exists()]


def session_paths(logdir, participant: str, session: int) -> SessionPaths:
    stem = session_stem(participant, session)
    logdir = Path(logdir)
    return SessionPaths(logdir / f"{stem}.csv", logdir / f"{stem}.json", logdir / f"{stem}_order.csv")


def build_row(participant: str, session: int, trial: dict, measured: dict) -> dict:
    """One log row from the planned trial and what was measured (pure)."""
    response_emotion = measured["response_emotion"]
    return {
        "participant": participant,
        "session": session,
        "trial": trial["trial"],
        "stimulus": trial["stimulus"],
        "source": trial.get("source", ""),
        "photo_id": trial["photo_id"],
        "emotion": trial["emotion"],
        "visible_half": trial["visible_half"],
        "visible_image_side": trial["visible_image_side"],
        "response_emotion": response_emotion,
        "response_key": measured["response_key"],
        "correct": int(response_emotion == trial["emotion"]),
        "intensity": int(measured["intensity"]),
        "rt": measured["rt"],
        "emotion_rt": measured["emotion_rt"],
        "intensity_rt": measured["intensity_rt"],
        "fixation_frames": measured["fixation_frames"],
        "fixation_duration": measured["fixation_duration"],
        "stim_onset": measured["stim_onset"],
        "mirrored": trial.get("mirrored", 0),
        "block": trial.get("block", ""),
        "presentation": trial.get("presentation", ""),
        "dropped_frames": measured.get("dropped_frames", ""),
        "trial_end": measured.get("trial_end", ""),
    }


def _fsync_dir(path: Path) -> None:
    # A new file's directory entry must reach the disk too, or a power cut can lose the file.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


class TrialLog:
    """Append-only CSV; ``append`` returns only once the row is on disk."""

    def __init__(self, path, columns=LOG_COLUMNS):
        self.path = Path(path)
        self.columns = tuple(columns)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", encoding="utf-8", newline="")
        if new:
            self._write(_line(self.columns))
            _fsync_dir(self.path.parent)

    def _write(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, row: dict) -> None:
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise KeyError(f"log row lacks column(s) {missing}")
        self._write(_line(_fmt(row[c]) for c in self.columns))

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


def repair_partial_last_line(path) -> str | None:
    """Drop an unfinished last line (a crash mid-write) and return it, or None.

    A line without its newline was never acknowledged as saved, so the trial is
    re-run; the caller reports what was removed.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n") + 1
    with path.open("r+b") as f:
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
    return data[cut:].decode("utf-8", "replace")


def read_rows(path) -> list[dict]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_order(path, trials) -> None:
    """Save the planned order so the session can be audited and resumed."""
    tmp = Path(path).with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(_line(ORDER_COLUMNS))
        for t in trials:
            f.write(_line(t.get(c, "") for c in ORDER_COLUMNS))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)


def read_order(path) -> list[dict]:
    rows = read_rows(path)
    for r in rows:
        r["trial"] = int(r["trial"])
    return rows


def write_json_atomic(path, data: dict) -> None:
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def read_json(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
