/* The half-face session online: Huang & Yang (2024) §3.1.2-3.1.3 in jsPsych 8.
 *
 * Reads like the lab session (experiment/session.py): set-up screens, then each
 * trial is a white "+" for 250 ms -> the half-face until SPACE -> emotion (1-7)
 * -> intensity (1-5) -> save. Everything else is decided by the build
 * (python -m experiment web) and arrives in design.js as HALFFACE_DESIGN: the
 * stimuli, the texts, keys and log columns, and the trial orders (computed by the
 * lab's experiment/design.py). With the halfface server (python -m experiment
 * serve) the server assigns the counterbalancing number and sends its order and a
 * session token; every answer stays in localStorage until the server has
 * acknowledged it. Without a server (a static host, file://) the page uses the
 * baked orders and the participant downloads the data.
 */
"use strict";

const D = typeof HALFFACE_DESIGN !== "undefined" ? HALFFACE_DESIGN : null;

/* ---------------------------------------------------------------- the session */

function buildTimeline(s) {
  return [
    askParticipant(s),                                   // only when the link has neither participant nor PROLIFIC_PID
    callAsync(() => s.claimTab(), "tab"),                // one tab per session in this browser (Web Locks)
    callAsync(() => s.askConsent(), "consent"),          // before anything is recorded; skipped on a resume
    callAsync(() => s.start(), "start"),                 // the server creates the log (or resumes it), gives the order
    { timeline: [
      { type: jsPsychFullscreen, fullscreen_mode: true, message: para(D.texts.fullscreen),
        button_label: D.texts.continue, on_start: () => shown("fullscreen"),
        on_finish: () => s.enforceFullscreen() },        // leaving it later re-runs the trial
      { type: jsPsychPreload, images: () => s.imageUrls(), message: para(D.texts.loading),
        on_start: () => shown("preload") },
      callAsync(() => s.measureRefresh(), "refresh"),    // rAF intervals -> Hz (and spread) -> fixation frames
      { type: jsPsychVirtualChinrest, blindspot_reps: 5, resize_units: "none", ...D.texts.chinrest,
        on_start: () => shown("chinrest"),
        on_finish: (data) => s.calibrate(data) },        // card -> px/mm, blind spot -> distance -> px/deg
      callAsync(() => s.checkFit(), "screen_fit"),       // the face and the answer keys must fit the window
      callAsync(() => s.sendCalibration(), "calibration"),
      message(D.texts.instructions, "instructions"),
      trialLoop(s, "practice"),                          // separate practice photos, only from trial 1
      message(D.texts.practice_end, "practice_end", () => s.practiceShown),
      trialLoop(s, "trial"),
    ], conditional_function: () => !s.alreadyComplete },
    callAsync(() => s.end(), "end"),                     // every row acknowledged, then the end
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
        on_start: () => s.trialStarts(kind) },
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
    platform: D.platform,
    reshown: s.reshownTrial(kind(t)),          // 1: on screen when the page was closed; shown again on resume
    expStart: s.expStart,
    browser: navigator.userAgent,
    screen_width: screen.width, screen_height: screen.height, refresh_hz: seconds(s.refresh.hz),
    refresh_sd_ms: seconds(s.refresh.interval_sd_ms),
    face_duration: seconds(face.duration),     // face onset frame to the first frame without it (rAF times)
    hidden_count: s.hiddenCount, blur_count: s.blurCount,  // tab hidden / window lost focus during the trial
    cb_number: s.cb,
    prolific_pid: s.link.prolific_pid, study_id: s.link.study_id, session_id: s.link.session_id,
  };
  return Object.fromEntries(D.columns.map((c) => [c, String(values[c])]));
}

