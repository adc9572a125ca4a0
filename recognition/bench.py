"""Training throughput, naive pipeline vs ours, measured in one run on one machine (issue 6).

    python -m recognition.bench                              # 224 px, batch 512, plus the 112 px option
    python -m recognition.bench --steps 50 --json out/bench.json
    python -m recognition.bench --image-size 64 --reduced-size 48 --batch-size 8 --naive-batch-size 8 \\
        --steps 2 --device cpu                               # a CPU smoke run

(a) naive: what typical FER repositories do — a CPU ``DataLoader`` with worker
    processes, per-sample torchvision ``transforms.v2`` on PIL images (rotation,
    resize, erasing; half views masked per sample), fp32 eager model (TF32 off,
    the issue's "fp32" reference), a ``loss.item()`` per step for logging.
(b) ours: the training step of ``recognition.train``: uint8 images and labels on
    the device, ``augment.views`` on the device for the whole batch, bf16
    autocast + channels_last (+ ``torch.compile``) on CUDA, losses/accuracy and
    §4.5 re-labels accumulated on the device (no host sync in the step).

Both train the same HSAW model (three views, shared ResNet18) with SGD on the
same synthetic 48×48 faces. Two rows per image size, each labelled:

- **like for like**: ours at the naive path's batch size, in fp32 with TF32 off,
  without ``torch.compile`` or channels_last: the same work, so the ratio is the
  pipeline's alone (device augmentation, no per-step host sync);
- **tuned**: ours as training runs it (``--batch-size``, bf16 autocast,
  channels_last and compile on CUDA) against the same naive measurement: the
  pipeline plus precision and batch size.

Rates are faces per second over ``--steps`` timed steps after ``--warmup`` steps
(compilation happens during warm-up and is timed separately). Before anything is
timed, ``warm_up`` runs a convolution and ``augment.views`` once (a fresh process's
first ``grid_sample`` on CPU took 8 ms, 0.1 ms after one convolution), and
``augment.views`` alone is timed after its own untimed calls, so its rate does not
depend on what ran before it in the process.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from halfface.cli import UserError, run_main
from recognition import model as hsaw
from recognition.augment import IMAGENET_MEAN, IMAGENET_STD, views
from recognition.config import complete
from recognition.train import STAT_NAMES, train_step

FER_TRAIN_SIZE = 28_709  # FER2013 Training split: the size of the device-resident set we mimic


def synthetic_faces(n: int, side: int = 48, classes: int = 7, seed: int = 0):
    """uint8 [n,side,side] noise faces, int64 labels and nose tips near the centre (speed only; not learnable)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, side, side), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    nose = (side - 1) / 2.0 + torch.randn(n, 2, generator=g) * side * 0.04
    return images, labels, nose.float()


# --- (a) the naive pipeline ----------------------------------------------------------------------------------

