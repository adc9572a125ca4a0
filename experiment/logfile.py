"""Session files in logs/: the trial CSV, its JSON sidecar, the saved order, practice answers.

Names follow PsychoPy Builder: ``<participant>_<expName>_<date>`` with the
date in PsychoPy's ``%Y-%m-%d_%Hh%M.%S.%f`` form to the millisecond
(``P11_halfface_2026-12-04_23h53.29.396``, local time of the first start;
earlier versions wrote ``P11_halfface_2026-12-04_2353``) with ``.csv`` (trials), ``.json`` (sidecar),
``_order.csv`` (planned order), ``_practice.csv`` (practice answers) and
``.log`` (PsychoPy's own log). A session is found again through its sidecar's
contents (participant, session, expName), never by re-deriving a time stamp;
sessions written before this naming (``<participant>_s<session>``) are found
the same way.

Crash safety: each trial is one ``write`` of a complete line followed by
``flush`` and ``os.fsync``, so a crash, power cut or ``kill -9`` loses at most
the trial in progress. The sidecar is replaced atomically (write + rename).

One session per participant ID at a time: ``SessionLock`` holds
``<participant>_<expName>.lock`` (created with ``O_EXCL``; PID, host, stem)
beside the logs while a session runs.
"""

import csv
import errno
import io
import json
import os
import socket
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from experiment.ids import DEFAULT_EXP_NAME
from halfface.schema import LAB_COLUMNS

ORDER_COLUMNS = ("trial", "stimulus", "source", "photo_id", "emotion", "gender", "identity",
                 "visible_half", "visible_image_side", "mirrored", "block", "presentation")
PLATFORM = "lab"


@dataclass(frozen=True)
class SessionPaths:
    csv: Path
    sidecar: Path
    order: Path
    practice: Path
    psychopy_log: Path

    @property
    def stem(self) -> str:
        return self.csv.stem

    def existing(self) -> list:
        return [p for p in (self.csv, self.sidecar, self.order, self.practice) if p.exists()]


def timezone_name(moment: datetime) -> str:
    """``UTC+08:00 (CST)``: the sidecar's ``timezone``, so every time in a session's files can be read back."""
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]} ({moment.tzname()})"


def paths_for(logdir, stem: str) -> SessionPaths:
    logdir = Path(logdir)
    return SessionPaths(logdir / f"{stem}.csv", logdir / f"{stem}.json", logdir / f"{stem}_order.csv",
                        logdir / f"{stem}_practice.csv", logdir / f"{stem}.log")


def free_stem(logdir, stem: str) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... if a session started in the same minute holds it."""
    candidate, k = stem, 1
    while paths_for(logdir, candidate).existing():
        k += 1
        candidate = f"{stem}_{k}"
    return candidate


def read_sidecars(logdir) -> list:
    """(path, contents) of every session sidecar in ``logdir`` (any JSON with participant and session).

    A JSON file that cannot be read is an error, not skipped: it might hold the
    participant number another participant is about to reuse.
    """
    logdir = Path(logdir)
    if not logdir.is_dir():
        return []
    found = []
    for path in sorted(logdir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a readable JSON sidecar ({err}); repair it or move it out of "
                             f"{logdir}") from None
        if isinstance(data, dict) and "participant" in data and "session" in data:
            found.append((path, data))
    return found


def find_session(logdir, participant: str, session: int, exp_name: str = DEFAULT_EXP_NAME):
    """Paths of the session of ``participant``/``session``/``exp_name`` in ``logdir``, or None.

    Sidecars without ``expName`` (written before it existed) count as the
    default experiment. Two matches are an error naming both.
    """
    matches = [path for path, data in read_sidecars(logdir)
               if str(data["participant"]) == participant and str(data["session"]) == str(session)
               and data.get("expName", DEFAULT_EXP_NAME) == exp_name]
    if len(matches) > 1:
        raise ValueError(f"{matches[0]} and {matches[1]} both hold participant {participant} session {session}: "
                         "move the wrong one out of the log folder")
    return paths_for(logdir, matches[0].stem) if matches else None


def numbers_in_use(logdir) -> dict:
    """counterbalancing number -> [(participant, sidecar path), ...] recorded in ``logdir``."""
    used = {}
    for path, data in read_sidecars(logdir):
        number = data.get("participant_number")
        if isinstance(number, int):
            used.setdefault(number, []).append((str(data["participant"]), path))
    return used


def build_row(participant: str, session: int, trial: dict, measured: dict, run: dict | None = None) -> dict:
    """One log row from the planned trial, what was measured, and the run's constants (pure).

    ``run`` holds Builder's per-run columns: ``date``, ``expName``,
    ``psychopyVersion``, ``frameRate`` (and optionally ``platform``,
    ``expStart``). ``trial["reshown"]`` marks a trial shown again on resume.
    """
    run = run or {}
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
        "restarted": int(measured.get("restarted", 0)),
        "reshown": int(trial.get("reshown", 0)),
        "early_presses": int(measured.get("early_presses", 0)),
        "date": run.get("date", ""),
        "expName": run.get("expName", DEFAULT_EXP_NAME),
        "psychopyVersion": run.get("psychopyVersion", ""),
        "frameRate": run.get("frameRate", ""),
        "platform": run.get("platform", PLATFORM),
        "expStart": run.get("expStart", ""),
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

    def __init__(self, path, columns=LAB_COLUMNS):
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


# --- the log folder, checked before any window opens --------------------------------------------------------

NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "afs", "ncpfs", "9p", "fuse.sshfs", "sshfs",
                       "davfs", "fuse.davfs2", "glusterfs", "ceph", "lustre")


def filesystem_type(path) -> str | None:
    """The type of the file system holding ``path`` (Linux /proc/mounts), or None where it cannot be told."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target, best, kind = str(Path(path).resolve()), "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def check_logs_folder(logdir, allow_network=False) -> None:
    """Raise ValueError (one line: the path and why) unless ``logdir`` can take the session's files.

    The folder must exist or be creatable, take a new file (probed with a
    temporary file or folder that is removed again, so nothing is left
    behind), and, unless ``allow_network``, lie on a local disk where the
    file-system type can be told: a network share can vanish mid-session, and
    ``fsync`` on it does not promise the data reached a disk.
    """
    logdir = Path(logdir)
    existing = logdir
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        what = "is" if existing == logdir else f"would be inside {existing}, which is"
        raise ValueError(f"--logs {logdir}: {what} a file, not a folder; give a folder for the session files")
    try:
        if existing == logdir:
            fd, probe = tempfile.mkstemp(prefix=".halfface_probe_", dir=logdir)
            os.close(fd)
            os.unlink(probe)
        else:  # could the missing folders be made? try one inside the deepest existing folder
            os.rmdir(tempfile.mkdtemp(prefix=".halfface_probe_", dir=existing))
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        where = "cannot write in it" if existing == logdir else f"cannot create folders in {existing}"
        raise ValueError(f"--logs {logdir}: {where} ({reason}); give a folder you can write to") from None
    kind = filesystem_type(existing)
    if kind in NETWORK_FILESYSTEMS and not allow_network:
        raise ValueError(f"--logs {logdir}: on a network file system ({kind}), which can vanish during a session; "
                         "log to a local folder and copy the files afterwards (or add --allow-network-logs)")