function kind(t) { return String(t.trial).startsWith("practice") ? "practice" : "trial"; }

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
        document.removeEventListener("keydown", onKey);
        cancelAnimationFrame(raf);
        el.innerHTML = "";  // gone from the next frame: its timestamp ends the face's duration
        raf = requestAnimationFrame((offset) => finish({
          key, rt, onset, lead_onset: leadOnset, offset, duration: (offset - onset) / 1000,
          lead_duration: leadOnset === null ? null : (onset - leadOnset) / 1000,
          dropped_frames: dropped, early_presses: early }));
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
    // A recruiter's link: Prolific's PROLIFIC_PID, STUDY_ID, SESSION_ID, or a generic participant=
    this.link = { prolific_pid: params.get("PROLIFIC_PID") || "", study_id: params.get("STUDY_ID") || "",
                  session_id: params.get("SESSION_ID") || "" };
    this.participant = params.get("participant") || this.link.prolific_pid;
    this.session = params.get("session") || "1";
    this.cbParam = params.get("cb");  // only for a site opened without the server (download mode)
    this.pos = { practice: 0, trial: 0 };
    this.restartedThisTrial = 0;
    this.fullscreenExits = 0;
    this.exitsAtTrialStart = 0;
    this.hiddenCount = 0;
    this.blurCount = 0;
    this.paused = false;
    this.saved = { practice: [], trial: [] };
    this.outbox = [];
    this.refused = [];
    this.mode = location.protocol === "file:" ? "download" : "server";
    this.practiceShown = false;
    this.refresh = { hz: 60, period_ms: 1000 / 60, interval_sd_ms: 0 };
    this.reshown = null;  // {kind, trial} shown again after the page was closed mid-trial
    this.failures = 0;
    document.addEventListener("visibilitychange", () => { if (document.hidden) this.hiddenCount++; });
    window.addEventListener("blur", () => { this.blurCount++; });
    window.addEventListener("beforeunload", (e) => {  // answers not yet on the server: ask before leaving
      if (this.outbox.length) { e.preventDefault(); e.returnValue = D.texts.unsent_warning; }
    });
  }

  /* -------------------------------------------------- what this browser keeps (localStorage) */
  get storageKey() { return `halfface/${D.expName}/${this.participant}/${this.session}`; }
  stored() {
    try { return JSON.parse(localStorage.getItem(this.storageKey)) || {}; } catch (err) { return {}; }
  }
  store(update) {
    const value = Object.assign(this.stored(), update);
    try { localStorage.setItem(this.storageKey, JSON.stringify(value)); } catch (err) { console.error(err); }
    return value;
  }

  /* A second tab of this browser on the same session would interleave rows: only one holds the lock. */
  async claimTab() {
    if (!new RegExp(D.participant_id_pattern).test(this.participant))
      throw new Error(`participant ID "${this.participant}" is not allowed: use 1-64 letters, digits, - or _`);
    if (!navigator.locks) return;
    const got = await new Promise((resolve) => {
      navigator.locks.request(this.storageKey, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise(() => {}) : null;  // held until the page goes away
      });
    });
    if (!got) throw refusal();
  }

  async start() {
    if (!D.orders[this.session]) throw new Error(`session ${this.session} is not in this build`);
    this.started = new Date();
    this.date = psychopyDate(this.started);
    this.expStart = expStartText(this.started);
    this.t0 = performance.now();
    const kept = this.stored();
    let reply = null;
    if (this.mode === "server") {
      try {
        reply = await this.postRetrying("session", {
          participant: this.participant, ...this.link, session: Number(this.session), token: kept.token,
          date: this.date, browser: browserInfo(), time_zone: timeZone() });
      } catch (err) {
        throw err.status === 409 ? refusal() : err;  // open elsewhere: the generic message, in the page's language
      }
    }
    if (reply === null) return this.startWithoutServer();
    if (!reply.trials) throw new Error("unexpected reply from the server");
    this.stem = reply.stem;
    this.cb = reply.cb_number;
    this.trials = indexTrials(D.stimuli, reply.trials);
    this.practice = reply.practice.map((k, i) => Object.assign({}, D.practice_stimuli[k],
                                                                 { trial: `practice${i + 1}`, block: 0, presentation: 0 }));
    const earlier = kept.stem === reply.stem ? kept : {};
    this.expStart = earlier.expStart || this.expStart;
    this.store({ token: reply.token, stem: reply.stem, expStart: this.expStart });
    this.outbox = (earlier.outbox || []).slice();
    this.rows = earlier.rows || {};
    // answered here: on the server, or still in this browser's outbox (sent first, before anything else)
    const pending = (k) => this.outbox.filter((o) => o.kind === k).map((o) => Number(String(o.row.trial).replace(k, "")));
    this.pos.trial = Math.max(reply.first_trial - 1, ...pending("trial"));
    // resumed: no second practice; reloaded during practice: it goes on with the next practice trial
    this.pos.practice = this.pos.trial > 0 ? this.practice.length
      : Math.min(Math.max(reply.first_practice - 1, ...pending("practice")), this.practice.length);
    if (this.outbox.length) await this.flush(true);
    this.alreadyComplete = !!reply.completed;
    const onScreen = earlier.onScreen;
    if (onScreen && reply.resumed) {
      const next = onScreen.kind === "trial" ? String(this.pos.trial + 1) : `practice${this.pos.practice + 1}`;
      if (String(onScreen.trial) === next) this.reshown = { kind: onScreen.kind, trial: next };
    }
    this.saved.trial = Object.values(this.rows).sort((a, b) => Number(a.trial) - Number(b.trial));
    this.updateProgress();
  }

  startWithoutServer() {
    // A static host or the folder opened from disk: the order baked into the site, the CSV download keeps the data.
    this.mode = "download";
    const n = counterbalancingNumber(this.participant, this.cbParam, D.cb_numbers);
    this.cb = n.used;
    this.trials = trialsFor(D, this.session, n.used);
    this.practice = practiceFor(D, this.session, n.used);
    this.stem = stemFor(this.participant, this.started);
    this.rows = {};
  }

  imageUrls() { return this.trials.concat(this.practice).map((t) => t.url); }

  async measureRefresh() {
    // 4 s of frames: enough to see a rate that wanders or a browser that skips frames; the spread is logged.
    const times = await animationFrames(241);
    const intervals = times.slice(1).map((t, i) => t - times[i]);
    const period = median(intervals);
    const sorted = [...intervals].sort((a, b) => a - b);
    this.refresh = { hz: 1000 / period, period_ms: period, interval_sd_ms: sd(intervals),
                     interval_p05_ms: sorted[Math.floor(0.05 * sorted.length)],
                     interval_p95_ms: sorted[Math.floor(0.95 * sorted.length)],
                     interval_min_ms: sorted[0], interval_max_ms: sorted[sorted.length - 1],
                     n_intervals: intervals.length,
                     long_intervals: intervals.filter((x) => x > period + 1000 * D.timing.dropped_frame_tolerance_s).length,
                     method: `median of ${intervals.length} requestAnimationFrame intervals` };
    this.fixationFrames = framesFor(D.timing.fixation_s, this.refresh.hz);
  }

  calibrate(chinrest) {
    // PsychoPy's 'deg' units: 1 deg = distance * 0.017455 (experiment/monitor.py), here in px.
    this.chinrest = chinrest;
    this.pxPerDeg = chinrest.view_dist_mm * D.sizes.cm_per_deg_per_cm_distance * chinrest.px2mm;
    document.documentElement.style.setProperty("--deg", `${this.pxPerDeg}px`);
    document.body.classList.add("hf-dark");
  }

  /* Does the largest face and every answer screen fit the window at the calibrated size? */
  screenFit() {
    const faceH = D.sizes.stim_height_deg * this.pxPerDeg;
    const faceW = Math.max(...this.imageUrls().length ? this.trials.concat(this.practice)
      .map((t) => faceH * t.width / t.height) : [0]);
    const probe = document.createElement("div");
    probe.style.cssText = "position:absolute;visibility:hidden;left:0;top:0;width:90vw";
    document.body.appendChild(probe);
    const textSize = (text) => { probe.innerHTML = textHtml(text);
                                 const b = probe.firstChild.getBoundingClientRect(); return [b.width, b.height]; };
    const texts = [D.texts.emotion_prompt, D.texts.intensity_prompt, D.texts.instructions].map(textSize);
    probe.remove();
    const needW = Math.ceil(Math.max(faceW, ...texts.map((t) => t[0])));
    const needH = Math.ceil(Math.max(faceH, ...texts.map((t) => t[1])));
    this.fit = { need_w: needW, need_h: needH, have_w: window.innerWidth, have_h: window.innerHeight,
                 face_h: faceH, face_w: faceW, fits: needW <= window.innerWidth && needH <= window.innerHeight,
                 checks: (this.fit ? this.fit.checks : 0) + 1 };
    return this.fit;
  }

  /* Consent before anything is recorded: a page that resumes a session (consent kept) skips it. */
  async askConsent() {
    if (this.stored().consented) return;
    const agreed = await choice(textHtml(D.texts.consent), [D.texts.consent_agree, D.texts.consent_decline],
                                "consent");
    if (agreed !== 0) { finalScreen(textHtml(D.texts.declined), "declined"); throw stopped(); }
    this.store({ consented: new Date().toISOString() });
  }

  /* After the chinrest: too small a window is asked to grow (SPACE checks again) or to stop (Q). */
  async checkFit() {
    while (!this.screenFit().fits) {
      const f = this.fit;
      const text = D.texts.fit_too_small.replace("{need_w}", f.need_w).replace("{need_h}", f.need_h)
        .replace("{have_w}", f.have_w).replace("{have_h}", f.have_h);
      const key = await keyScreen(textHtml(text), [" ", "q", "Q"], "screen_too_small");
      if (key !== " ") {
        this.fullscreenOn = false;
        document.body.classList.remove("hf-dark");
        if (this.mode === "server")
          await this.post("end", { stem: this.stem, token: this.token(), unsent: 0, refused: [],
                                   fullscreen_exits: this.fullscreenExits, timing: { screen_fit: this.fit } })
            .catch((err) => console.error(err));
        finalScreen(textHtml(D.texts.fit_stopped), "fit_stopped");
        throw stopped();
      }
    }
  }

  async sendCalibration() {
    this.calibration = {
      chinrest: this.chinrest, px_per_deg: this.pxPerDeg, stim_height_deg: D.sizes.stim_height_deg,
      stim_height_px: D.sizes.stim_height_deg * this.pxPerDeg, refresh: this.refresh,
      fixation_frames: this.fixationFrames, screen: screenInfo(), screen_fit: this.fit,
    };
    if (this.mode === "server")
      await this.postRetrying("calibration", Object.assign({ stem: this.stem, token: this.token() }, this.calibration));
  }

  token() { return this.stored().token; }

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
  trialStarts(kind) {
    this.exitsAtTrialStart = this.fullscreenExits;
    this.justSaved = false;
    this.setProgressVisible(false);
    if (this.mode === "server") this.store({ onScreen: { kind, trial: String(this.current(kind).trial) } });
  }
  reshownTrial(kind) {
    return this.reshown && this.reshown.kind === kind && this.reshown.trial === String(this.current(kind).trial) ? 1 : 0;
  }
  interruptedNow() { return this.exitsAtTrialStart !== this.fullscreenExits; }
  interrupted() {
    if (this.fullscreenExits === this.exitsAtTrialStart) return false;
    this.restartedThisTrial++;
    return true;
  }

  /* The row goes to localStorage first, then to the server; it leaves the outbox only when acknowledged. */
  save(kind, row) {
    this.saved[kind].push(row);
    this.pos[kind]++;
    this.restartedThisTrial = 0;
    this.hiddenCount = 0;
    this.blurCount = 0;
    this.justSaved = kind === "trial";
    if (kind === "practice") this.practiceShown = true;
    if (this.mode === "server") {
      this.outbox.push({ kind, row });
      if (kind === "trial") this.rows[row.trial] = row;
      this.store({ outbox: this.outbox, rows: this.rows, onScreen: null });
      this.flush();
    }
    shown("saved", row.trial);
    this.updateProgress();
    this.setProgressVisible(true);
  }

  /* Rows go to the server one at a time and in order. While it cannot be reached a notice says so and
   * the page keeps trying, waiting 0.5 s, 1 s, 2 s ... up to 30 s between tries; the participant goes on. */
  flush(untilEmpty = false) {
    if (this.sending) return this.sending;
    this.sending = (async () => {
      while (this.outbox.length) {
        const { kind, row } = this.outbox[0];
        try {
          await this.post("trial", { stem: this.stem, token: this.token(), kind, row });
          this.connected();
        } catch (err) {
          if (!err.refused) {  // unreachable: wait, then try again
            this.disconnected();
            if (!untilEmpty && this.giveUp) break;
            await sleep(backoff(this.failures));
            continue;
          }
          this.refused.push(`${row.trial}: ${err.message}`);  // refused for good: kept for the download
          console.error(err.message);
        }
        this.outbox.shift();
        this.store({ outbox: this.outbox });
      }
      this.sending = null;
    })();
    return this.sending;
  }

  connected() { this.failures = 0; notice(null); }
  disconnected() { this.failures++; notice(D.texts.offline); }

  /* A request that must get through (start, calibration, end): retried with back-off while unreachable. */
  async postRetrying(what, body, maxTries = Infinity) {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.post(what, body);
        this.connected();
        return reply;
      } catch (err) {
        if (err.refused) throw err;
        this.disconnected();
        if (attempt + 1 >= maxTries) throw err;
        await sleep(backoff(this.failures));
      }
    }
  }

  async end() {
    this.fullscreenOn = false;
    this.setProgressVisible(false);
    document.body.classList.remove("hf-dark");
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    if (this.mode === "server") {
      showHtml(textHtml(D.texts.saving));
      shown("saving");
      let reply = null;
      try {
        await withTimeout(this.flush(true), 60000);  // a minute of retries before offering the download
        if (!this.outbox.length)
          reply = await this.postRetrying("end", { stem: this.stem, token: this.token(), unsent: 0,
                                                   refused: this.refused, fullscreen_exits: this.fullscreenExits,
                                                   timing: { refresh: this.refresh } }, 5);
      } catch (err) { console.error(err); }
      if (reply && !this.outbox.length && !this.refused.length) return this.endSaved(reply);
    }
    this.endUnsaved();
  }

  endSaved(reply) {
    this.store({ outbox: [], onScreen: null, rows: {} });
    const redirect = reply.completion_url;
    showHtml(textHtml(D.texts.debrief) + `<p><button id="hf-debrief-done" class="jspsych-btn">` +
             `${escapeHtml(D.texts.continue)}</button></p>`);
    shown("debrief");
    document.getElementById("hf-debrief-done").onclick = () => {
      showHtml(textHtml(D.texts.end_saved) + (redirect ? textHtml(D.texts.redirecting) : ""));
      shown("end");
      if (redirect) setTimeout(() => location.assign(redirect), 1500);
    };
  }

  endUnsaved() {
    const unsent = this.mode === "server" ? this.outbox.length + this.refused.length : 0;
    const text = this.mode === "server" ? D.texts.end_unsaved.replace("{unsent}", unsent)
      : `${D.texts.end}\n\n${D.texts.download_prompt}`;
    showHtml(textHtml(text) +
      `<p>${this.mode === "server" ? `<button id="hf-retry" class="jspsych-btn">${escapeHtml(D.texts.retry)}</button>` : ""}
       <button id="hf-download" class="jspsych-btn">${escapeHtml(D.texts.download_csv)}</button>
       <button id="hf-download-info" class="jspsych-btn">${escapeHtml(D.texts.download_json)}</button></p>`);
    const retry = document.getElementById("hf-retry");
    if (retry) retry.onclick = () => this.end();
    document.getElementById("hf-download").onclick = () =>
      download(`${this.stem}.csv`, csvText(D.columns, this.saved.trial), "text/csv");
    document.getElementById("hf-download-info").onclick = () =>
      download(`${this.stem}.json`, JSON.stringify(this.sidecar(), null, 2) + "\n", "application/json");
    shown("end");
  }

  updateProgress() {
    const el = document.getElementById("hf-progress");
    if (el && this.trials) el.textContent = D.texts.progress.replace("{done}", this.pos.trial)
      .replace("{total}", this.trials.length);
  }
  setProgressVisible(on) {
    const el = document.getElementById("hf-progress");
    if (el) el.style.visibility = on ? "visible" : "hidden";  // never beside the fixation or the face
  }

  /* What the server's sidecar holds, for sessions saved by download only. */
  sidecar() {
    return { participant: this.participant, session: Number(this.session), date: this.date.slice(0, 10),
             started: isoLocal(this.started), expName: D.expName,
             platform: D.platform, simulated: false, saving: this.mode, n_trials_planned: this.trials.length,
             n_trials_done: this.saved.trial.length, completed: this.saved.trial.length >= this.trials.length,
             participant_number: this.cb, conditions_sha256: D.conditions_sha256, jspsych: D.jspsych,
             recruitment: this.link, ...this.calibration, browser: browserInfo(), time_zone: timeZone(),
             fullscreen_exits: this.fullscreenExits, unsent: this.outbox.length, refused: this.refused };
  }

  /* POST to the halfface server (python -m experiment serve). null: no such server here (a static host);
   * throws {refused: true} when the server said no, a plain error when it could not be reached. */
  async post(what, body) {
    if (this.mode !== "server") return null;
    const response = await fetch(`api/${what}`, { method: "POST", body: JSON.stringify(body),
                                                   headers: { "Content-Type": "application/json" } });
    const reply = await response.json().catch(() => null);
    if (!reply || !reply.halfface) {
      // a static host (no halfface server): no API there; the page saves by download
      if (what === "session" && response.status < 500 && response.status !== 429) return null;
      throw new Error(`HTTP ${response.status}`);  // a proxy's error page while the server is down
    }
    if (response.status === 429 || response.status >= 500) throw new Error(reply.error);  // try again later
    if (!response.ok) throw Object.assign(new Error(reply.error), { refused: true, status: response.status });
    return reply;
  }
}

