/* The half-face session online: Huang & Yang (2024) §3.1.2-3.1.3 in jsPsych 8.
 *
 * Reads like the lab session (experiment/session.py): set-up screens, then each
 * trial is a white "+" for 250 ms -> the half-face until SPACE -> emotion (1-7)
 * -> intensity (1-5) -> save. Everything else is decided by the build
 * (python -m experiment web) and arrives in design.js as HALFFACE_DESIGN: the
 * stimuli, the trial order of every counterbalancing number (computed by the
 * lab's experiment/design.py), the texts, keys and log columns.
 */
"use strict";

const D = typeof HALFFACE_DESIGN !== "undefined" ? HALFFACE_DESIGN : null;

/* ---------------------------------------------------------------- the session */

function buildTimeline(s) {
  return [
    askParticipant(s),                                   // only when the link has no ?participant=
    callAsync(() => s.start(), "start"),                 // the server creates the log, or resumes it
    { type: jsPsychFullscreen, fullscreen_mode: true, message: para(D.texts.fullscreen),
      button_label: D.texts.continue, on_start: () => shown("fullscreen"),
      on_finish: () => s.enforceFullscreen() },          // leaving it later re-runs the trial
    { type: jsPsychPreload, images: () => s.imageUrls(), message: para(D.texts.loading),
      on_start: () => shown("preload") },
    callAsync(() => s.measureRefresh(), "refresh"),      // rAF intervals -> Hz -> fixation frames
    { type: jsPsychVirtualChinrest, blindspot_reps: 5, resize_units: "none", ...D.texts.chinrest,
      on_start: () => shown("chinrest"),
      on_finish: (data) => s.calibrate(data) },          // card -> px/mm, blind spot -> distance -> px/deg
    callAsync(() => s.sendCalibration(), "calibration"),
    message(D.texts.instructions, "instructions"),
    trialLoop(s, "practice"),                            // separate practice photos, only from trial 1
    message(D.texts.practice_end, "practice_end", () => s.practiceShown),
    trialLoop(s, "trial"),
    callAsync(() => s.end(), "end"),
    { type: jsPsychHtmlKeyboardResponse, choices: "NO_KEYS", stimulus: () => s.endScreen(),
      on_load: () => s.offerDownloads() },
  ];
}

/* One trial, §3.1.3. Leaving full screen during a trial runs the whole trial again
 * and counts it in `restarted`, as the lab session does after a declined Escape. */
function halfFaceTrial(s, kind) {
  const t = () => s.current(kind);
  return {
    timeline: [
      // 1. white "+" for 250 ms, counted in frames of the measured refresh rate;
      // 2. the half-face until SPACE; its first frame ends the fixation and starts the RT
      { type: FrameScreen, lead_html: fixationHtml, lead_frames: () => s.fixationFrames,
        lead_label: "fixation", html: () => faceHtml(t(), s), choices: [" "],
        min_rt_s: D.timing.min_space_rt_s, label: "face", trial: () => String(t().trial),
        on_start: () => s.trialStarts() },
      // 3. emotion, keys 1-7 (mapping on screen)
      { type: FrameScreen, html: textHtml(D.texts.emotion_prompt), choices: Object.keys(D.emotion_keys),
        label: "emotion", trial: () => String(t().trial) },
      // 4. intensity, keys 1-5
      { type: FrameScreen, html: textHtml(D.texts.intensity_prompt), choices: Object.keys(D.intensity_keys),
        label: "intensity", trial: () => String(t().trial) },
    ],
    loop_function: (data) => {
      if (s.interrupted()) return true;
      s.save(kind, logRow(s, t(), ...data.values()));
      return false;
    },
  };
}

function trialLoop(s, kind) {
  const breakScreen = message(() => D.texts.break.replace("{done}", s.pos.trial).replace("{total}", s.trials.length),
                              "break", () => kind === "trial" && s.breakDue());
  return { timeline: [halfFaceTrial(s, kind), breakScreen],
           conditional_function: () => s.remaining(kind) > 0, loop_function: () => s.remaining(kind) > 0 };
}

/* The log row: exactly the lab's columns (D.columns, from experiment.logfile.LOG_COLUMNS) plus the
 * browser's. Times in seconds as in the lab; rt from the first frame that showed the face. */
