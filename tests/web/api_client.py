"""A scripted client of the server's API: posts what the browser posts, for server and load tests.

Rows are made the way procedure.js makes them (text cells, seconds with six
decimals) from the planned trial in the site's design.json.
"""

import http.client
import json
import random
from datetime import datetime, timezone
from urllib.parse import urlparse

from experiment.keys import EMOTION_KEYS


def make_row(design, participant, session, trial, planned, rng, *, key=None, intensity=None):
    key = key or rng.choice(sorted(EMOTION_KEYS))
    response = EMOTION_KEYS[key]
    values = {
        "participant": participant, "session": session, "trial": trial, "response_emotion": response,
        "response_key": key, "correct": int(response == planned["emotion"]),
        "intensity": intensity or rng.randint(1, 5), "rt": f"{rng.uniform(0.3, 1.5):.6f}",
        "emotion_rt": f"{rng.uniform(0.3, 1.5):.6f}", "intensity_rt": f"{rng.uniform(0.3, 1.5):.6f}",
        "fixation_frames": 15, "fixation_duration": "0.250000", "stim_onset": f"{10 + 3 * rng.random():.6f}",
        "dropped_frames": 0, "trial_end": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "restarted": 0, "early_presses": 0, "date": "2026-11-28_14h03.46.123", "expName": design["expName"],
        "psychopyVersion": "",
        "frameRate": "60.000000", "platform": "web", "browser": "Mozilla/5.0 (test, like Gecko)",
        "screen_width": 1920, "screen_height": 1080, "refresh_hz": "60.000000",
    }
    values.update({c: planned[c] for c in ("stimulus", "source", "photo_id", "emotion", "visible_half",
                                           "visible_image_side", "mirrored", "block", "presentation")})
    return {c: str(values[c]) for c in design["columns"]}


class ApiParticipant:
    """One participant's session through the HTTP API, on its own keep-alive connection."""

    def __init__(self, base, design, participant, session=1, cb=None, seed=0):
        self.url = urlparse(base)
        self.design = design
        self.participant = participant
        self.session = session
        self.cb = cb if cb is not None else int("".join(c for c in participant if c.isdigit()) or 1)
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        self.stem = None
        self.first_trial = None

    def post(self, path, body):
        data = json.dumps(body).encode("utf-8")
        self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def start(self, **extra):
        status, reply = self.post("/api/session", {
            "participant": self.participant, "session": self.session, "cb_number": self.cb,
            "participant_number_from_id": str(self.cb), "date": "2026-11-28_14h03.46.123",
            "n_trials_planned": len(self.planned()), "browser": {"user_agent": "test"},
            "time_zone": {"name": "UTC", "utc_offset_min": 0}, **extra})
        if status == 200:
            self.stem, self.first_trial = reply["stem"], reply["first_trial"]
        return status, reply

    def planned(self, kind="trial"):
        d = self.design
        if kind == "practice":
            order = d["practice_orders"].get(str(self.session), {}).get(str(self.cb), [])
            return [dict(d["practice_stimuli"][k], block=0, presentation=0, trial=f"practice{i}")
                    for i, k in enumerate(order, start=1)]
        return [dict(d["stimuli"][k], block=b, presentation=p, trial=i) for i, (k, b, p) in
                enumerate(d["orders"][str(self.session)][str(self.cb)]["trials"], start=1)]

    def row(self, number, kind="trial", **answers):
        planned = self.planned(kind)[number - 1]
        return make_row(self.design, self.participant, self.session, planned["trial"], planned, self.rng, **answers)

    def send(self, row, kind="trial"):
        return self.post("/api/trial", {"stem": self.stem, "kind": kind, "row": row})

    def end(self):
        return self.post("/api/end", {"stem": self.stem, "unsent": 0, "refused": [], "fullscreen_exits": 0})

    def close(self):
        self.conn.close()
