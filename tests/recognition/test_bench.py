"""recognition.bench: both pipelines timed in one run, results written as JSON (CPU smoke run)."""
import json

import pytest
import torch

from recognition import bench

torch.set_num_threads(1)


@pytest.mark.slow
def test_cpu_bench_times_naive_and_ours_at_both_sizes_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = bench.main(["--image-size", "64", "--reduced-size", "40", "--steps", "2", "--warmup", "1",
                       "--batch-size", "4", "--naive-batch-size", "4", "--workers", "0", "--device", "cpu",
                       "--threads", "1", "--json", str(out)])
    assert code == 0
    r = json.loads(out.read_text())
    assert r["device"] == "cpu" and r["variant"] == "hsaw" and r["threads"] == 1
    for block, size in ((r, 64), (r["reduced"], 40)):
        assert block["image_size"] == size
        naive, ours = block["naive"], block["ours"]
        assert naive["faces_per_s"] > 0 and ours["faces_per_s"] > 0
        assert block["ratio"] == pytest.approx(ours["faces_per_s"] / naive["faces_per_s"])
        assert naive["steps"] == ours["steps"] == 2 and naive["batch_size"] == ours["batch_size"] == 4
        assert ours["peak_memory_bytes"] > 10 * 2**20 and "RSS" in ours["memory_kind"]
        assert naive["precision"].startswith("fp32") and ours["compile"] is False
        assert ours["faces_per_s"] == pytest.approx(8 / ours["seconds"])
        assert block["augment_only"]["faces_per_s"] > 0 and block["augment_only"]["warmup_calls"] >= 1
        # the like-for-like row: ours at the naive batch, fp32, no compile, beside the tuned row
        like = block["like_for_like"]
        assert like["batch_size"] == like["ours"]["batch_size"] == naive["batch_size"]
        assert like["ours"]["precision"] == naive["precision"] == "fp32 (TF32 off)" and like["ours"]["compile"] is False
        assert like["ratio"] == pytest.approx(like["ours"]["faces_per_s"] / naive["faces_per_s"])
    printed = capsys.readouterr().out
    assert "like for like (batch 4 both, fp32 (TF32 off) both, no compile)" in printed and "tuned (" in printed


def test_naive_dataset_masks_the_half_at_the_nose_per_sample():
    images, labels, nose = bench.synthetic_faces(2)
    nose[:, 0] = torch.tensor([15.5, 31.5])  # cut at (x + 0.5) * 64 / 48 = 21.33 -> 21 and 42.67 -> 43
    ds = bench.NaiveViews(images, labels, nose, size=64)
    white = ds.white.view(3)
    for i, cut in ((0, 21), (1, 43)):
        whole, left, right, y = ds[i]
        assert whole.shape == (3, 64, 64) and y == int(labels[i])
        assert torch.allclose(left[:, :, :cut], white.view(3, 1, 1).expand(3, 64, cut))
        assert torch.allclose(right[:, :, cut:], white.view(3, 1, 1).expand(3, 64, 64 - cut))
        assert torch.equal(left[:, :, cut:], whole[:, :, cut:]) and torch.equal(right[:, :, :cut], whole[:, :, :cut])


def test_the_shared_train_step_updates_the_weights_and_returns_device_statistics():
    # bench times recognition.train.train_step itself, so this is the step the training loop runs
    images, labels, nose = bench.synthetic_faces(4)
    cfg = dict(image_size=64, half_mode="mask", rotation=20.0, erase_p=0.5, alpha=3.0, beta=1.0, gamma=2.0,
               variant="hsaw", grad_clip=5.0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    from recognition import model as hsaw
    from recognition.train import STAT_NAMES, train_step
    torch.manual_seed(0)
    net = hsaw.build_model({"variant": "hsaw", "image_size": 64})
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    before = [p.detach().clone() for p in net.parameters()]
    row, new_y = train_step(net, net, opt, sched, images, nose, labels, cfg, torch.Generator().manual_seed(0),
                            relabel_now=True)
    assert row.shape == (len(STAT_NAMES),) and row[5].item() == 4  # n
    assert 0 <= row[4].item() <= 4 and row[0].item() > 0  # correct, loss * n
    assert 0 < row[7].item() < 4 and 0 < row[8].item() < 4  # sums of w in (0, 1)
    assert new_y.shape == labels.shape
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_bench_rejects_a_too_small_image_size(capsys):
    with pytest.raises(SystemExit) as e:
        bench.parse_args(["--image-size", "16"])
    assert e.value.code == 2 and "--image-size 16" in capsys.readouterr().err