function logRow(s, t, face, emotion, intensity) {
  const response = D.emotion_keys[emotion.key];
  const values = {
    participant: s.participant, session: s.session, trial: t.trial, stimulus: t.stimulus, source: t.source,
    photo_id: t.photo_id, emotion: t.emotion, visible_half: t.visible_half,
    visible_image_side: t.visible_image_side, response_emotion: response, response_key: emotion.key,
    correct: response === t.emotion ? 1 : 0, intensity: D.intensity_keys[intensity.key],
    rt: seconds(face.rt), emotion_rt: seconds(emotion.rt), intensity_rt: seconds(intensity.rt),
    fixation_frames: s.fixationFrames, fixation_duration: seconds(face.lead_duration),
    stim_onset: seconds((face.onset - s.t0) / 1000), mirrored: t.mirrored, block: t.block,
    presentation: t.presentation, dropped_frames: face.dropped_frames, trial_end: isoLocal(new Date()),
    restarted: s.restartedThisTrial, early_presses: face.early_presses, date: s.date, expName: D.expName,
    psychopyVersion: "",
    frameRate: seconds(Math.round(s.refresh.hz * 1000) / 1000),  // rounded to 0.001 Hz as the lab's column
    platform: D.platform, browser: navigator.userAgent,
    screen_width: screen.width, screen_height: screen.height, refresh_hz: seconds(s.refresh.hz),
  };
  return Object.fromEntries(D.columns.map((c) => [c, String(values[c])]));
}

/* ------------------------------------------------- the screen that counts frames */

/* Shows `lead_html` for `lead_frames` frame periods (the fixation), then `html` until one of
 * `choices`. Onsets are requestAnimationFrame timestamps of the first frame that contains the
 * content (PsychoPy's flip time, in the browser); the RT is the key event's own timestamp minus
 * that onset. Frames that took longer than a period + 4 ms are counted as dropped. */
class FrameScreen {
  constructor(jsPsych) { this.jsPsych = jsPsych; }

  trial(el, p) {
    const tolerance = 1000 * D.timing.dropped_frame_tolerance_s;
    return new Promise((resolve) => {
      if (SESSION.interruptedNow()) { resolve({ aborted: true, screen: p.label }); return; }
      let frame = -1, leadOnset = null, onset = null, last = null, dropped = 0, early = 0, raf;
      const finish = (result) => {
        document.removeEventListener("keydown", onKey);
        cancelAnimationFrame(raf);
        SESSION.abortScreen = null;
        resolve(Object.assign({ screen: p.label }, result));
      };
      SESSION.abortScreen = () => finish({ aborted: true });  // back from leaving full screen
      el.innerHTML = p.lead_frames > 0 ? p.lead_html : p.html;
      const period = SESSION.refresh.period_ms;
      const tick = (now) => {
        if (last !== null && now - last > period + tolerance) dropped++;
        last = now;
        frame++;
        if (frame === 0 && p.lead_frames > 0) { leadOnset = now; shown(p.lead_label, p.trial, now); }
        // The lead ends on the first frame at least lead_frames periods after its own first frame, judged
        // by the frames' timestamps rather than by counting callbacks: a browser may run two callbacks
        // for one display frame, or skip one, and a count would then end the fixation early or late.
        const due = p.lead_frames === 0 ? frame === 0 : now - leadOnset >= (p.lead_frames - 0.5) * period;
        if (onset === null && due) {
          if (p.lead_frames > 0) el.innerHTML = p.html;  // painted in this frame: its onset is `now`
          onset = now;
          shown(p.label, p.trial, now);
        }
        raf = requestAnimationFrame(tick);
      };
      raf = requestAnimationFrame(tick);
      const onKey = (e) => {
        const key = keyName(e);
        if (onset === null || e.repeat || SESSION.paused || !p.choices.includes(key)) return;
        const rt = (e.timeStamp - onset) / 1000;
        if (rt < p.min_rt_s) { early++; return; }  // faster than a face can be seen: ignored, counted
        finish({ key, rt, onset, lead_onset: leadOnset,
                 lead_duration: leadOnset === null ? null : (onset - leadOnset) / 1000,
                 dropped_frames: dropped, early_presses: early });
      };
      document.addEventListener("keydown", onKey);
    });
  }
}

