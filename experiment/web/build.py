"""``python -m experiment web``: the lab session as a self-contained static jsPsych site.

The site holds ``index.html``, ``procedure.js`` (the hand-written procedure),
jsPsych and its plugins (copied from the npm build cache), the stimuli, and the
design the build computes here with the lab's own pure functions:
``design.json`` (read by ``python -m experiment serve``) and the same object as
``design.js`` (read by the browser, so the site also works from ``file://``).

The design holds the trial order of every counterbalancing number 1..N and
session 1..S from :func:`experiment.design.trial_order`, so the same number
gives the same order online as in the lab. An ID whose number exceeds N is
folded into 1..N (``((n - 1) mod N) + 1``); N is a multiple of the period after
which the design repeats (:func:`cycle_length`), so folding keeps the block order
and the order of each photo's halves, and only the shuffle seed repeats.
"""

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import tomllib
from datetime import datetime, timezone
from pathlib import Path

from experiment import design as lab_design
from experiment import ids, keys
from experiment.conditions import check_practice_separate, load_conditions
from experiment.logfile import ORDER_COLUMNS
from experiment.monitor import CM_PER_DEG_PER_CM_DISTANCE
from experiment.session import DEFAULT_MIN_RT_S
from experiment.texts import load_texts
from experiment.timing import FIXATION_S
from experiment.web import npm
from experiment.web.rows import PLATFORM, web_columns
from halfface.cli import UserError

HERE = Path(__file__).parent
TEXTS_DIR = HERE / "texts"
PROLIFIC_COMPLETION = "https://app.prolific.com/submissions/complete?cc={code}"
SERVER_ONLY = ("completion_url",)  # in design.json (never served), not in design.js
SITE_FILES = ("index.html", "procedure.js")
FORMAT = "halfface-web-site/1"
DEFAULT_CB_NUMBERS = 120
DEFAULT_BREAK_EVERY = 35  # four parts of the paper's 140 trials; an online participant cannot ask for a pause
TEXT_HEIGHT_DEG = 0.8  # as the lab's experiment/screen.py
FIXATION_HEIGHT_DEG = 1.0
DROPPED_FRAME_TOLERANCE_S = 0.004  # as the lab: a frame is dropped when it took a period + 4 ms or more
ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"  # experiment.ids.validate_participant_id; a test keeps the two equal

