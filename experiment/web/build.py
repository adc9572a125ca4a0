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

HERE = Path(__file__).parent
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
           "chinrest": {}},  # the virtual-chinrest plugin's own English texts
    "zh": {"fullscreen": "本实验需要在全屏模式下进行。\n\n请点击按钮切换到全屏。",
           "continue": "继续", "loading": "正在加载图片……",
           "fullscreen_left": "您已退出全屏。当前试次将重新呈现。",
           "return_fullscreen": "返回全屏",
           "download_prompt": "请下载您的数据，并将文件发送给实验者。",
           "download_csv": "下载数据 (CSV)", "download_json": "下载会话信息 (JSON)",
           "participant_prompt": "被试编号",
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


class BuildError(ValueError):
    """A problem with the build's input or output folder; one line naming the file/value and the fix."""


def cycle_length(rows, n_blocks: int, design: str = lab_design.DEFAULT_DESIGN) -> int:
    """Participants after which the design repeats apart from the shuffle seed.

    The Latin-square row of the blocks repeats every ``latin_square_rows``
    numbers, the order of each photo's versions every ``len(version_square(k))``.
    """
    _, info = lab_design.trial_order(rows, 0, 1, n_blocks, design)
    return math.lcm(info["latin_square_rows"], len(lab_design.version_square(info["versions_per_photo"])))


def orders(rows, cb_numbers: int, sessions: int, n_blocks: int, design: str, max_trials=None) -> dict:
    """{session: {number: {"trials": [[stimulus index, block, presentation], ...], seed, row, block order}}}.

    Straight from the lab's ``trial_order``; ``rows`` are the design's rows
    (the stimulus index points into them); ``max_trials`` keeps the first N
    trials, as the lab's ``--max-trials`` does.
    """
    index = {r["stimulus"]: k for k, r in enumerate(rows)}
    out = {}
    for session in range(1, sessions + 1):
        out[str(session)] = {}
        for number in range(1, cb_numbers + 1):
            trials, info = lab_design.trial_order(rows, number, session, n_blocks, design)
            out[str(session)][str(number)] = {
                "trials": [[index[t["stimulus"]], t["block"], t["presentation"]] for t in trials[:max_trials]],
                "seed": info["seed"], "latin_square_row": info["latin_square_row"],
                "block_order": info["block_order"],
            }
    return out


def practice_orders(practice_rows, n: int, cb_numbers: int, sessions: int, design: str) -> dict:
    """{session: {number: [practice stimulus index, ...]}} from the lab's ``practice_trials`` (own seed)."""
    index = {r["stimulus"]: k for k, r in enumerate(practice_rows)}
    return {str(s): {str(p): [index[t["stimulus"]] for t in lab_design.practice_trials(practice_rows, n, p, s, design)]
                     for p in range(1, cb_numbers + 1)} for s in range(1, sessions + 1)}


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
    return dict(web, **screens), list(lab.fonts), {"file": lab.source, "language": lab.language}


def site_design(rows, practice_rows=(), *, design=lab_design.DEFAULT_DESIGN, n_practice=None,
                conditions_name="", conditions_sha256="", exp_name=ids.DEFAULT_EXP_NAME, instructions="en",
                cb_numbers=DEFAULT_CB_NUMBERS, sessions=1, n_blocks=lab_design.DEFAULT_BLOCKS, max_trials=None,
                break_every=DEFAULT_BREAK_EVERY, stim_height_deg=10.0, min_rt_s=DEFAULT_MIN_RT_S,
                built=None) -> dict:
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
            shutil.copy2(HERE / name, tmp / name)
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
        (tmp / "design.js").write_text(f"const HALFFACE_DESIGN = {text};\n", encoding="utf-8")
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