function keyName(e) {
  // Layout-independent digits (AZERTY needs shift for them) and the numpad.
  const digit = /^(?:Digit|Numpad)([0-9])$/.exec(e.code || "");
  if (digit) return digit[1];
  return e.code === "Space" ? " " : e.key;
}

/* ------------------------------------------------------------- session state */

class Session {
  constructor(params) {
    this.participant = params.get("participant") || "";
    this.session = params.get("session") || "1";
    this.cbParam = params.get("cb");
    this.pos = { practice: 0, trial: 0 };
    this.restartedThisTrial = 0;
    this.fullscreenExits = 0;
    this.exitsAtTrialStart = 0;
    this.paused = false;
    this.saved = { practice: [], trial: [] };
    this.outbox = [];
    this.refused = [];
    this.mode = "server";
    this.practiceShown = false;
    this.refresh = { hz: 60, period_ms: 1000 / 60 };
  }

  async start() {
    if (!new RegExp(D.participant_id_pattern).test(this.participant))
      throw new Error(`participant ID "${this.participant}" is not allowed: use 1-64 letters, digits, - or _`);
    if (!D.orders[this.session]) throw new Error(`session ${this.session} is not in this build`);
    const n = counterbalancingNumber(this.participant, this.cbParam, D.cb_numbers);
    this.cb = n.used;
    this.trials = trialsFor(D, this.session, n.used);
    this.practice = practiceFor(D, this.session, n.used);
    this.started = new Date();
    this.date = psychopyDate(this.started);
    this.t0 = performance.now();
    if (location.protocol === "file:") this.mode = "download";  // opened from disk: no server to save to
    const reply = await this.post("session", {
      participant: this.participant, session: Number(this.session), cb_number: n.used,
      participant_number_from_id: n.fromId, cb_from_link: this.cbParam !== null, date: this.date,
      n_trials_planned: this.trials.length, browser: browserInfo(), time_zone: timeZone(),
    });
    if (reply === null) {
      this.mode = "download";  // a static host without the halfface server: the CSV download keeps the data
      this.stem = stemFor(this.participant, this.started);
      return;
    }
    this.stem = reply.stem;
    this.pos.trial = reply.first_trial - 1;
    // resumed: no second practice; reloaded during practice: it goes on with the next practice trial
    this.pos.practice = this.pos.trial > 0 ? this.practice.length
      : Math.min((reply.first_practice || 1) - 1, this.practice.length);
  }

  imageUrls() { return this.trials.concat(this.practice).map((t) => t.url); }

  async measureRefresh() {
    const times = await animationFrames(121);
    const intervals = times.slice(1).map((t, i) => t - times[i]);
    const period = median(intervals);
    this.refresh = { hz: 1000 / period, period_ms: period, interval_sd_ms: sd(intervals),
                     n_intervals: intervals.length, method: "median of 120 requestAnimationFrame intervals" };
    this.fixationFrames = framesFor(D.timing.fixation_s, this.refresh.hz);
  }

  calibrate(chinrest) {
    // PsychoPy's 'deg' units: 1 deg = distance * 0.017455 (experiment/monitor.py), here in px.
    this.chinrest = chinrest;
    this.pxPerDeg = chinrest.view_dist_mm * D.sizes.cm_per_deg_per_cm_distance * chinrest.px2mm;
    document.documentElement.style.setProperty("--deg", `${this.pxPerDeg}px`);
    document.body.classList.add("hf-dark");
  }

  async sendCalibration() {
    this.calibration = {
      chinrest: this.chinrest, px_per_deg: this.pxPerDeg, stim_height_deg: D.sizes.stim_height_deg,
      stim_height_px: D.sizes.stim_height_deg * this.pxPerDeg, refresh: this.refresh,
      fixation_frames: this.fixationFrames, screen: screenInfo(),
    };
    if (this.mode === "server") await this.post("calibration", Object.assign({ stem: this.stem }, this.calibration));
  }

