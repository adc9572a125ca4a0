"""Online sessions on disk: the same files as a lab session, written as the browser posts them.

``<participant>_<expName>_<YYYY-MM-DD>_<HH>h<MM>.<SS>.<mmm>.csv`` (PsychoPy's
file name; one row per trial, appended and fsync'd before the browser hears
"saved"), the JSON sidecar beside it (replaced atomically), ``<stem>_order.csv``
(the planned order, for audits) and ``<stem>_practice.csv``. Every file is
created 0600 and with O_EXCL, so an existing log is never overwritten.

Three rules for online recruitment (Prolific and the like):

1. **Nobody is refused for counterbalancing.** The server gives each new
   session the smallest counterbalancing number no session in the log folder
   holds (so numbers run 1, 2, 3 ... through the Latin-square rows, balanced
   whatever the IDs look like) and records it; the order comes from the lab's
   ``experiment.design`` for any number, also beyond those baked into the site.
2. **One browser per session.** A new session gets a random token (only its
   SHA-256 is stored); rows, calibration and the end need it. A page that knows
   the token (a reload, a reopened tab) resumes at the first unanswered trial;
   anyone else gets :data:`GENERIC_REFUSAL`, which names nobody and no file.
3. **Cells are stored CSV-injection safe** (:func:`experiment.web.rows.neutralise`).

Every method takes the decoded JSON body of a request and returns the JSON reply,
or raises :class:`RequestError` with the HTTP status and a one-line reason that
only ever repeats what the request itself sent.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from datetime import datetime
from pathlib import Path

from experiment import ids, logfile
from experiment.timing import FIXATION_S
from experiment.web.build import order_for, practice_for
from experiment.web.rows import PLANNED, PROLIFIC, neutralised_row, row_problems
from halfface import schema

_STEM = re.compile(r"[A-Za-z0-9_-]{1,64}_[A-Za-z0-9_-]{1,64}_\d{4}-\d{2}-\d{2}_\d{2}h\d{2}\.\d{2}\.\d{3}(_\d{1,3})?")
_LINK_VALUE = re.compile(r"[A-Za-z0-9_-]{0,64}")
MAX_META_BYTES = 16_000
GENERIC_REFUSAL = ("This study session cannot be opened here: it is open in another window or was started "
                   "in another browser. Go back to that window, or contact the researchers.")
NO_SESSION = "This page has no valid study session: open the study link again."
TIMING_NOTE = ("browser timing, not verified: requestAnimationFrame timestamps of the browser's own frames; "
               "no photodiode or display-side check")


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(400, f"{name} {value!r}: must be an integer from {low} to {high}")
    return value


def _positive(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise RequestError(400, f"{name} {value!r}: must be a positive number")
    return value


def _meta(value, name):
    """A small JSON object from the browser (browser, chinrest, ...), kept as sent."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(json.dumps(value)) > MAX_META_BYTES:
        raise RequestError(400, f"{name}: must be a JSON object under {MAX_META_BYTES} bytes")
    return value


def _now() -> datetime:
    return datetime.now().astimezone()


def timezone_name(moment: datetime) -> str:
    """``UTC+01:00 (CET)``, as the lab's sidecar writes it."""
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]} ({moment.tzname()})"


def session_stem(participant: str, exp_name: str, started: datetime) -> str:
    """PsychoPy's data file name: ``P11_halfface_2026-12-04_23h53.29.396`` (milliseconds, 3 digits)."""
    ids.validate_participant_id(participant)
    ids.validate_exp_name(exp_name)
    return schema.session_stem(participant, exp_name, started)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_values(body: dict) -> dict:
    """``participant`` and the Prolific fields from the link (as the page read them), checked."""
    values = {}
    for name in ("participant",) + PROLIFIC:
        v = body.get(name) or ""
        if not isinstance(v, str) or not _LINK_VALUE.fullmatch(v):
            label = "participant ID" if name == "participant" else name
            raise RequestError(400, f"{label} {str(v)[:80]!r} is not allowed: use at most 64 letters, digits, - or _")
        values[name] = v
    if not values["participant"]:
        values["participant"] = values["prolific_pid"]  # a Prolific link: the Prolific ID is the participant
    try:
        ids.validate_participant_id(values["participant"])
    except ValueError as err:
        raise RequestError(400, str(err)) from None
    return values