/* Screens of the page's own (outside jsPsych's display, which jsPsych clears when its timeline ends). */
function finalScreen(html, label) {
  let div = document.getElementById("hf-final");
  if (!div) {
    div = document.createElement("div");
    div.id = "hf-final";
    document.body.appendChild(div);
  }
  div.innerHTML = html;
  if (label) shown(label);
  return div;
}
function closeFinal() { const div = document.getElementById("hf-final"); if (div) div.remove(); }
function choice(html, labels, label) {
  return new Promise((resolve) => {
    const div = finalScreen(html + `<p>${labels.map((l, i) =>
      `<button class="jspsych-btn" data-choice="${i}">${escapeHtml(l)}</button>`).join(" ")}</p>`, label);
    div.querySelectorAll("button").forEach((b) => { b.onclick = () => { closeFinal(); resolve(Number(b.dataset.choice)); }; });
  });
}
function keyScreen(html, keys, label) {
  return new Promise((resolve) => {
    finalScreen(html, label);
    const onKey = (e) => {
      const key = keyName(e);
      if (!keys.includes(key)) return;
      document.removeEventListener("keydown", onKey);
      closeFinal();
      resolve(key);
    };
    document.addEventListener("keydown", onKey);
  });
}
function notice(text) {  // the connection notice, on top of everything while the server cannot be reached
  let div = document.getElementById("hf-notice");
  if (!text) { if (div) div.remove(); return; }
  if (!div) {
    div = document.createElement("div");
    div.id = "hf-notice";
    div.setAttribute("role", "alert");
    document.body.appendChild(div);
    shown("offline");
  }
  div.textContent = text;
}
function stopped() { return Object.assign(new Error("stopped"), { stopped: true }); }
function showHtml(html) { finalScreen(html); }

