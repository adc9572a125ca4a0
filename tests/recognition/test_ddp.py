"""DistributedDataParallel on CPU: two gloo processes train one epoch and end with identical weights/labels."""
import json
import socket
import subprocess
import sys

from .conftest import REPO, SUBPROCESS_ENV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_agree_after_one_epoch(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()),
           "-m", "recognition.train", "--dataset", "synthetic", "--data", "n=32,size=48,classes=4,seed=1",
           "--image-size", "48", "--batch-size", "16", "--epochs", "1", "--relabel-start", "1",
           "--no-compile", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((out / "rank0.json").read_text())
    r1 = json.loads((out / "rank1.json").read_text())
    assert r0 == r1  # same weights digest, same (re-labelled) labels digest, same validation accuracy
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["world_size"] == 2 and cfg["steps_per_epoch"] == 2  # 32 samples / 2 ranks / 8 per rank