  enforceFullscreen() {
    this.fullscreenOn = true;
    document.addEventListener("fullscreenchange", () => {
      if (document.fullscreenElement || !this.fullscreenOn) return;
      this.fullscreenExits++;
      this.paused = true;
      shown("fullscreen_left");
      overlay(D.texts.fullscreen_left, D.texts.return_fullscreen, async () => {
        await document.documentElement.requestFullscreen();
        this.paused = false;
        if (this.abortScreen) this.abortScreen();
      });
    });
  }

  current(kind) { return kind === "practice" ? this.practice[this.pos.practice] : this.trials[this.pos.trial]; }
  remaining(kind) { return (kind === "practice" ? this.practice : this.trials).length - this.pos[kind]; }
  breakDue() {
    const done = this.pos.trial;
    return D.break_every > 0 && done % D.break_every === 0 && done < this.trials.length && this.justSaved;
  }
  trialStarts() { this.exitsAtTrialStart = this.fullscreenExits; this.justSaved = false; }
  interruptedNow() { return this.exitsAtTrialStart !== this.fullscreenExits; }
  interrupted() {
    if (this.fullscreenExits === this.exitsAtTrialStart) return false;
    this.restartedThisTrial++;
    return true;
  }

  save(kind, row) {
    this.saved[kind].push(row);
    this.pos[kind]++;
    this.restartedThisTrial = 0;
    this.justSaved = kind === "trial";
    if (kind === "practice") this.practiceShown = true;
    shown("saved", row.trial);
    if (this.mode === "server") { this.outbox.push({ kind, row }); this.flush(); }
  }

  /* Rows go to the server one at a time and in order; a failed send stays in the outbox
   * and is retried with the next row, so a network hiccup loses nothing. */
  flush() {
    if (this.sending) return this.sending;
    this.sending = (async () => {
      while (this.outbox.length) {
        const { kind, row } = this.outbox[0];
        try {
          if (await this.post("trial", { stem: this.stem, kind, row }) === null) break;  // not our server now
        } catch (err) {
          if (!err.refused) break;  // offline: try again with the next row
          this.refused.push(err.message);
          console.error(err.message);
        }
        this.outbox.shift();
      }
      this.sending = null;
    })();
    return this.sending;
  }

  async end() {
    this.fullscreenOn = false;
    if (this.mode !== "server") return;
    for (let attempt = 0; attempt < 5 && this.outbox.length; attempt++) {
      await this.flush();
      if (this.outbox.length) await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
    }
    try {
      await this.post("end", { stem: this.stem, unsent: this.outbox.length, refused: this.refused,
                               fullscreen_exits: this.fullscreenExits });
    } catch (err) { console.error(err); }
  }

  endScreen() {
    const safe = this.mode === "server" && !this.outbox.length && !this.refused.length;
    return textHtml(D.texts.end) + (safe ? "" : textHtml(D.texts.download_prompt)) +
      `<p><button id="hf-download" class="jspsych-btn">${escapeHtml(D.texts.download_csv)}</button>
       <button id="hf-download-info" class="jspsych-btn">${escapeHtml(D.texts.download_json)}</button></p>`;
  }

  offerDownloads() {
    document.body.classList.remove("hf-dark");
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    document.getElementById("hf-download").onclick = () =>
      download(`${this.stem}.csv`, csvText(D.columns, this.saved.trial), "text/csv");
    document.getElementById("hf-download-info").onclick = () =>
      download(`${this.stem}.json`, JSON.stringify(this.sidecar(), null, 2) + "\n", "application/json");
    shown("end");
  }

  /* What the server's sidecar holds, for sessions saved by download only. */
  sidecar() {
    return { participant: this.participant, session: Number(this.session), date: this.date.slice(0, 10),
             started: isoLocal(this.started), expName: D.expName,
             platform: D.platform, simulated: false, saving: this.mode, n_trials_planned: this.trials.length,
             n_trials_done: this.saved.trial.length, completed: this.saved.trial.length >= this.trials.length,
             participant_number: this.cb, conditions_sha256: D.conditions_sha256, jspsych: D.jspsych,
             ...this.calibration, browser: browserInfo(), time_zone: timeZone(),
             fullscreen_exits: this.fullscreenExits };
  }

