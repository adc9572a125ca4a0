"""Online sessions on disk: the same files as a lab session, written as the browser posts them.

``<participant>_<expName>_<YYYY-MM-DD>_<HHMM>.csv`` (one row per trial, appended
and fsync'd before the browser hears "saved"), the JSON sidecar beside it
(replaced atomically), ``<stem>_order.csv`` (the planned order, for audits) and
``<stem>_practice.csv``. Files are created with O_EXCL, so an existing log is
never overwritten; a reloaded page resumes its unfinished session at the first
unanswered trial, like ``python -m experiment run --resume``.

Every method takes the decoded JSON body of a request and returns the JSON reply,
or raises :class:`RequestError` with the HTTP status and a one-line reason.
"""

import json
import os
import re
import threading
from datetime import datetime
from pathlib import Path

from experiment import ids, logfile
from experiment.run import timezone_name
from experiment.timing import FIXATION_S, refresh_lock_check
from experiment.web.rows import PLANNED, row_problems

_STEM = re.compile(r"[A-Za-z0-9_-]{1,64}_[A-Za-z0-9_-]{1,64}_\d{4}-\d{2}-\d{2}_\d{4}(_\d{1,3})?")
MAX_META_BYTES = 16_000


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


class SessionStore:
    """All online sessions of one site in one ``logs`` folder; safe for concurrent requests."""

    def __init__(self, logs, design: dict, clock=_now):
        self.logs = Path(logs)
        self.design = design
        self.clock = clock
        self.columns = tuple(design["columns"])
        self._lock = threading.RLock()  # guards _sessions and file creation
        self._sessions = {}  # stem -> {"lock", "meta", "done", "practice_done"}

    # ---------------------------------------------------------------- start / resume
    def start(self, body: dict) -> dict:
        try:
            participant = ids.validate_participant_id(body.get("participant"))
        except ValueError as err:
            raise RequestError(400, str(err)) from None
        session = _int(body.get("session"), "session", 1, self.design["sessions"])
        number = _int(body.get("cb_number"), "cb_number", 1, self.design["cb_numbers"])
        order = self.design["orders"][str(session)][str(number)]["trials"]
        with self._lock:
            try:
                existing = logfile.find_session(self.logs, participant, session, self.design["expName"])
                in_use = logfile.numbers_in_use(self.logs).get(number, [])
            except ValueError as err:  # an unreadable sidecar or two sidecars for one session
                raise RequestError(409, str(err)) from None
            if existing is not None:
                return self._resume(existing.sidecar, number, body)
            others = [(who, path) for who, path in in_use if who != participant]
            from_id = body.get("participant_number_from_id")
            if others and not body.get("cb_from_link") and str(from_id) == str(number):
                # As the lab session: P07 and P007 must not silently share an order.
                raise RequestError(409, f"counterbalancing number {number} is already used by {others[0][0]} "
                                        f"({others[0][1].name}): give {participant} a link with &cb=N, "
                                        "an unused number")
            stem = logfile.free_stem(self.logs, ids.session_stem(participant, self.design["expName"], self.clock()))
            paths = logfile.paths_for(self.logs, stem)
            self._create(paths.csv, logfile._line(self.columns))
            lines = [logfile.ORDER_COLUMNS] + [[t[c] for c in logfile.ORDER_COLUMNS]
                                               for t in self.planned_trials(session, number)]
            self._create(paths.order, "".join(logfile._line(line) for line in lines))
            meta = self._sidecar(participant, session, number, stem, body, len(order))
            logfile.write_json_atomic(paths.sidecar, meta)
            self._sessions[stem] = {"lock": threading.Lock(), "meta": meta, "done": 0, "practice_done": 0}
        return {"stem": stem, "first_trial": 1, "first_practice": 1, "n_trials_planned": len(order),
                "resumed": False}

    def _resume(self, sidecar: Path, number: int, body: dict) -> dict:
        meta = logfile.read_json(sidecar)
        if meta.get("platform") != "web":
            raise RequestError(409, f"{meta['participant']} session {meta['session']} already has a lab log "
                                    f"({sidecar.name}): use another participant ID or session number")
        if meta.get("completed"):
            raise RequestError(409, f"{meta['participant']} session {meta['session']} is already complete "
                                    f"({sidecar.stem}.csv); nothing was changed")
        if meta.get("participant_number") != number:
            raise RequestError(409, f"{sidecar.name} was started with counterbalancing number "
                                    f"{meta.get('participant_number')}, this link gives {number}: "
                                    "resume with the original link")
        stem = sidecar.stem
        state = self._load(stem)
        with state["lock"]:
            meta = state["meta"]
            meta["runs"].append(self._run(body, state["done"] + 1))
            logfile.write_json_atomic(logfile.paths_for(self.logs, stem).sidecar, meta)
        # A page reloaded during practice continues it where it was: the server expects the next practice row.
        return {"stem": stem, "first_trial": state["done"] + 1, "first_practice": state["practice_done"] + 1,
                "n_trials_planned": meta["n_trials_planned"], "resumed": True}

    @staticmethod
    def _create(path: Path, text: str) -> None:
        # O_EXCL: if the file appeared meanwhile, fail instead of overwriting it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        logfile._fsync_dir(path.parent)

    def planned_trials(self, session: int, number: int) -> list[dict]:
        """The order of this number as the lab would save it (``ORDER_COLUMNS`` values as text)."""
        stimuli = self.design["stimuli"]
        return [dict(stimuli[k], trial=str(i), block=str(block), presentation=str(presentation))
                for i, (k, block, presentation) in
                enumerate(self.design["orders"][str(session)][str(number)]["trials"], start=1)]

    def _run(self, body, first_trial) -> dict:
        return {"started": self.clock().isoformat(timespec="seconds"), "first_trial": first_trial,
                "browser": _meta(body.get("browser"), "browser"),
                "time_zone": _meta(body.get("time_zone"), "time_zone")}

    def _sidecar(self, participant, session, number, stem, body, n_planned) -> dict:
        """The lab's sidecar keys (experiment/run.py) where they apply, and what only a browser knows."""
        d = self.design
        order = d["orders"][str(session)][str(number)]
        from_id = body.get("participant_number_from_id")
        started = self.clock()
        return {
            "participant": participant, "session": session, "expName": d["expName"],
            "date": started.date().isoformat(), "started": started.isoformat(timespec="seconds"),
            "timezone": timezone_name(started), "platform": "web", "design": d["design"],
            "simulated": False, "conditions_file": d["conditions_file"], "conditions_sha256": d["conditions_sha256"],
            "instructions": d["instructions"], "site_built": d["built"], "jspsych": d["jspsych"],
            "log_file": f"{stem}.csv", "order_file": f"{stem}_order.csv", "practice_file": f"{stem}_practice.csv",
            "n_practice": len(d["practice_orders"].get(str(session), {}).get(str(number), [])),
            "counterbalancing": dict(d["counterbalancing"], participant_number=number, session=session,
                                     seed=order["seed"], latin_square_row=order["latin_square_row"],
                                     block_order=order["block_order"], n_trials=n_planned),
            "participant_number": number, "seed": order["seed"],
            "participant_number_from": "cb in the link" if body.get("cb_from_link") else "digits of the participant ID",
            "participant_number_from_id": str(from_id) if from_id is not None else None,
            "n_trials_planned": n_planned, "n_trials_done": 0, "completed": False, "ended_by": "running",
            "fixation_target_s": FIXATION_S, "min_rt_s": d["timing"]["min_space_rt_s"],
            "stim_height_deg": d["sizes"]["stim_height_deg"], "psychopy_style_date": str(body.get("date", ""))[:40],
            "browser": _meta(body.get("browser"), "browser"), "runs": [self._run(body, 1)],
        }

    def _load(self, stem: str) -> dict:
        """State of a session known on disk (also after a server restart)."""
        if not isinstance(stem, str) or not _STEM.fullmatch(stem):  # also before the lookup: a list is unhashable
            raise RequestError(400, f"stem {stem!r} is not a session name")
        with self._lock:
            if stem in self._sessions:
                return self._sessions[stem]
            paths = logfile.paths_for(self.logs, stem)
            if not (paths.csv.is_file() and paths.sidecar.is_file()):
                raise RequestError(404, f"no online session {stem} in the log folder")
            meta = logfile.read_json(paths.sidecar)
            if meta.get("platform") != "web":
                raise RequestError(409, f"{stem} is not an online session")
            partial = logfile.repair_partial_last_line(paths.csv)
            if partial:
                meta.setdefault("repaired_lines", []).append(partial)
            done = len(logfile.read_rows(paths.csv))
            practice = len(logfile.read_rows(paths.practice)) if paths.practice.exists() else 0
            state = {"lock": threading.Lock(), "meta": meta, "done": done, "practice_done": practice}
            self._sessions[stem] = state
            return state

    # ---------------------------------------------------------------- calibration
    def calibration(self, body: dict) -> dict:
        """The virtual chinrest's measurements, the refresh rate and the sizes derived from them."""
        state = self._load(body.get("stem"))
        chinrest = _meta(body.get("chinrest"), "chinrest") or {}
        refresh = _meta(body.get("refresh"), "refresh") or {}
        values = {"chinrest": chinrest, "screen": _meta(body.get("screen"), "screen"),
                  "px_per_deg": _positive(body.get("px_per_deg"), "px_per_deg"),
                  "stim_height_px": _positive(body.get("stim_height_px"), "stim_height_px"),
                  "refresh_rate_hz": _positive(refresh.get("hz"), "refresh hz"), "refresh_measurement": refresh,
                  "fixation_frames": _int(body.get("fixation_frames"), "fixation_frames", 1, 10_000),
                  "viewing_distance_cm": _positive(chinrest.get("view_dist_mm"), "view_dist_mm") / 10}
        with state["lock"]:
            meta = state["meta"]
            meta.update(values)
            meta["runs"][-1].update(values)
            logfile.write_json_atomic(logfile.paths_for(self.logs, body["stem"]).sidecar, meta)
        return {}

    # ---------------------------------------------------------------- one trial
    def trial(self, body: dict) -> dict:
        kind = body.get("kind")
        if kind not in ("trial", "practice"):
            raise RequestError(400, f"kind {kind!r}: must be 'trial' or 'practice'")
        state = self._load(body.get("stem"))
        row = body.get("row")
        with state["lock"]:
            meta = state["meta"]
            paths = logfile.paths_for(self.logs, body["stem"])
            field = "done" if kind == "trial" else "practice_done"
            number = state[field] + 1
            expected = self._expected(meta, kind, number)
            trial_text = row.get("trial") if isinstance(row, dict) else None
            resent = isinstance(trial_text, str) and trial_text.isdigit() and 1 <= int(trial_text) < number
            if kind == "trial" and resent:
                # A retry of a row that reached the disk but whose reply was lost: the same row again is fine.
                saved = logfile.read_rows(paths.csv)[int(trial_text) - 1]
                if saved == row:
                    return {"trial": trial_text, "duplicate": True}
                raise RequestError(409, f"{paths.csv.name}: trial {trial_text} is already saved with other values")
            if expected is None:
                raise RequestError(409, f"{paths.csv.name}: all {meta['n_trials_planned']} trials are saved")
            problems = row_problems(row, self.columns, expected)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise RequestError(400, f"{body['stem']} trial {expected['trial']}: {problems[0]}{more}")
            target = paths.csv if kind == "trial" else paths.practice
            with logfile.TrialLog(target, self.columns) as log:
                log.append(row)
            state[field] = number
            if kind == "trial":
                meta["n_trials_done"] = number
                meta["completed"] = number >= meta["n_trials_planned"]
                meta["runs"][-1]["last_trial"] = number
                logfile.write_json_atomic(paths.sidecar, meta)
        return {"trial": row["trial"]}

    def _expected(self, meta, kind, number):
        d = self.design
        session, cb = str(meta["session"]), str(meta["participant_number"])
        if kind == "trial":
            order = d["orders"][session][cb]["trials"]
            if number > len(order):
                return None
            k, block, presentation = order[number - 1]
            planned = dict(d["stimuli"][k], block=block, presentation=presentation)
            trial = str(number)
        else:
            order = d["practice_orders"].get(session, {}).get(cb, [])
            if number > len(order):
                return None
            planned = dict(d["practice_stimuli"][order[number - 1]], block=0, presentation=0)
            trial = f"practice{number}"
        expected = {c: planned[c] for c in PLANNED}
        expected.update(participant=meta["participant"], session=meta["session"], trial=trial,
                        expName=d["expName"], emotion=planned["emotion"])
        return expected

    # ---------------------------------------------------------------- end
    def end(self, body: dict) -> dict:
        state = self._load(body.get("stem"))
        with state["lock"]:
            meta = state["meta"]
            paths = logfile.paths_for(self.logs, body["stem"])
            rows = logfile.read_rows(paths.csv)
            run = meta["runs"][-1]
            this_run = [r["fixation_duration"] for r in rows if int(r["trial"]) >= run["first_trial"]]
            if this_run and meta.get("fixation_frames") and meta.get("refresh_rate_hz"):
                run["timing_check"] = refresh_lock_check(this_run, meta["fixation_frames"], meta["refresh_rate_hz"])
            summary = {k: body.get(k) for k in ("unsent", "refused", "fullscreen_exits")}
            _meta(summary, "end summary")
            meta["n_trials_done"] = len(rows)
            meta["completed"] = len(rows) >= meta["n_trials_planned"]
            meta["ended_by"] = "completed" if meta["completed"] else "browser ended early"
            run.update(summary, ended=self.clock().isoformat(timespec="seconds"), last_trial=len(rows),
                       ended_by=meta["ended_by"])
            logfile.write_json_atomic(paths.sidecar, meta)
        return {"completed": meta["completed"], "n_trials_done": len(rows)}
