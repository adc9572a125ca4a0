"""Shared test fixtures.

Display: tests marked ``@pytest.mark.display`` get an X display. If ``DISPLAY``
is already set (a desktop, or ``.ci/run`` started Xvfb) it is used as is;
otherwise one ``Xvfb`` is started for the whole session on a free display
number and stopped at the end. Tests without the marker are untouched.
"""

import os
import shutil
import subprocess

import pytest

XVFB_SCREEN = "1280x1024x24"


@pytest.fixture(scope="session")
def x_display():
    """The DISPLAY string for window tests (exported for this process and its children)."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    if shutil.which("Xvfb") is None:
        pytest.skip("display test: DISPLAY is unset and Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it to the pipe,
    # so parallel runs and other X servers on the machine cannot collide.
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.skip("display test: Xvfb did not start")
    display = f":{number}"
    os.environ["DISPLAY"] = display
    try:
        yield display
    finally:
        del os.environ["DISPLAY"]
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def _display_for_marked_tests(request):
    # Only tests that ask for a display pay for (and see) one.
    if request.node.get_closest_marker("display") is not None:
        request.getfixturevalue("x_display")
    yield


# Longest first: `make test` runs the files on pytest-xdist workers (--dist loadfile --no-loadscope-reorder),
# which take the files in this order. The browser sessions run on the page's real clock (mostly waiting) and the
# slow files are the long ones, so starting them first lets the quick files fill in beside them instead of one worker
# finishing a browser session alone at the end. A stable sort: the order within each group is unchanged.
_FIRST = ("browser", "slow", "display")


def pytest_collection_modifyitems(items):
    rank = {}
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        r = min((i for i, name in enumerate(_FIRST) if name in marks), default=len(_FIRST))
        path = item.nodeid.split("::")[0]
        rank[path] = min(rank.get(path, r), r)
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