# Screens only the online version has, in the languages the lab ships (experiment/instructions/*.toml).
# A [web] table in the instructions file overrides them (same keys).
WEB_TEXTS = {
    "en": {"fullscreen": "The experiment runs in full screen.\n\nClick the button to switch to full screen.",
           "continue": "Continue", "loading": "Loading the pictures ...",
           "fullscreen_left": "You left full screen. The current trial will be shown again.",
           "return_fullscreen": "Return to full screen",
           "download_prompt": "Please download your data and send the file to the experimenter.",
           "download_csv": "Download data (CSV)", "download_json": "Download session info (JSON)",
           "participant_prompt": "Participant ID",
           "consent_agree": "I agree", "consent_decline": "I do not agree",
           "declined": "You did not agree to take part. Nothing was recorded. You may close this page.",
           "fit_too_small": "This window is too small to show the pictures and the answer keys at the size the "
                            "study needs ({need_w} x {need_h} pixels, the window has {have_w} x {have_h}).\n\n"
                            "Please make the window larger (or use a larger screen) and press SPACE to check "
                            "again, or press Q to stop.",
           "fit_stopped": "The study cannot run on this screen. Nothing more will be recorded. You may close "
                          "this page.",
           "progress": "Trial {done} of {total}",
           "offline": "No connection to the study server. Your answers are kept in this browser and will be "
                      "sent when the connection is back. Please do not close this page.",
           "unsent_warning": "Some answers have not reached the server yet.",
           "saving": "Saving your answers ...",
           "end_saved": "All your answers are saved. Thank you!",
           "end_unsaved": "Your answers could not all be saved on the server ({unsent} not sent). Please keep "
                          "this page open and try again in a few minutes, or download your data below and send "
                          "the file to the researchers.",
           "retry": "Try again",
           "redirecting": "Returning you to the recruitment site ...",
           "completion_code": "Your completion code: {code}",
           "refused": "This study session cannot be opened here. It may already be open in another window "
                      "or tab, or it was started in another browser. Please go back to that window, or "
                      "contact the researchers.",
           "chinrest": {}},  # the virtual-chinrest plugin's own English texts
    "zh": {"fullscreen": "本实验需要在全屏模式下进行。\n\n请点击按钮切换到全屏。",
           "continue": "继续", "loading": "正在加载图片……",
           "fullscreen_left": "您已退出全屏。当前试次将重新呈现。",
           "return_fullscreen": "返回全屏",
           "download_prompt": "请下载您的数据，并将文件发送给实验者。",
           "download_csv": "下载数据 (CSV)", "download_json": "下载会话信息 (JSON)",
           "participant_prompt": "被试编号",
           "consent_agree": "我同意", "consent_decline": "我不同意",
           "declined": "您没有同意参加本研究，未记录任何数据。您可以关闭本页面。",
           "fit_too_small": "此窗口太小，无法按实验要求的大小显示图片和按键说明（需要 {need_w} x {need_h} 像素，"
                            "当前窗口为 {have_w} x {have_h}）。\n\n请放大窗口（或换用更大的屏幕）后按空格键重新检查，"
                            "或按 Q 键结束。",
           "fit_stopped": "本实验无法在此屏幕上进行，不再记录任何数据。您可以关闭本页面。",
           "progress": "第 {done} / {total} 个试次",
           "offline": "无法连接实验服务器。您的回答已保存在此浏览器中，连接恢复后会自动发送。请不要关闭本页面。",
           "unsent_warning": "部分回答尚未发送到服务器。",
           "saving": "正在保存您的回答……",
           "end_saved": "您的所有回答均已保存。谢谢！",
           "end_unsaved": "您的部分回答未能保存到服务器（{unsent} 条未发送）。请保持本页面打开，几分钟后重试；"
                          "或在下方下载数据文件并发送给研究者。",
           "retry": "重试",
           "redirecting": "正在返回招募网站……",
           "completion_code": "您的完成码：{code}",
           "refused": "无法在此打开本次实验。它可能已在另一个窗口或标签页中打开，或是在另一个浏览器中开始的。"
                      "请回到那个窗口，或联系研究者。",
           "chinrest": {  # parameters of jsPsych's virtual-chinrest plugin
               "adjustment_prompt": "<p>请拖动图片的右下角，直到它和举在屏幕前的一张银行卡一样大。</p>"
                                    "<p>任何与银行卡同样大小的卡片都可以，例如会员卡或身份证。</p>"
                                    "<p>如果手边没有卡片，也可以用尺子把图片的宽度量成 85.6 毫米。</p>",
               "adjustment_button_prompt": "图片大小合适时，请点击这里",
               "blindspot_prompt": "<p>现在我们快速测量您与屏幕的距离。</p><div style='text-align: left'><ol>"
                                   "<li>把左手放在<b>空格键</b>上。</li><li>用右手遮住右眼。</li>"
                                   "<li>用左眼注视黑色方块，并一直注视它。</li>"
                                   "<li><span style='color: red; font-weight: bold;'>红色圆点</span>从右向左移动，"
                                   "会在某处消失。圆点一消失，就按空格键。</li></ol></div>"
                                   "<p>准备好后，按空格键开始。</p>",
               "blindspot_measurements_prompt": "剩余测量次数：",
               "viewing_distance_report": "<p>根据您的回答，您距离屏幕约 <span id='distance-estimate' "
                                          "style='font-weight: bold;'></span>。</p><p>这个距离大致正确吗？</p>",
               "redo_measurement_button_label": "不对，重新测量",
               "blindspot_done_prompt": "是"}},
}


class BuildError(UserError, ValueError):
    """A problem with the build's input or output folder; one line naming the file/value and the fix."""


