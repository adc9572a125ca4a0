"""A run's settings: defaults (paper Table 5 and §3.2 unless noted) and how unset ones follow from the data.

Plain values in one dict, as in nanoGPT; ``complete(cfg)`` fills the ``None``s that depend on the dataset
and architecture and refuses combinations that cannot work, with a one-line message.
"""
from __future__ import annotations

from recognition.errors import UserError
from recognition.model import ARCHS

DEFAULTS = dict(
    dataset="fer2013", data=None, arch=None, variant="hsaw", half=None, channels=None,
    epochs=50, batch_size=128, lr=None,  # None: see recognition.optim.resolve_schedule
    momentum=0.9, weight_decay=5e-4, schedule="auto",
    image_size=None,  # None: 224 (paper, FER2013) or 100 for a lab's stimuli (Table 1)
    half_mode="mask", rotation=20.0, erase_p=0.5,
    alpha=3.0, beta=1.0, gamma=2.0,  # §4.4 loss weights
    relabel_start="auto",  # §4.5: the paper starts at epoch 20; auto waits for a model (train.relabel_active)
    grad_clip=None,  # None: 5 for HSAW (not in the paper: its unpooled sub-pixel head sends gradients of norm
    #                  ~50 into the trunk at init; from scratch without clipping our CPU trials diverged within
    #                  3 steps), off for the plain pooled networks
    shared_backbone=True, pretrained=None, midlines=None, midline=None,
    folds=1, seeds=1, seed=0, val_fraction=0.1, eval_batch_size=512,
    select="last",  # the reported accuracy: final epoch, or "inner": epoch chosen on a nested validation part
    stimulus_rows="as-shot",  # stimuli: one image per photo and half, as the paper (or "all": mirror copies too)
    save="epoch",  # checkpoints: every epoch (resumable mid-run), "final" only, or "none" (recognition.table2)
    lean=False,  # True: no TensorBoard, no confusion PNG, no log echo (many small runs, recognition.table2)
    compile=None, device=None, max_steps=None, val_subset=None,  # None: compile on CUDA only; max_steps caps steps/epoch
)
MIN_SIDE = {"hsaw": 33, "alexnet": 63, "resnet18": 32}  # smallest input each network's strides allow


def complete(cfg: dict) -> dict:
    """``cfg`` with the data- and architecture-dependent defaults filled in; UserError for impossible ones."""
    cfg = dict(DEFAULTS, **cfg)
    stimuli = cfg["dataset"] == "stimuli"
    if cfg["arch"] is None:
        cfg["arch"] = "resnet18" if (stimuli or cfg["half"]) else "hsaw"
    if cfg["arch"] not in ARCHS:
        raise UserError(f"--arch {cfg['arch']}: choose one of {', '.join(ARCHS)}")
    if stimuli and cfg["arch"] == "hsaw":
        raise UserError("--dataset stimuli holds half-faces already, and HSAW needs whole faces; "
                        "use --arch alexnet or --arch resnet18 (the paper's Table 2)")
    if cfg["image_size"] is None:
        cfg["image_size"] = 100 if stimuli else 224
    if cfg["channels"] is None:
        cfg["channels"] = 3 if stimuli else 1
    if cfg["grad_clip"] is None:
        cfg["grad_clip"] = 5.0 if cfg["arch"] == "hsaw" else 0.0
    if cfg["arch"] != "hsaw":
        cfg["variant"] = None  # plain network: no §4.3–4.5 parts
    elif cfg["half"]:
        cfg["variant"] = "baseline"  # HSAW's head on one half view
    if cfg["image_size"] < MIN_SIDE[cfg["arch"]]:
        raise UserError(f"--image-size {cfg['image_size']}: {cfg['arch']} needs at least {MIN_SIDE[cfg['arch']]} px "
                        f"(the paper uses {'100 for stimuli' if stimuli else 224})")
    if cfg["relabel_start"] != "auto" and not (isinstance(cfg["relabel_start"], int) and cfg["relabel_start"] >= 1):
        raise UserError(f"--relabel-start {cfg['relabel_start']}: an epoch number from 1, or auto")
    if cfg["select"] not in ("last", "inner"):
        raise UserError(f"--select {cfg['select']}: use last or inner")
    if cfg["save"] not in ("epoch", "final", "none"):
        raise UserError(f"save={cfg['save']!r}: use epoch, final or none")
    return cfg
