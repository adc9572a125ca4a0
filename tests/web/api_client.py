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


def make_row(design, participant, session, trial, planned, rng, *, key=None, intensity=None, cb_number=1,
             link=None, extra=None):
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
        "psychopyVersion": "", "reshown": 0, "expStart": "2026-11-28 14h03.46.123000 +0000",
        "frameRate": "60.000000", "platform": "web", "browser": "Mozilla/5.0 (test, like Gecko)",
        "screen_width": 1920, "screen_height": 1080, "refresh_hz": "60.000000", "refresh_sd_ms": "0.100000",
        "face_duration": f"{rng.uniform(0.3, 1.5):.6f}", "hidden_count": 0, "blur_count": 0,
        "cb_number": cb_number, **(link or {}),
    }
    values.update(extra or {})
    values.update({c: planned[c] for c in ("stimulus", "source", "photo_id", "emotion", "visible_half",
                                           "visible_image_side", "mirrored", "block", "presentation")})
    return {c: str(values[c]) for c in design["columns"]}


class ApiParticipant:
    """One participant's session through the HTTP API, on its own keep-alive connection."""

    def __init__(self, base, design, participant, session=1, prolific=None, seed=0):
        self.url = urlparse(base)
        self.design = design
        self.participant = participant
        self.session = session
        self.link = {"prolific_pid": "", "study_id": "", "session_id": "", **(prolific or {})}
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        self.stem = self.token = self.first_trial = self.cb = None
        self.reply = None

    def post(self, path, body):
        data = json.dumps(body).encode("utf-8")
        self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def start(self, token=None, **extra):
        """POST /api/session as the page does (with the token the page kept, if any)."""
        body = {"participant": self.participant, "session": self.session, "date": "2026-11-28_14h03.46.123",
                "browser": {"user_agent": "test"}, "time_zone": {"name": "UTC", "utc_offset_min": 0},
                **{k: v for k, v in self.link.items() if v}, **extra}
        if token or self.token:
            body["token"] = token or self.token
        status, reply = self.post("/api/session", body)
        if status == 200:
            self.stem, self.first_trial, self.token, self.cb = (reply["stem"], reply["first_trial"], reply["token"],
                                                                reply["cb_number"])
            self.reply = reply
        return status, reply

    def planned(self, kind="trial"):
        d = self.design
        if kind == "practice":
            return [dict(d["practice_stimuli"][k], block=0, presentation=0, trial=f"practice{i}")
                    for i, k in enumerate(self.reply["practice"], start=1)]
        return [dict(d["stimuli"][k], block=b, presentation=p, trial=i) for i, (k, b, p) in
                enumerate(self.reply["trials"], start=1)]

    def row(self, number, kind="trial", extra=None, **answers):
        planned = self.planned(kind)[number - 1]
        return make_row(self.design, self.participant or self.link["prolific_pid"], self.session, planned["trial"],
                        planned, self.rng, cb_number=self.cb, link=self.link, extra=extra, **answers)

    def send(self, row, kind="trial"):
        return self.post("/api/trial", {"stem": self.stem, "token": self.token, "kind": kind, "row": row})

    def end(self):
        return self.post("/api/end", {"stem": self.stem, "token": self.token, "unsent": 0, "refused": [],
                                      "fullscreen_exits": 0})

    def close(self):
        self.conn.close()
