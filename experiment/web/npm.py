"""jsPsych for the online session: installed with npm into a build cache, never into the repository.

The versions are pinned by ``experiment/web/npm/package-lock.json``; the cache
folder is keyed by that file's hash, so a new lock file gets a fresh install and
an old cache is never half-updated. ``python -m experiment.web.npm`` installs it
ahead of time (the Makefile does, so tests and builds need no network).

Cache location: ``$HALFFACE_WEB_CACHE``, else ``$XDG_CACHE_HOME/halfface/web``,
else ``~/.cache/halfface/web``.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from halfface.cli import run_main

NPM_DIR = Path(__file__).parent / "npm"
# What a site needs from node_modules: the browser bundles (each defines one global) and jsPsych's CSS.
RUNTIME_FILES = {
    "jspsych.js": "jspsych/dist/index.browser.min.js",
    "jspsych.css": "jspsych/css/jspsych.css",
    "plugin-call-function.js": "@jspsych/plugin-call-function/dist/index.browser.min.js",
    "plugin-fullscreen.js": "@jspsych/plugin-fullscreen/dist/index.browser.min.js",
    "plugin-html-keyboard-response.js": "@jspsych/plugin-html-keyboard-response/dist/index.browser.min.js",
    "plugin-preload.js": "@jspsych/plugin-preload/dist/index.browser.min.js",
    "plugin-survey-text.js": "@jspsych/plugin-survey-text/dist/index.browser.min.js",
    "plugin-virtual-chinrest.js": "@jspsych/plugin-virtual-chinrest/dist/index.browser.min.js",
}
_DONE = ".halfface-complete"


class NpmError(RuntimeError):
    """jsPsych could not be installed; the message says what to install or check."""


def cache_root() -> Path:
    if os.environ.get("HALFFACE_WEB_CACHE"):
        return Path(os.environ["HALFFACE_WEB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "halfface" / "web"


def lock_key() -> str:
    return hashlib.sha256((NPM_DIR / "package-lock.json").read_bytes()).hexdigest()[:12]


def pinned_versions() -> dict:
    """Package -> exact version, from the lock file (recorded in every site and session sidecar)."""
    wanted = json.loads((NPM_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((NPM_DIR / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    return {name: lock[f"node_modules/{name}"]["version"] for name in wanted}


def installed(cache=None) -> Path | None:
    """node_modules of a complete install for the current lock file, or None."""
    modules = Path(cache or cache_root()) / lock_key() / "node_modules"
    return modules if (modules / _DONE).exists() else None


def ensure_jspsych(cache=None) -> Path:
    """Return node_modules with the pinned jsPsych, running ``npm ci`` once if needed."""
    root = Path(cache or cache_root())
    done = installed(root)
    if done:
        return done
    npm = shutil.which("npm")
    if npm is None:
        raise NpmError("npm not found: the online build installs jsPsych with npm. Install Node.js 18 or newer "
                       "with npm (Debian/Ubuntu: apt-get install nodejs npm; others: https://nodejs.org), "
                       f"then run the command again (jsPsych goes once into {root})")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="install-", dir=root))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(NPM_DIR / name, work / name)
        # --ignore-scripts: nothing from the registry runs on this machine; the bundles are plain files.
        proc = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise NpmError(f"npm ci failed in {work} ({last}): check the connection to the npm registry "
                           "(npm config get registry) and run the command again")
        missing = [f for f in RUNTIME_FILES.values() if not (work / "node_modules" / f).is_file()]
        if missing:
            raise NpmError(f"npm installed jsPsych but {missing[0]} is missing: delete {root} and try again")
        (work / "node_modules" / _DONE).write_text(lock_key() + "\n", encoding="utf-8")
        target = root / lock_key()
        try:
            os.replace(work, target)
        except OSError:  # another build finished the same install first
            if installed(root) is None:
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root / lock_key() / "node_modules"


@run_main(also=(NpmError,))
def main() -> int:
    modules = ensure_jspsych()
    print(f"jsPsych {pinned_versions()['jspsych']} ready in {modules}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