def cycle_length(rows, n_blocks: int, design: str = lab_design.DEFAULT_DESIGN) -> int:
    """Participants after which the design repeats apart from the shuffle seed.

    The Latin-square row of the blocks repeats every ``latin_square_rows``
    numbers, the order of each photo's versions every ``len(version_square(k))``.
    """
    _, info = lab_design.trial_order(rows, 0, 1, n_blocks, design)
    return math.lcm(info["latin_square_rows"], len(lab_design.version_square(info["versions_per_photo"])))


def order_for(rows, number: int, session: int, n_blocks: int, design: str, max_trials=None) -> dict:
    """One number's order as the site stores it: ``{"trials": [[stimulus index, block, presentation], ...],
    seed, latin_square_row, block_order}``, straight from the lab's ``trial_order``.

    The server calls it for numbers beyond the build's range, so any number gets the lab's order.
    """
    index = {r["stimulus"]: k for k, r in enumerate(rows)}
    trials, info = lab_design.trial_order(rows, number, session, n_blocks, design)
    return {"trials": [[index[t["stimulus"]], t["block"], t["presentation"]] for t in trials[:max_trials]],
            "seed": info["seed"], "latin_square_row": info["latin_square_row"], "block_order": info["block_order"]}


def practice_for(practice_rows, n: int, number: int, session: int, design: str) -> list:
    """One number's practice trials as stimulus indices (the lab's ``practice_trials``, own seed)."""
    index = {r["stimulus"]: k for k, r in enumerate(practice_rows)}
    return [index[t["stimulus"]] for t in lab_design.practice_trials(practice_rows, n, number, session, design)]


def orders(rows, cb_numbers: int, sessions: int, n_blocks: int, design: str, max_trials=None) -> dict:
    """{session: {number: {"trials": [[stimulus index, block, presentation], ...], seed, row, block order}}}.

    Straight from the lab's ``trial_order``; ``rows`` are the design's rows
    (the stimulus index points into them); ``max_trials`` keeps the first N
    trials, as the lab's ``--max-trials`` does.
    """
    return {str(session): {str(number): order_for(rows, number, session, n_blocks, design, max_trials)
                           for number in range(1, cb_numbers + 1)} for session in range(1, sessions + 1)}


def practice_orders(practice_rows, n: int, cb_numbers: int, sessions: int, design: str) -> dict:
    """{session: {number: [practice stimulus index, ...]}} from the lab's ``practice_trials`` (own seed)."""
    return {str(s): {str(p): practice_for(practice_rows, n, p, s, design) for p in range(1, cb_numbers + 1)}
            for s in range(1, sessions + 1)}


def _stimulus_entry(row, url) -> dict:
    entry = {c: str(row.get(c, "")) for c in ORDER_COLUMNS if c not in ("trial", "block", "presentation")}
    entry["mirrored"] = str(row.get("mirrored") or "0")
    width, height = row["image_size"]
    entry.update(url=url, width=width, height=height)
    return entry


def texts(choice="en") -> tuple[dict, list, dict]:
    """(screen texts, fonts, source) from the lab's instructions file: same words, same key mapping.

    ``choice`` is a TOML file or ``en``/``zh`` (the shipped ones), exactly as the
    lab session's ``--instructions``.
    """
    lab = load_texts(choice)
    screens = {k: lab.screen(k) for k in ("instructions", "practice_end", "break", "end")}
    screens["emotion_prompt"] = lab.screen("emotion_question")
    screens["intensity_prompt"] = lab.screen("intensity_question")
    web = dict(WEB_TEXTS["en"], **WEB_TEXTS.get(lab.language, {}))
    extra = tomllib.loads(Path(lab.source).read_text(encoding="utf-8")).get("web", {})
    if not isinstance(extra, dict) or set(extra) - set(web):
        raise BuildError(f"{lab.source}: [web] may only hold {', '.join(sorted(web))}")
    web.update({k: v if k == "chinrest" else str(v) for k, v in extra.items()})
    # The file's name and hash, never its path: the site is public and must not show the builder's folders.
    source = {"file": Path(lab.source).name, "sha256": _sha256(lab.source), "language": lab.language}
    return dict(web, **screens), list(lab.fonts), source