# --- one session per participant ID at a time ----------------------------------------------------------------


class SessionLocked(ValueError):
    """Another session of this participant ID holds the lock; the message names it."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError as err:
        return err.errno != errno.ESRCH
    return True


class SessionLock:
    """``<participant>_<expName>.lock`` beside the logs, created with ``O_EXCL`` (atomic on local disks).

    Holds the PID, the host and the session's file stem. A lock whose PID is
    not running on this host is *stale* (a crash or ``kill -9``): it is taken
    over only when ``resume`` is true; a live one (or one from another host,
    which cannot be checked) refuses the start, naming the running session.
    """

    def __init__(self, logdir, participant: str, exp_name: str = DEFAULT_EXP_NAME):
        self.logdir = Path(logdir)
        self.path = self.logdir / f"{participant}_{exp_name}.lock"
        self.participant = participant
        self.held = False
        self.took_over = None  # the stale lock's contents, when one was taken over
        self._stale_text = None  # its exact text, put back if the start is refused after all (abandon())
        self._made_folder = False

    def read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def describe(self, data) -> str:
        return (f"session {data.get('session', '?')} started {data.get('started', '?')} by PID {data.get('pid', '?')} "
                f"on {data.get('host', '?')} (files {data.get('stem', '?')}.*; lock {self.path})")

    def is_stale(self, data) -> bool:
        return data.get("host") == socket.gethostname() and isinstance(data.get("pid"), int) \
            and not _pid_alive(data["pid"])

    def acquire(self, resume: bool, session: int, stem: str = "") -> "SessionLock":
        if not self.logdir.exists():
            self.logdir.mkdir(parents=True)
            self._made_folder = True
        content = {"participant": self.participant, "session": session, "pid": os.getpid(),
                   "host": socket.gethostname(), "started": datetime.now().astimezone().isoformat(timespec="seconds"),
                   "stem": stem}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = self.read()
                if not self.is_stale(held):
                    self._drop_folder()
                    raise SessionLocked(f"participant {self.participant} is already being tested: "
                                        f"{self.describe(held)}; wait until it ends, or if that session is no longer "
                                        "running on that computer, delete the lock file") from None
                if not resume:
                    self._drop_folder()
                    raise SessionLocked(f"participant {self.participant} has a stale lock: {self.describe(held)}, "
                                        "which is no longer running (a crash or a killed session); continue it with "
                                        "--resume (the dialog offers it), which takes the lock over") from None
                self.took_over = held
                try:
                    self._stale_text = self.path.read_text(encoding="utf-8")
                except OSError:
                    self._stale_text = None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(content, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return self
        raise SessionLocked(f"could not take over {self.path}: another start took it at the same moment")

    def update(self, **fields) -> None:
        """Record e.g. the file stem once it is known (the lock stays held throughout)."""
        if self.held:
            data = dict(self.read(), **fields)
            tmp = self.path.with_suffix(".lock.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.path)

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
        self._drop_folder()

    def abandon(self) -> None:
        """Let go of a lock whose start was refused: a stale lock taken over is put back as it was.

        The stale lock is the only record of which session stopped (a crash or
        ``kill -9``); a refused ``--resume`` must not erase it.
        """
        if self.held and self._stale_text is not None:
            tmp = self.path.with_suffix(".lock.tmp")
            tmp.write_text(self._stale_text, encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: the path never goes missing for a concurrent start
            self.held = False
            self._drop_folder()
            return
        self.release()

    def _drop_folder(self) -> None:
        # A refused start leaves nothing behind, not even the folder it made for the lock.
        if self._made_folder:
            try:
                self.logdir.rmdir()
                self._made_folder = False
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