  /* POST to the halfface server (python -m experiment serve). null: no such server here. */
  async post(what, body) {
    if (this.mode !== "server") return null;
    const response = await fetch(`api/${what}`, { method: "POST", body: JSON.stringify(body),
                                                   headers: { "Content-Type": "application/json" } });
    const reply = await response.json().catch(() => null);
    if (!reply || !reply.halfface) return null;
    if (!response.ok) throw Object.assign(new Error(reply.error), { refused: true });
    return reply;
  }
}

/* --------------------------------------------------------------- helpers */

/* The trial list of a counterbalancing number: the lab's order, written into the build. */
function trialsFor(design, session, number) {
  return design.orders[session][String(number)].trials.map(([k, block, presentation], i) =>
    Object.assign({}, design.stimuli[k], { trial: i + 1, block, presentation }));
}

function practiceFor(design, session, number) {
  return ((design.practice_orders[session] || {})[String(number)] || []).map((k, i) =>
    Object.assign({}, design.practice_stimuli[k], { trial: `practice${i + 1}`, block: 0, presentation: 0 }));
}

/* ?cb=N from the link, else the digits of the ID as in the lab; folded into 1..N (see build.py). */
function counterbalancingNumber(id, cbParam, n) {
  const fromId = participantNumber(id);
  if (cbParam !== null && !/^[0-9]{1,9}$/.test(cbParam))
    throw new Error(`cb=${cbParam} in the link is not a whole number: fix the link (ask the experimenter)`);
  const wanted = cbParam !== null ? cbParam : fromId;
  if (wanted === null) throw new Error(`participant ID "${id}" has no digits for counterbalancing: ` +
                                       "add &cb=N to the link (ask the experimenter)");
  return { fromId, wanted, used: foldNumber(wanted, n) };
}

function participantNumber(id) {
  // experiment/ids.py number_from_id: the last run of digits (P07 -> 7, lab2-012 -> 12), as a string
  const runs = String(id).match(/[0-9]+/g);
  return runs ? String(BigInt(runs[runs.length - 1])) : null;
}

function foldNumber(number, n) {
  // ((number - 1) mod n) + 1 for numbers of any length (a long digit string stays exact as a BigInt)
  const x = BigInt(number), N = BigInt(n);
  return Number((((x - 1n) % N) + N) % N + 1n);
}

function framesFor(durationS, hz) {
  // experiment/timing.py frames_for: whole frames closest to the duration, at least 1
  return Math.max(1, Math.floor(durationS * hz + 0.5));
}

function seconds(x) { return Number(x).toFixed(6); }  // the lab's float format (logfile._fmt)
function median(xs) { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
                      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }
function sd(xs) { const m = xs.reduce((a, b) => a + b, 0) / xs.length;
                  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)); }