function refusal() { return Object.assign(new Error(D.texts.refused), { refused: true }); }
function backoff(failures) { return Math.min(30000, 500 * 2 ** Math.max(0, failures - 1)); }
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}
function expStartText(d) {  // PsychoPy's expInfo['expStart']: 2026-12-04 23h53.29.396000 +0100
  const off = -d.getTimezoneOffset(), a = Math.abs(off);
  return `${psychopyDate(d).replace("_", " ")}000 ${off < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}
function indexTrials(stimuli, order) {
  return order.map(([k, block, presentation], i) => Object.assign({}, stimuli[k], { trial: i + 1, block, presentation }));
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

/* As the server writes cells (experiment/web/rows.py neutralise): a cell a spreadsheet would run as a formula
 * gets a leading apostrophe (OWASP CSV injection), so the download and the server's file are the same bytes. */
function neutralise(v) {
  return /^[=+\-@\t\r']/.test(v) && !/^-?[0-9]+(\.[0-9]+)?$/.test(v) ? `'${v}` : v;
}
function csvCell(v) {  // Python's csv, minimal quoting
  v = neutralise(v);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
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
  if (err && err.stopped) return;  // a screen of its own says what happened
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
  const progress = document.createElement("div");
  progress.id = "hf-progress";
  progress.style.visibility = "hidden";
  document.body.appendChild(progress);
  JSPSYCH.run(buildTimeline(SESSION));
}

if (typeof module !== "undefined") {
  module.exports = { trialsFor, practiceFor, counterbalancingNumber, participantNumber, foldNumber, framesFor,
                     csvText, neutralise, psychopyDate, isoLocal, expStartText, backoff, Session };  // node tests
} else {
  window.addEventListener("load", main);
}