class NaiveViews(torch.utils.data.Dataset):
    """Per-sample PIL/tensor transforms in DataLoader workers, the common FER recipe, plus per-sample half masks."""

    def __init__(self, images, labels, nose, size: int):
        from torchvision.transforms import v2

        self.images, self.labels, self.nose, self.size = images.numpy(), labels.numpy(), nose.numpy(), size
        self.to_tensor = v2.Compose([
            v2.RandomRotation(20, fill=255),
            v2.Resize((size, size), antialias=True),
            v2.Grayscale(num_output_channels=3),
            v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            v2.RandomErasing(p=0.5),
        ])
        self.white = ((1.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).view(3, 1, 1)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        whole = self.to_tensor(Image.fromarray(self.images[i]))
        cut = int(round((self.nose[i, 0] + 0.5) * self.size / self.images.shape[2]))
        left, right = whole.clone(), whole.clone()
        left[:, :, :cut] = self.white
        right[:, :, cut:] = self.white
        return whole, left, right, int(self.labels[i])


def measure_naive(images, labels, nose, *, size, batch, steps, warmup, workers, device, variant):
    model = hsaw.build_model({"variant": variant, "image_size": size}).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    cuda = device.type == "cuda"
    loader = torch.utils.data.DataLoader(
        NaiveViews(images, labels, nose, size), batch_size=batch, shuffle=True, drop_last=True,
        num_workers=workers, pin_memory=cuda, persistent_workers=False)
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # "fp32 eager"
    _reset_peak(device)
    model.train()
    it, running, t0, t_start = iter(loader), 0.0, None, time.perf_counter()
    try:
        for step in range(warmup + steps):
            if step == warmup:
                _sync(device)
                t0 = time.perf_counter()
            try:
                whole, left, right, y = next(it)
            except StopIteration:
                it = iter(loader)
                whole, left, right, y = next(it)
            whole, left, right, y = (t.to(device, non_blocking=True) for t in (whole, left, right, y))
            out = model(whole, left, right) if variant != "baseline" else model(whole)
            loss = hsaw.hsaw_loss(out, y)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()  # per-step logging sync, as in typical training scripts
        _sync(device)
        dt = time.perf_counter() - t0
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    return _result(steps * batch, dt, t0 - t_start, batch, steps, device,
                   workers=workers, precision="fp32 (TF32 off)", compile=False,
                   parameters=hsaw.count_parameters(model))


# --- (b) ours ------------------------------------------------------------------------------------------------

def measure_ours(images, labels, nose, *, size, batch, steps, warmup, device, variant, compile_, tuned=True):
    """``tuned``: as training runs (bf16 + channels_last on CUDA); False: fp32 with TF32 off, NCHW (like for like)."""
    cuda = device.type == "cuda"
    fast = cuda and tuned
    cfg = dict(complete({"dataset": "synthetic", "arch": "hsaw", "variant": variant, "image_size": size}),
               mean=IMAGENET_MEAN, std=IMAGENET_STD, bf16=fast, channels_last=fast)  # the loop's settings
    model = hsaw.build_model({"variant": variant, "image_size": size}).to(device)
    if fast:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    net = torch.compile(model) if compile_ else model
    _reset_peak(device)
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    if not tuned:  # the naive path's fp32 exactly
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return _time_ours(net, model, opt, sched, cfg, images, labels, nose, batch=batch, steps=steps,
                          warmup=warmup, device=device, variant=variant, compile_=compile_, fast=fast,
                          precision="bf16 autocast" if fast else "fp32" if tuned else "fp32 (TF32 off)")
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


def _time_ours(net, model, opt, sched, cfg, images, labels, nose, *, batch, steps, warmup, device, variant,
               compile_, fast, precision):
    images, labels, nose = images.to(device), labels.to(device), nose.to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    stats = torch.zeros(len(STAT_NAMES), device=device)
    perm = torch.randperm(len(images), device=device, generator=gen)
    per_epoch = len(images) // batch
    t_start = time.perf_counter()
    t0 = None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0 = time.perf_counter()
        k = step % per_epoch
        idx = perm[k * batch:(k + 1) * batch]
        row, new_y = train_step(net, model, opt, sched, images[idx], nose[idx], labels[idx], cfg, gen,
                                relabel_now=variant in ("relabel", "hsaw"))  # worst case: §4.5 active
        labels[idx] = new_y
        stats += row
    _sync(device)
    dt = time.perf_counter() - t0
    stats.tolist()  # the once-per-epoch read the training loop does
    return _result(steps * batch, dt, t0 - t_start, batch, steps, device,
                   precision=precision, channels_last=fast, compile=bool(compile_), step="recognition.train.train_step",
                   parameters=hsaw.count_parameters(model))


def warm_up(device) -> None:
    """Initialise what a process's first calls pay for (thread pools, kernels) before anything is timed.

    Measured on CPU (issue 19): ``grid_sample`` took 8 ms on its first calls in a fresh process and 0.1 ms
    after one convolution had run, so ``augment.views`` timed first, or after the networks, gave 39 or 4,800
    faces/s. One small convolution (forward and backward) and one ``views`` call make every later timing
    start from the same state.
    """
    x = torch.randn(2, 3, 40, 40, device=device, requires_grad=True)
    torch.nn.functional.conv2d(x, torch.randn(4, 3, 3, 3, device=device)).sum().backward()
    images, labels, nose = synthetic_faces(2)
    views(images.to(device), nose.to(device), size=40, train=True)
    _sync(device)


def measure_augment(images, nose, *, size, batch, steps, device, warmup: int = 3):
    """faces/s of ``augment.views`` alone (train mode): the input pipeline's ceiling (after ``warm_up`` and
    ``warmup`` untimed calls at this size and batch)."""
    warm_up(device)
    images, nose = images[:batch].to(device), nose[:batch].to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    for _ in range(max(1, warmup)):
        views(images, nose, size=size, train=True, generator=gen)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        views(images, nose, size=size, train=True, generator=gen)
    _sync(device)
    return {"faces_per_s": steps * batch / (time.perf_counter() - t0), "batch": batch, "steps": steps,
            "warmup_calls": max(1, warmup)}


# --- plumbing ------------------------------------------------------------------------------------------------

def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _memory(device) -> dict:
    if device.type == "cuda":
        return {"peak_memory_bytes": int(torch.cuda.max_memory_allocated(device)),
                "memory_kind": "torch.cuda.max_memory_allocated"}
    # ru_maxrss is in KiB on Linux (bytes on macOS); the process's peak so far, workers not included
    scale = 1 if sys.platform == "darwin" else 1024
    return {"peak_memory_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale),
            "memory_kind": "peak RSS of the benchmark process (CPU)"}


def _result(faces, seconds, warmup_s, batch, steps, device, **extra) -> dict:
    return {"faces_per_s": faces / seconds, "seconds": seconds, "warmup_seconds": warmup_s, "batch_size": batch,
            "steps": steps, **_memory(device), **extra}


def run_size(size, args, device, images, labels, nose, log) -> dict:
    compile_ = device.type == "cuda" if args.compile is None else args.compile
    log(f"[{size} px] naive: batch {args.naive_batch_size}, {args.workers} DataLoader workers, fp32 eager ...")
    naive = measure_naive(images, labels, nose, size=size, batch=args.naive_batch_size, steps=args.steps,
                          warmup=args.warmup, workers=args.workers, device=device, variant=args.variant)
    log(f"[{size} px] naive: {naive['faces_per_s']:,.0f} faces/s, peak {naive['peak_memory_bytes'] / 2**30:.2f} GiB")
    log(f"[{size} px] ours: batch {args.batch_size}, compile {compile_} ...")
    ours = measure_ours(images, labels, nose, size=size, batch=args.batch_size, steps=args.steps,
                        warmup=args.warmup, device=device, variant=args.variant, compile_=compile_)
    log(f"[{size} px] ours: {ours['faces_per_s']:,.0f} faces/s, peak {ours['peak_memory_bytes'] / 2**30:.2f} GiB "
        f"(warm-up incl. compile {ours['warmup_seconds']:.1f} s)")
    log(f"[{size} px] ours like for like: batch {args.naive_batch_size}, fp32, no compile ...")
    like = measure_ours(images, labels, nose, size=size, batch=args.naive_batch_size, steps=args.steps,
                        warmup=args.warmup, device=device, variant=args.variant, compile_=False, tuned=False)
    aug = measure_augment(images, nose, size=size, batch=args.batch_size, steps=max(2, args.steps), device=device)
    ratio, like_ratio = ours["faces_per_s"] / naive["faces_per_s"], like["faces_per_s"] / naive["faces_per_s"]
    log(f"[{size} px] like for like (batch {args.naive_batch_size} both, {like['precision']} both, no compile): "
        f"naive {naive['faces_per_s']:,.1f}, ours {like['faces_per_s']:,.1f} faces/s -> {like_ratio:.2f}x "
        "(the pipeline alone)")
    log(f"[{size} px] tuned (naive batch {args.naive_batch_size} {naive['precision']}; ours batch "
        f"{args.batch_size} {ours['precision']}{', compile' if ours['compile'] else ''}): speed-up {ratio:.2f}x; "
        f"augment.views alone {aug['faces_per_s']:,.0f} faces/s")
    return {"image_size": size, "naive": naive, "ours": ours, "ratio": ratio, "augment_only": aug,
            "like_for_like": {"ours": like, "ratio": like_ratio, "batch_size": args.naive_batch_size,
                              "precision": like["precision"], "compile": False}}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m recognition.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--reduced-size", type=int, default=None,
                    help="also time this smaller input (model adapted so V stays 121-d); default 112 for 224, "
                         "0 to skip")
    ap.add_argument("--batch-size", type=int, default=512, help="our step's batch")
    ap.add_argument("--naive-batch-size", type=int, default=128, help="the naive pipeline's batch (paper: 128)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="naive DataLoader workers")
    ap.add_argument("--variant", choices=hsaw.VARIANTS, default="hsaw")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                    help="torch.compile our model (default: on CUDA only)")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--threads", type=int, help="torch CPU threads for both paths (default: torch's). On a shared "
                    "CPU, 1 avoids OpenMP threads waiting for busy cores: augment.views at 112 px, batch 32 ran at "
                    "46 faces/s with 2 threads and 393 with 1 on this project's loaded 2-core VM")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    if a.reduced_size is None:
        a.reduced_size = a.image_size // 2 if a.image_size // 2 >= 64 else 0
    for name in ("image_size", "reduced_size"):
        v = getattr(a, name)
        if v and v < 33:
            ap.error(f"--{name.replace('_', '-')} {v}: HSAW needs at least 33 px")
    if min(a.steps, a.batch_size, a.naive_batch_size) < 1 or a.warmup < 0:
        ap.error("--steps, --batch-size, --naive-batch-size must be >= 1 and --warmup >= 0")
    return a