function pad(n, w = 2) { return String(n).padStart(w, "0"); }
function isoLocal(d) {  // local time with its UTC offset, as the lab's trial_end
  const off = -d.getTimezoneOffset(), a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
         `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
         `${off < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
function psychopyDate(d) {  // PsychoPy's data.getDateStr(): 2026-11-28_14h03.46.123, local time
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}_${pad(d.getHours())}h` +
         `${pad(d.getMinutes())}.${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function stemFor(participant, d) {
  return `${participant}_${D.expName}_${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}_` +
         `${pad(d.getHours())}${pad(d.getMinutes())}`;
}
function timeZone() {
  return { name: Intl.DateTimeFormat().resolvedOptions().timeZone,
           utc_offset_min: -new Date().getTimezoneOffset() };
}
function browserInfo() {
  return { user_agent: navigator.userAgent, language: navigator.language, cores: navigator.hardwareConcurrency,
           device_pixel_ratio: window.devicePixelRatio, jspsych: D.jspsych.jspsych };
}
function screenInfo() {
  return { width: screen.width, height: screen.height, avail_width: screen.availWidth,
           avail_height: screen.availHeight, inner_width: window.innerWidth, inner_height: window.innerHeight,
           device_pixel_ratio: window.devicePixelRatio, fullscreen: !!document.fullscreenElement };
}

function csvCell(v) { return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v; }  // Python's csv, minimal
function csvText(columns, rows) {
  return [columns, ...rows.map((r) => columns.map((c) => r[c]))].map((cells) => cells.map(csvCell).join(","))
    .join("\n") + "\n";
}

function download(name, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function animationFrames(n) {
  return new Promise((resolve) => {
    const times = [];
    const tick = (t) => { times.push(t); if (times.length < n) requestAnimationFrame(tick); else resolve(times); };
    requestAnimationFrame(tick);
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                                      "'": "&#39;" })[c]);
}
function para(text) { return `<p class="hf-setup">${escapeHtml(text)}</p>`; }
function textHtml(text) { return `<div class="hf-text">${escapeHtml(text)}</div>`; }
function fixationHtml() { return `<div class="hf-fixation">+</div>`; }
function faceHtml(t, s) {
  // Height in degrees as in the lab (--stim-height-deg, default 10); width keeps the image's aspect.
  const h = D.sizes.stim_height_deg * s.pxPerDeg;
  const w = h * t.width / t.height;
  return `<img class="hf-face" src="${escapeHtml(t.url)}" alt="" style="height:${h}px;width:${w}px">`;
}

function message(text, label, condition) {
  return { timeline: [{ type: jsPsychHtmlKeyboardResponse, choices: [" "],
                        stimulus: () => textHtml(typeof text === "function" ? text() : text),
                        on_load: () => shown(label) }],
           conditional_function: condition || (() => true) };
}

function callAsync(fn, label) {
  return { type: jsPsychCallFunction, async: true, func: (done) => {
    fn().then(() => done({ step: label }), (err) => fail(err));
  } };
}

function askParticipant(s) {
  const question = { prompt: D.texts.participant_prompt, name: "participant", required: true };
  return { timeline: [{ type: jsPsychSurveyText, questions: [question], button_label: D.texts.continue,
                        on_finish: (data) => { s.participant = data.response.participant.trim(); } }],
           conditional_function: () => !s.participant,
           loop_function: () => !new RegExp(D.participant_id_pattern).test(s.participant) };
}

function overlay(text, button, action) {
  const div = document.createElement("div");
  div.id = "hf-overlay";
  div.innerHTML = `${textHtml(text)}<p><button class="jspsych-btn">${escapeHtml(button)}</button></p>`;
  div.querySelector("button").onclick = async () => { await action(); div.remove(); };
  document.body.appendChild(div);
}

/* What is on screen and since when, for automated tests and debugging (window.halfface.screens). */
function shown(screen, trial = null, t = performance.now()) {
  window.halfface.screen = screen;
  window.halfface.screens.push({ screen, trial, t });
}

let SESSION = null;
let JSPSYCH = null;

function fail(err) {
  console.error(err);
  shown("error");
  JSPSYCH.abortExperiment(`<div class="hf-error">${escapeHtml(err.message || String(err))}</div>`);
}

function main() {
  window.halfface = { screen: "loading", screens: [] };
  FrameScreen.info = {
    name: "halfface-frame-screen", version: "1.0.0",
    parameters: {
      lead_html: { type: jsPsychModule.ParameterType.HTML_STRING, default: "" },
      lead_frames: { type: jsPsychModule.ParameterType.INT, default: 0 },
      lead_label: { type: jsPsychModule.ParameterType.STRING, default: "" },
      html: { type: jsPsychModule.ParameterType.HTML_STRING, default: "" },
      choices: { type: jsPsychModule.ParameterType.KEYS, default: [] },
      min_rt_s: { type: jsPsychModule.ParameterType.FLOAT, default: 0 },
      label: { type: jsPsychModule.ParameterType.STRING, default: "" },
      trial: { type: jsPsychModule.ParameterType.STRING, default: null },
    },
    data: {},
  };
  // the instructions file's fonts first (a Chinese text needs a CJK font), as the lab session does
  const fonts = D.fonts.map((f) => `"${f}"`).concat("sans-serif").join(", ");
  document.documentElement.style.setProperty("--font", fonts);
  SESSION = new Session(new URLSearchParams(location.search));
  JSPSYCH = initJsPsych();
  JSPSYCH.run(buildTimeline(SESSION));
}

if (typeof module !== "undefined") {
  module.exports = { trialsFor, practiceFor, counterbalancingNumber, participantNumber, foldNumber, framesFor,
                     csvText, psychopyDate, isoLocal, Session };  // node tests
} else {
  window.addEventListener("load", main);
}