def _write_private(path: Path, text: str, mode: str = "x") -> None:
    """Create (``x``: never over an existing file) or append (``a``) ``text``, 0600, fsync'd."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if mode == "x" else os.O_APPEND)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    if mode == "x":
        logfile._fsync_dir(path.parent)


def _write_json_private(path: Path, data: dict) -> None:
    """The sidecar, replaced atomically (a temporary 0600 file, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    logfile._fsync_dir(path.parent)


class SessionStore:
    """All online sessions of one site in one ``logs`` folder; safe for concurrent requests."""

    def __init__(self, logs, design: dict, clock=_now):
        self.logs = Path(logs)
        self.design = design
        self.clock = clock
        self.columns = tuple(design["columns"])
        self._lock = threading.RLock()  # guards the indexes, number assignment and file creation
        self._sessions = {}  # stem -> {"lock", "meta", "done", "practice_done", "order", "practice"}
        self._index = None  # (participant, session, expName) -> sidecar path; numbers in use

    # ---------------------------------------------------------------- start / resume
    def _scan(self):
        """Read the log folder once (lab and web sidecars), then keep the index up to date in memory."""
        if self._index is None:
            try:
                sidecars = logfile.read_sidecars(self.logs)
            except ValueError as err:  # an unreadable sidecar: stop rather than reuse its number
                raise RuntimeError(str(err)) from None
            self._index = {(str(d["participant"]), str(d["session"]), d.get("expName", ids.DEFAULT_EXP_NAME)): p
                           for p, d in sidecars}
            self._numbers = {d["participant_number"] for _, d in sidecars
                             if isinstance(d.get("participant_number"), int)}
        return self._index

    def next_number(self) -> int:
        """The smallest counterbalancing number no session holds (1, 2, 3 ... through the Latin square)."""
        number = 1
        while number in self._numbers:
            number += 1
        return number

    def start(self, body: dict) -> dict:
        link = link_values(body)
        participant = link["participant"]
        session = _int(body.get("session"), "session", 1, self.design["sessions"])
        token = body.get("token")
        key = (participant, str(session), self.design["expName"])
        with self._lock:  # held only to pick the number and the name: the files are written after it
            existing = self._scan().get(key)
            if existing is None:
                number = self.next_number()
                started = self.clock()
                stem = session_stem(participant, self.design["expName"], started)
                k = 1
                while stem in self._sessions or logfile.paths_for(self.logs, stem).existing():
                    k += 1
                    stem = f"{session_stem(participant, self.design['expName'], started)}_{k}"
                paths = logfile.paths_for(self.logs, stem)
                state = self._state(session, number)
                state["lock"].acquire()  # a request for this session waits until its files exist
                self._sessions[stem] = state
                self._index[key] = paths.sidecar
                self._numbers.add(number)
        if existing is not None:
            return self._resume(existing, token, body)
        try:
            token = secrets.token_urlsafe(32)
            _write_private(paths.csv, logfile._line(self.columns))
            planned = self.planned_trials(state["order"]["trials"])
            _write_private(paths.order, "".join(logfile._line(line) for line in
                                                [logfile.ORDER_COLUMNS] + [[t[c] for c in logfile.ORDER_COLUMNS]
                                                                           for t in planned]))
            meta = self._sidecar(link, session, number, stem, body, state, started, token)
            _write_json_private(paths.sidecar, meta)
            state["meta"] = meta
        except BaseException:
            with self._lock:  # nothing half-made stays reserved
                self._sessions.pop(stem, None)
                self._index.pop(key, None)
            raise
        finally:
            state["lock"].release()
        return self._reply(stem, state, token, resumed=False)

    def _state(self, session: int, number: int) -> dict:
        d = self.design
        cb = d["counterbalancing"]
        baked = d["orders"].get(str(session), {}).get(str(number))
        order = baked or order_for(d["stimuli"], number, session, cb["n_blocks"], d["design"], d.get("max_trials"))
        practice = d["practice_orders"].get(str(session), {}).get(str(number))
        if practice is None and d["practice_stimuli"] and d.get("n_practice"):
            practice = practice_for(d["practice_stimuli"], d["n_practice"], number, session, d["design"])
        return {"lock": threading.Lock(), "meta": None, "done": 0, "practice_done": 0, "order": order,
                "practice": practice or []}

    def _reply(self, stem, state, token, resumed) -> dict:
        meta = state["meta"]
        return {"stem": stem, "token": token, "resumed": resumed, "cb_number": meta["participant_number"],
                "trials": state["order"]["trials"], "practice": state["practice"],
                "first_trial": state["done"] + 1, "first_practice": state["practice_done"] + 1,
                "n_trials_planned": meta["n_trials_planned"]}

    def _resume(self, sidecar: Path, token, body: dict) -> dict:
        stem = sidecar.stem
        try:
            state = self._load(stem)
        except RequestError:  # a lab log of this participant and session: not ours to say so
            raise RequestError(409, GENERIC_REFUSAL) from None
        with state["lock"]:
            self._check_token(state, token, GENERIC_REFUSAL, 409)
            meta = state["meta"]
            if meta.get("completed"):
                reply = self._reply(stem, state, token, resumed=True)
                reply.update(completed=True)
                return reply
            meta["runs"].append(self._run(body, state["done"] + 1))
            _write_json_private(logfile.paths_for(self.logs, stem).sidecar, meta)
        # A page reloaded during practice continues it where it was: the server expects the next practice row.
        return self._reply(stem, state, token, resumed=True)

    @staticmethod
    def _check_token(state, token, message=NO_SESSION, status=403) -> None:
        stored = (state["meta"] or {}).get("token_sha256")  # no meta: a start that failed half-way
        if not (isinstance(token, str) and stored and hmac.compare_digest(token_hash(token), stored)):
            raise RequestError(status, message)

    def planned_trials(self, trials) -> list[dict]:
        """An order as the lab would save it (``ORDER_COLUMNS`` values as text)."""
        stimuli = self.design["stimuli"]
        return [dict(stimuli[k], trial=str(i), block=str(block), presentation=str(presentation))
                for i, (k, block, presentation) in enumerate(trials, start=1)]

    def _run(self, body, first_trial) -> dict:
        return {"started": self.clock().isoformat(timespec="seconds"), "first_trial": first_trial,
                "browser": _meta(body.get("browser"), "browser"),
                "time_zone": _meta(body.get("time_zone"), "time_zone")}

    def _sidecar(self, link, session, number, stem, body, state, started, token) -> dict:
        """The lab's sidecar keys (experiment/run.py) where they apply, and what only a browser knows."""
        d = self.design
        order = state["order"]
        n_planned = len(order["trials"])
        return {
            "participant": link["participant"], "session": session, "expName": d["expName"],
            "date": started.date().isoformat(), "started": started.isoformat(timespec="milliseconds"),
            "timezone": timezone_name(started), "platform": "web", "design": d["design"],
            "simulated": False, "conditions_file": d["conditions_file"], "conditions_sha256": d["conditions_sha256"],
            "instructions": d["instructions"], "consent": d.get("consent"), "site_built": d["built"],
            "jspsych": d["jspsych"],
            "log_file": f"{stem}.csv", "order_file": f"{stem}_order.csv", "practice_file": f"{stem}_practice.csv",
            "n_practice": len(state["practice"]),
            "counterbalancing": dict(d["counterbalancing"], participant_number=number, session=session,
                                     seed=order["seed"], latin_square_row=order["latin_square_row"],
                                     block_order=order["block_order"], n_trials=n_planned),
            "participant_number": number, "seed": order["seed"],
            "participant_number_from": "assigned by the server: the smallest number not in use",
            "recruitment": {k: link[k] for k in PROLIFIC},
            "token_sha256": token_hash(token),
            "n_trials_planned": n_planned, "n_trials_done": 0, "completed": False, "ended_by": "running",
            "fixation_target_s": FIXATION_S, "min_rt_s": d["timing"]["min_space_rt_s"],
            "stim_height_deg": d["sizes"]["stim_height_deg"], "psychopy_style_date": str(body.get("date", ""))[:40],
            "timing": {"verified": False, "note": TIMING_NOTE},
            "browser": _meta(body.get("browser"), "browser"), "runs": [self._run(body, 1)],
        }

    def _load(self, stem: str) -> dict:
        """State of a session known on disk (also after a server restart)."""
        if not isinstance(stem, str) or not _STEM.fullmatch(stem):  # also before the lookup: a list is unhashable
            raise RequestError(400, "stem: not a session name")
        state = self._sessions.get(stem)  # the usual case, without waiting for the store's lock
        if state is not None:
            return state
        with self._lock:
            if stem in self._sessions:
                return self._sessions[stem]
            paths = logfile.paths_for(self.logs, stem)
            if not (paths.csv.is_file() and paths.sidecar.is_file()):
                raise RequestError(403, NO_SESSION)
            meta = logfile.read_json(paths.sidecar)
            if meta.get("platform") != "web" or not isinstance(meta.get("participant_number"), int):
                raise RequestError(403, NO_SESSION)
            partial = logfile.repair_partial_last_line(paths.csv)
            if partial:
                meta.setdefault("repaired_lines", []).append(partial)
            state = self._state(int(meta["session"]), meta["participant_number"])
            state.update(meta=meta, done=len(logfile.read_rows(paths.csv)),
                         practice_done=len(logfile.read_rows(paths.practice)) if paths.practice.exists() else 0)
            self._sessions[stem] = state
            return state

    def _session(self, body: dict) -> dict:
        """The state of the request's session, once its token is checked."""
        state = self._load(body.get("stem"))
        with state["lock"]:  # (a session being created: wait for its files)
            self._check_token(state, body.get("token"))
        return state

    # ---------------------------------------------------------------- calibration
    def calibration(self, body: dict) -> dict:
        """The virtual chinrest's measurements, the refresh rate and the sizes derived from them."""
        state = self._session(body)
        chinrest = _meta(body.get("chinrest"), "chinrest") or {}
        refresh = _meta(body.get("refresh"), "refresh") or {}
        values = {"chinrest": chinrest, "screen": _meta(body.get("screen"), "screen"),
                  "screen_fit": _meta(body.get("screen_fit"), "screen_fit"),
                  "px_per_deg": _positive(body.get("px_per_deg"), "px_per_deg"),
                  "stim_height_px": _positive(body.get("stim_height_px"), "stim_height_px"),
                  "refresh_rate_hz": _positive(refresh.get("hz"), "refresh hz"), "refresh_measurement": refresh,
                  "fixation_frames": _int(body.get("fixation_frames"), "fixation_frames", 1, 10_000),
                  "viewing_distance_cm": _positive(chinrest.get("view_dist_mm"), "view_dist_mm") / 10}
        with state["lock"]:
            meta = state["meta"]
            meta.update(values)
            meta["runs"][-1].update(values)
            _write_json_private(logfile.paths_for(self.logs, body["stem"]).sidecar, meta)
        return {}

    # ---------------------------------------------------------------- one trial
    def trial(self, body: dict) -> dict:
        kind = body.get("kind")
        if kind not in ("trial", "practice"):
            raise RequestError(400, f"kind {kind!r}: must be 'trial' or 'practice'")
        state = self._session(body)
        row = body.get("row")
        with state["lock"]:
            meta = state["meta"]
            paths = logfile.paths_for(self.logs, body["stem"])
            field = "done" if kind == "trial" else "practice_done"
            number = state[field] + 1
            trial_text = row.get("trial") if isinstance(row, dict) else None
            prefix = "" if kind == "trial" else "practice"
            done = (trial_text[len(prefix):] if isinstance(trial_text, str) and trial_text.startswith(prefix)
                    else "")
            if done.isdigit() and 1 <= int(done) < number:
                # A retry of a row that reached the disk but whose reply was lost: the same row again is fine.
                target = paths.csv if kind == "trial" else paths.practice
                saved = logfile.read_rows(target)[int(done) - 1]
                if isinstance(row, dict) and {c: str(v) for c, v in saved.items()} == neutralised_row(
                        {c: str(v) for c, v in row.items()}):
                    return {"trial": trial_text, "duplicate": True, "next": number}
                raise RequestError(409, f"trial {trial_text} is already saved with other values")
            expected = self._expected(state, kind, number)
            if expected is None:
                raise RequestError(409, f"all {len(state['order']['trials'])} trials are saved")
            problems = row_problems(row, self.columns, expected)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise RequestError(400, f"trial {expected['trial']}: {problems[0]}{more}")
            target = paths.csv if kind == "trial" else paths.practice
            safe = neutralised_row(row)
            line = logfile._line(safe[c] for c in self.columns)
            if kind == "practice" and not target.exists():
                _write_private(target, logfile._line(self.columns) + line)
            else:
                _write_private(target, line, mode="a")
            state[field] = number
            if kind == "trial":
                meta["n_trials_done"] = number
                meta["completed"] = number >= meta["n_trials_planned"]
                meta["runs"][-1]["last_trial"] = number
                _write_json_private(paths.sidecar, meta)
        return {"trial": row["trial"], "next": number + 1}

    def _expected(self, state, kind, number):
        d, meta = self.design, state["meta"]
        if kind == "trial":
            order = state["order"]["trials"]
            if number > len(order):
                return None
            k, block, presentation = order[number - 1]
            planned = dict(d["stimuli"][k], block=block, presentation=presentation)
            trial = str(number)
        else:
            order = state["practice"]
            if number > len(order):
                return None
            planned = dict(d["practice_stimuli"][order[number - 1]], block=0, presentation=0)
            trial = f"practice{number}"
        expected = {c: planned[c] for c in PLANNED}
        expected.update(participant=meta["participant"], session=meta["session"], trial=trial,
                        expName=d["expName"], emotion=planned["emotion"], cb_number=meta["participant_number"],
                        **meta.get("recruitment", {}))
        return expected

    # ---------------------------------------------------------------- end
    def end(self, body: dict) -> dict:
        state = self._session(body)
        with state["lock"]:
            meta = state["meta"]
            paths = logfile.paths_for(self.logs, body["stem"])
            rows = logfile.read_rows(paths.csv)
            run = meta["runs"][-1]
            summary = {k: body.get(k) for k in ("unsent", "refused", "fullscreen_exits", "timing")}
            _meta(summary, "end summary")
            meta["n_trials_done"] = len(rows)
            meta["completed"] = len(rows) >= meta["n_trials_planned"]
            meta["ended_by"] = "completed" if meta["completed"] else "browser ended early"
            run.update(summary, ended=self.clock().isoformat(timespec="seconds"), last_trial=len(rows),
                       ended_by=meta["ended_by"])
            _write_json_private(paths.sidecar, meta)
        reply = {"completed": meta["completed"], "n_trials_done": len(rows)}
        if meta["completed"] and self.design.get("completion_url"):
            reply["completion_url"] = self.design["completion_url"]  # only to those who finished
        return reply