@run_main
def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    log = lambda msg: print(msg, flush=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = max(args.batch_size, args.naive_batch_size) * (args.steps + args.warmup)
    n = max(n, FER_TRAIN_SIZE) if device.type == "cuda" else n
    images, labels, nose = synthetic_faces(n)
    warm_up(device)  # before the first timing, whatever is measured first
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    log(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {n} synthetic "
        f"48×48 faces, variant {args.variant}")
    result = {"device": str(device), "device_name": name, "torch": torch.__version__,
              "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "variant": args.variant, "n_faces": n,
              "data": "synthetic uint8 48x48 (speed only)"}
    result.update(run_size(args.image_size, args, device, images, labels, nose, log))
    if args.reduced_size:
        result["reduced"] = run_size(args.reduced_size, args, device, images, labels, nose, log)
    log(f"summary at {args.image_size} px: like for like {result['like_for_like']['ratio']:.2f}x (the pipeline "
        f"alone); tuned: naive {result['naive']['faces_per_s']:,.0f} faces/s, ours {result['ours']['faces_per_s']:,.0f} "
        f"faces/s -> {result['ratio']:.2f}x")
    if args.json:
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(result, indent=2))
        except OSError as err:
            raise UserError(f"--json {args.json}: cannot write it ({err.strerror}); give another path") from None
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
