"""A run's settings, each declared once: default, command-line flag, help, and what ``--resume`` does with it.

``SETTINGS`` is the one table (nanoGPT's plain values with defaults at the top, one row per setting); from it
follow ``DEFAULTS`` (the dict every run starts from), the flags of ``python -m recognition.train``
(``add_flags``), the settings a run folder is compared on before it is continued or reused (``DECIDING``,
``recognition.runio.check_settings``) and the rules of ``--resume RUN`` with other flags (``resume``).
``complete(cfg)`` fills the ``None``s that depend on the dataset and architecture and refuses combinations
that cannot work, with a one-line message. Defaults are the paper's Table 5 and §3.2 unless noted.

Adding a setting is one ``Setting(...)`` row here (and its use where it acts).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from recognition.data import DATASETS, STIMULUS_ROWS
from halfface.cli import UserError
from recognition.model import ARCHS, VARIANTS
from recognition.optim import SCHEDULES

# what --resume RUN does with a flag that differs from the run's saved value
FIXED = "fixed"      # refused in one line naming both values: it decides the run's numbers
GROWS = "may-grow"   # a larger value continues the run (more epochs, more seeds); a smaller one is refused
APPLIED = "applied"  # describes this machine (device, compile, evaluation batch, where the data lies): taken


def relabel_start(text: str):
    """``--relabel-start``: an epoch number or ``auto``."""
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an epoch number or auto") from None


@dataclass(frozen=True)
class Setting:
    """One training setting. ``flag``: its command-line form (``--name-with-dashes`` unless given; None: not a
    flag, set by recognition.table2); ``cli``: type/choices/action for ``add_argument``; ``deciding``:
    compared with a run folder's config.json before that run is continued or reused (paths that may move, the
    machine, the number of seeds and the outputs are not); ``resume``: FIXED / GROWS / APPLIED; ``refusal``:
    why a refused ``--resume`` value cannot work (appended to the one-line error); ``decided``: the config.json
    key holding the value the run chose for an unset/auto one (a flag equal to it is no change)."""
    name: str
    default: object = None
    help: str | None = None
    cli: dict = field(default_factory=dict)
    flag: str | None = ""
    deciding: bool = True
    resume: str = FIXED
    refusal: str = ""
    decided: str | None = None

    @property
    def option(self) -> str | None:
        return None if self.flag is None else (self.flag or "--" + self.name.replace("_", "-"))


SETTINGS = (
    Setting("dataset", "fer2013", cli=dict(choices=DATASETS)),
    Setting("data", None, "fer2013.csv / dataset folder / stimuli manifest.csv / synthetic spec n=512,size=48",
            deciding=False, resume=APPLIED),  # checked against the saved data digest instead
    Setting("arch", None, "hsaw (default), or a plain pooled alexnet/resnet18 (default for --half and for stimuli)",
            cli=dict(choices=ARCHS)),
    Setting("variant", "hsaw", "HSAW ablation (Table 6)", cli=dict(choices=VARIANTS)),
    Setting("half", None, "one half-face only (Tables 2–3): the poser's half (stimuli: the rows with this "
            "visible_half)", cli=dict(choices=["left", "right"])),
    Setting("channels", None, "1 gray (default) or 3 RGB (default for stimuli)",
            cli=dict(type=int, choices=[1, 3])),
    Setting("epochs", 50, cli=dict(type=int), resume=GROWS,
            refusal="fewer epochs than the run was started with"),
    Setting("batch_size", 128, "global batch (split over DDP ranks)", cli=dict(type=int)),
    # None: recognition.optim.resolve_schedule decides
    Setting("lr", None, "default: 0.001 HSAW / 0.01 plain (paper), 0.1×batch/256 (onecycle)",
            cli=dict(type=float), decided="lr_used"),
    Setting("schedule", "auto", cli=dict(choices=SCHEDULES), decided="schedule_used"),
    Setting("momentum", 0.9, cli=dict(type=float)),
    Setting("weight_decay", 5e-4, cli=dict(type=float)),
    Setting("pretrained", None, "torchvision ResNet18/AlexNet state dict (.pth); default: torch hub cache"),
    Setting("image_size", None, "default 224; 100 for stimuli", cli=dict(type=int)),  # Table 1: 100 px stimuli
    Setting("half_mode", "mask", cli=dict(choices=["mask", "crop"])),
    Setting("rotation", 20.0, cli=dict(type=float)),
    Setting("erase_p", 0.5, cli=dict(type=float)),
    Setting("shared_backbone", True, "one ResNet18 per view (default: shared)", flag="--separate-backbones",
            cli=dict(action="store_false")),
    Setting("folds", 1, "stratified k-fold CV over the training split (grouped by photo for stimuli)",
            cli=dict(type=int), refusal="another number of folds would re-partition every fold's photos"),
    Setting("seeds", 1, "repeat with this many seeds", cli=dict(type=int), deciding=False, resume=GROWS,
            refusal="finished seeds are never dropped"),  # not deciding: seeds may be added to a finished CV
    Setting("seed", 0, cli=dict(type=int)),
    Setting("select", "last", "reported accuracy: final epoch (default) or the epoch chosen on a nested inner split",
            cli=dict(choices=["last", "inner"])),
    Setting("stimulus_rows", "as-shot", "stimuli: as-shot (one image per photo and half, default) or all (mirror "
            "copies too)", cli=dict(choices=STIMULUS_ROWS)),
    Setting("relabel_start", "auto", "epoch from which §4.5 re-labels (the paper: 20), or auto (default): once the "
            "model beats the majority class by a margin, and not in the first 40%% of epochs",
            cli=dict(type=relabel_start)),  # train.relabel_active
    Setting("alpha", 3.0, cli=dict(type=float)),  # §4.4 loss weights
    Setting("beta", 1.0, cli=dict(type=float)),
    Setting("gamma", 2.0, cli=dict(type=float)),
    Setting("midlines", None, "nose-tip cache (.npz) from python -m recognition.landmarks", deciding=False),
    Setting("midline", None, "split every face at the image centre (reported)", cli=dict(choices=["center"])),
    Setting("val_fraction", 0.1, cli=dict(type=float)),
    # None: 5 for HSAW (not in the paper: its unpooled sub-pixel head sends gradients of norm ~50 into the trunk
    # at init; from scratch without clipping our CPU trials diverged within 3 steps), off for plain networks
    Setting("grad_clip", None, "max gradient norm (0: off; default 5 for HSAW, off for plain networks)",
            cli=dict(type=float)),
    Setting("eval_batch_size", 512, cli=dict(type=int), deciding=False, resume=APPLIED),
    Setting("val_subset", None, "select on N stratified val samples", cli=dict(type=int)),
    Setting("max_steps", None, "cap steps per epoch (smoke runs)", cli=dict(type=int)),
    Setting("compile", None, "torch.compile the model (default: on for CUDA, off on CPU)",
            cli=dict(action=argparse.BooleanOptionalAction), deciding=False, resume=APPLIED),
    Setting("device", None, deciding=False, resume=APPLIED),
    # not flags: recognition.table2 sets them for its many small runs
    Setting("save", "epoch", flag=None, deciding=False),  # checkpoints: every epoch (resumable), "final", "none"
    Setting("lean", False, flag=None, deciding=False),  # no TensorBoard, no confusion PNG, no log echo
)
BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS = {s.name: s.default for s in SETTINGS}
DECIDING = tuple(s.name for s in SETTINGS if s.deciding)  # a run folder is continued/reused only under these
MIN_SIDE = {"hsaw": 33, "alexnet": 63, "resnet18": 32}  # smallest input each network's strides allow


def add_flags(ap: argparse.ArgumentParser) -> None:
    """One ``add_argument`` per flag of ``SETTINGS``, default from the table, stored under the setting's name."""
    for s in SETTINGS:
        if s.option is None:
            continue
        ap.add_argument(s.option, **s.cli, dest=s.name, default=s.default, help=s.help)


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
