"""The recognition package trains, evaluates, predicts, benchmarks and runs Table 2 with only torch, torchvision
and numpy: pandas, matplotlib, tqdm, tensorboard, dlib, OpenCV, scipy and the other toolkit packages are made
unimportable (tests/recognition/blocked_imports.py); each missing extra is one note line.

All commands run in ONE subprocess (tests/recognition/bare_session.py): the blocker needs an interpreter that
never imported the blocked libraries, and one interpreter instead of eleven saves re-importing torch each time.
"""
import json
import subprocess
import sys

import pytest

from .conftest import REPO, SUBPROCESS_ENV

pytestmark = pytest.mark.slow
BLOCKER = str(REPO / "tests" / "recognition" / "blocked_imports.py")


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """The results of every command run on a bare torch machine, and the folder they wrote to."""
    tmp = tmp_path_factory.mktemp("bare")
    # the longest fixture here (15–45 s by load): four trainings, an evaluation, two predictions, a benchmark and
    # a table2 run, in the one interpreter that must not see the optional libraries
    p = subprocess.run([sys.executable, BLOCKER, "tests.recognition.bare_session", str(tmp)], cwd=REPO,
                       capture_output=True, text=True, timeout=600, env=SUBPROCESS_ENV)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads((tmp / "results.json").read_text()), tmp


def test_the_blocker_really_blocks(bare):
    r, _ = bare
    for name, message in r["blocked"].items():
        assert message == f"No module named '{name}'", name
    assert r["loaded_blocked"] == []
    assert r["menu"]["returncode"] == 0 and "table2" in r["menu"]["stdout"] and "export" in r["menu"]["stdout"]


def test_train_resume_evaluate_predict_bench_and_table2_without_the_optional_libraries(bare):
    r, tmp_path = bare
    run = tmp_path / "run"
    assert r["killed"]["returncode"] == "killed", r["killed"]["stderr"][-3000:]
    assert r["resumed"]["returncode"] == 0, r["resumed"]["stderr"][-3000:]  # the old code died here (confusion PNG)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2 and 0 <= summary["accuracy"] <= 1 and "macro_f1" in summary
    log = (run / "train.log").read_text()
    assert "tensorboard is not installed" in log and "matplotlib is not installed" in log
    assert (run / "confusion_matrix.csv").is_file() and not (run / "confusion_matrix.png").exists()

    # FER2013's csv is read without pandas
    assert r["fer"]["returncode"] == 0, r["fer"]["stderr"][-3000:]
    assert json.loads((tmp_path / "fer" / "summary.json").read_text())["n_evaluated"] == 7

    ev = r["evaluate"]
    assert ev["returncode"] == 0, ev["stderr"][-3000:]
    assert json.loads((tmp_path / "eval" / "eval_val.json").read_text())["accuracy"] == pytest.approx(
        summary["accuracy"])
    assert "matplotlib is not installed" in ev["stdout"]

    pr = r["predict_crop"]
    assert pr["returncode"] == 0, pr["stderr"][-3000:]
    [p] = json.loads(pr["stdout"])
    assert p["nose_found"] is False and sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert "note: dlib not available" in pr["stderr"] and pr["stderr"].count("\n") == 1
    photo = r["predict_photo"]  # photos need dlib: one line
    assert photo["returncode"] == 2 and photo["stderr"].count("\n") == 1

    bench = r["bench"]
    assert bench["returncode"] == 0, bench["stderr"][-3000:]
    assert "speed-up" in bench["stdout"]

    t2 = tmp_path / "t2"
    assert r["table2"]["returncode"] == 0, r["table2"]["stderr"][-3000:]
    assert (t2 / "table2.md").is_file() and not (t2 / "fig4.png").exists()
    assert "fig4.png not drawn" in (t2 / "table2.log").read_text()
    # the statistics need no scipy: McNemar by math.comb, the t's p by the closed form
    [comp] = json.loads((t2 / "table2.json").read_text())["comparisons"]
    assert comp["photos"] == 7 and 0 <= comp["mcnemar"]["p"] <= 1
    assert "grouped by photo: the identity column is empty" in (t2 / "table2.md").read_text()
    assert len((t2 / "predictions.csv").read_text().splitlines()) == 1 + 14

    ex = r["export"]
    assert ex["returncode"] == 2 and "pip install -e '.[export]'" in ex["stderr"] and ex["stderr"].count("\n") == 1
