"""Fixtures for the online session: generated stimuli, built sites, a running server, headless Chromium.

Browser tests drive Debian's ``chromium`` through Playwright (no browser download:
``make setup`` installs the apt package). Screenshots go to
``$HALFFACE_SCREENSHOTS/web`` when that is set, else to the test's tmp folder.
"""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from experiment.web.build import build_site

from .running_server import serve_in_thread
from .stimuli_files import make_manifest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless Debian chromium as root: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def manifests(tmp_path_factory):
    """(test manifest: 4 photos x 2 halves, practice manifest: 2 other photos x 2 halves)."""
    root = tmp_path_factory.mktemp("web_stimuli")
    return make_manifest(root / "test", 4), make_manifest(root / "practice", 2, prefix="practice", size=(110, 150))


@pytest.fixture(scope="session")
def site(manifests, tmp_path_factory):
    """A built site: 8 trials, 4 practice trials, a break after every 4 trials, orders for numbers 1-8."""
    test, practice = manifests
    out = tmp_path_factory.mktemp("web_site") / "site"
    build_site(test, out, practice_conditions=practice, cb_numbers=8, break_every=4)
    return out


@pytest.fixture
def server(site, tmp_path):
    """The halfface server on a free loopback port, logs in tmp_path/logs; yields (base URL, logs folder)."""
    srv, thread = serve_in_thread(site, tmp_path / "logs")
    yield f"http://127.0.0.1:{srv.server_address[1]}", tmp_path / "logs"
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


def post(base, path, body, raw=None, headers=None):
    """POST JSON; returns (status, reply dict)."""
    data = raw if raw is not None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    base = os.environ.get("HALFFACE_SCREENSHOTS")
    folder = Path(base) / "web" if base else tmp_path_factory.mktemp("web_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium (Debian's package) driven by Playwright; one per test session.

    Playwright's ``launch`` gives every browser a fresh temporary profile (user-data-dir).
    """
    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need Debian's chromium: run `make setup` (as root it installs it) "
                    "or apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("browser tests need Playwright's Python package: pip install -e '.[dev]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