def screen_text(path, kind: str, language: str) -> tuple[str, dict]:
    """(text, source) of the consent or debrief screen: ``path``, else the shipped one in the language."""
    path = Path(path) if path else TEXTS_DIR / f"{kind}_{language if language in WEB_TEXTS else 'en'}.txt"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise BuildError(f"--{kind} {path}: cannot read it ({getattr(err, 'strerror', None) or err}); "
                         "pass a UTF-8 text file") from None
    if not text:
        raise BuildError(f"--{kind} {path}: the file is empty; write the {kind} text into it")
    return text, {"file": path.name, "sha256": _sha256(path)}


def completion_url(url=None, prolific_code=None) -> str | None:
    """Where the page sends a participant who finished: ``url``, or Prolific's completion link for the code."""
    if url and prolific_code:
        raise BuildError("give --completion-url or --prolific-code, not both")
    if prolific_code:
        if not re.fullmatch(r"[A-Za-z0-9]{1,32}", prolific_code):
            raise BuildError(f"--prolific-code {prolific_code!r}: Prolific codes are letters and digits")
        return PROLIFIC_COMPLETION.format(code=prolific_code)
    if url and not re.fullmatch(r"https://[^\s\"'<>]+", url):
        raise BuildError(f"--completion-url {url!r}: must be an https:// address without spaces or quotes")
    return url or None


def site_design(rows, practice_rows=(), *, design=lab_design.DEFAULT_DESIGN, n_practice=None,
                conditions_name="", conditions_sha256="", exp_name=ids.DEFAULT_EXP_NAME, instructions="en",
                cb_numbers=DEFAULT_CB_NUMBERS, sessions=1, n_blocks=lab_design.DEFAULT_BLOCKS, max_trials=None,
                break_every=DEFAULT_BREAK_EVERY, stim_height_deg=10.0, min_rt_s=DEFAULT_MIN_RT_S,
                built=None, consent=None, debrief=None, completion=None) -> dict:
    """The whole design of a site as one JSON-ready dict (pure: manifest rows in, dict out)."""
    rows = lab_design.design_rows(rows, design)
    practice_rows = lab_design.design_rows(practice_rows, design)
    period = cycle_length(rows, n_blocks, design)
    if cb_numbers % period:
        raise BuildError(f"--cb-numbers {cb_numbers} must be a multiple of {period} (the Latin-square rows and the "
                         f"orders of a photo's versions repeat every {period} numbers), so that folding larger "
                         f"numbers keeps the balance: use {math.ceil(cb_numbers / period) * period}")
    _, info = lab_design.trial_order(rows, 1, 1, n_blocks, design)
    screens, fonts, source = texts(instructions)
    n_practice = len(practice_rows) if n_practice is None else n_practice
    screens["consent"], consent_source = screen_text(consent, "consent", source["language"])
    screens["debrief"], debrief_source = screen_text(debrief, "debrief", source["language"])
    return {
        "format": FORMAT,
        "built": built or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "expName": ids.validate_exp_name(exp_name),
        "platform": PLATFORM,
        "design": design,
        "conditions_file": conditions_name,
        "conditions_sha256": conditions_sha256,
        "jspsych": npm.pinned_versions(),
        "columns": list(web_columns()),
        "participant_id_pattern": ID_PATTERN,
        "emotion_keys": dict(keys.EMOTION_KEYS),
        "intensity_keys": dict(keys.INTENSITY_KEYS),
        "texts": screens,
        "fonts": fonts,
        "instructions": source,
        "consent": consent_source,
        "debrief": debrief_source,
        "completion_url": completion,
        "n_practice": n_practice,
        "timing": {"fixation_s": FIXATION_S, "min_space_rt_s": min_rt_s,
                   "dropped_frame_tolerance_s": DROPPED_FRAME_TOLERANCE_S},
        "sizes": {"stim_height_deg": stim_height_deg, "text_height_deg": TEXT_HEIGHT_DEG,
                  "fixation_height_deg": FIXATION_HEIGHT_DEG,
                  "cm_per_deg_per_cm_distance": CM_PER_DEG_PER_CM_DISTANCE},
        "break_every": break_every,
        "max_trials": max_trials,
        "cb_numbers": cb_numbers,
        "sessions": sessions,
        "counterbalancing": {k: info[k] for k in ("scheme", "design", "versions_per_photo", "n_blocks",
                                                  "latin_square_rows", "blocks", "version_order_rule")},
        "stimuli": [_stimulus_entry(r, f"stimuli/{k:03d}_{Path(r['stimulus']).name}") for k, r in enumerate(rows)],
        "practice_stimuli": [_stimulus_entry(r, f"practice/{k:03d}_{Path(r['stimulus']).name}")
                             for k, r in enumerate(practice_rows)],
        "orders": orders(rows, cb_numbers, sessions, n_blocks, design, max_trials),
        "practice_orders": practice_orders(practice_rows, n_practice, cb_numbers, sessions, design)
        if practice_rows and n_practice else {},
    }


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _load_practice(path, rows, conditions, design) -> list:
    """The practice manifest, checked as the lab checks it: never a test photo (nor the same image)."""
    practice = load_conditions(path, design, warn=None)  # per-emotion counts do not matter for practice
    check_practice_separate(practice, rows, path, conditions)
    return practice


def _copy_runtime(source: Path, target: Path) -> None:
    # The bundles end with a source-map URL on unpkg.com: dropped, so nothing in the site points off-site.
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(l for l in lines if not l.startswith(("//# sourceMappingURL=", "/*# sourceMappingURL="))),
                      encoding="utf-8")


def _check_out(out: Path) -> None:
    """Refuse to replace anything but an earlier site build (never delete a user's files)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise BuildError(f"{out} exists and is not a folder: choose another --out")
    marker = out / "design.json"
    if any(out.iterdir()):
        try:
            ok = json.loads(marker.read_text(encoding="utf-8")).get("format") == FORMAT
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise BuildError(f"{out} is not empty and holds no earlier site build (no {marker.name}): "
                             "choose an empty or new --out folder (nothing was changed)")


def build_site(conditions, out, *, practice_conditions=None, instructions="en", npm_cache=None,
               design=lab_design.DEFAULT_DESIGN, **options) -> dict:
    """Write the site into ``out`` (replacing an earlier build there); returns the design."""
    conditions, out = Path(conditions), Path(out)
    texts(instructions)  # a bad instructions file stops the build before anything is installed
    rows = load_conditions(conditions, design)
    practice = _load_practice(practice_conditions, rows, conditions, design) if practice_conditions else []
    _check_out(out)
    modules = npm.ensure_jspsych(npm_cache)
    site = site_design(rows, practice, design=design, conditions_name=conditions.name,
                       conditions_sha256=_sha256(conditions), instructions=instructions, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name in SITE_FILES:
            shutil.copyfile(HERE / name, tmp / name)
        (tmp / "jspsych").mkdir()
        for name, rel in npm.RUNTIME_FILES.items():
            _copy_runtime(modules / rel, tmp / "jspsych" / name)
        licences = "".join(f"{p} {v} (MIT licence, https://www.npmjs.com/package/{p})\n"
                           for p, v in site["jspsych"].items())
        (tmp / "jspsych" / "LICENSES.txt").write_text(licences, encoding="utf-8")
        for folder, entries, source_rows in (("stimuli", site["stimuli"], rows),
                                             ("practice", site["practice_stimuli"], practice)):
            (tmp / folder).mkdir()
            paths = {r["stimulus"]: r["stimulus_path"] for r in source_rows}
            for entry in entries:
                shutil.copy2(paths[entry["stimulus"]], tmp / entry["url"])
        text = json.dumps(site, ensure_ascii=False, separators=(",", ":"))
        (tmp / "design.json").write_text(text + "\n", encoding="utf-8")
        public = json.dumps({k: v for k, v in site.items() if k not in SERVER_ONLY}, ensure_ascii=False,
                            separators=(",", ":"))
        (tmp / "design.js").write_text(f"const HALFFACE_DESIGN = {public};\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}-old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return site
