"""The HSAW network (Huang & Yang, Applied Sciences 2024, §4), one module per subsection.

    §4.2  HalfFaceBackbone   ResNet18 conv1…conv5_x → sub-pixel conv (PixelShuffle ×8) → one conv → V ∈ R^121
    §4.3  HalfFaceAttention  w_i = σ(Wᵀ V_i), i ∈ {left, right}; w_all = 1
    §4.4  PredictionFusion   P_i = W_fcᵀ V_i (one FC shared by the three views); P_aux = w_left·P_left + w_right·P_right;
                             P = P_aux + P_all;  hsaw_loss: L = α·L_w + β·L_F + γ·L_C
    §4.5  relabel            the adaptive re-labeling rule, a pure function over tensors

The model knows nothing about files or augmentation: it maps three float image batches
(whole face, poser's left half, poser's right half; [B,3,S,S]) to predictions.

Variants (paper Table 6): ``baseline`` (whole face only), ``attention`` (+ §4.3/§4.4),
``relabel`` (baseline + §4.5; see ``HSAW`` for what its half-face prediction is) and ``hsaw`` (all).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from recognition.baselines import PLAIN_ARCHS, PlainClassifier

VARIANTS = ("baseline", "attention", "relabel", "hsaw")
ARCHS = ("hsaw", *PLAIN_ARCHS)  # --arch: this network, or a plain pooled classifier (Tables 2–3)
V_SIDE = 11  # the paper's V is the flattened 1×11×11 map: 121 values
V_DIM = V_SIDE * V_SIDE


def trunk_side(image_size: int) -> int:
    """Side m of ResNet18's conv5_x map: five stride-2 stages, each ⌈x/2⌉ (224 → 7, 112 → 4, 64 → 2)."""
    m = image_size
    for _ in range(5):
        m = (m - 1) // 2 + 1
    return m


def reduce_conv_geometry(image_size: int) -> tuple[int, int]:
    """(kernel, stride) of the conv that maps the 8m×8m sub-pixel map to 11×11, so V stays 121-d.

    The paper (224 px, m = 7) uses k = 16, s = 4 on 56×56. For other sizes we keep the output at 11
    with k = 8m − 10s and s = ⌊8m / 14⌋ (224: s4 k16; 112: s2 k12; 64: s1 k6).
    """
    side = 8 * trunk_side(image_size)
    stride = side // 14
    if stride < 1:
        raise ValueError(f"image size {image_size} is too small for HSAW: use at least 33 px (e.g. 64)")
    return side - 10 * stride, stride


class HalfFaceBackbone(nn.Module):
    """§4.2: ResNet18 conv1…conv5_x (no global pooling) → PixelShuffle(8) → conv(8→1) → V (121-d).

    224 px: 512×7×7 → 8×56×56 → 1×11×11 → 121. Sub-pixel convolution keeps the spatial layout of the
    last feature map (left half of the face stays on the left) instead of pooling it away.
    """

    def __init__(self, image_size: int = 224):
        super().__init__()
        r = resnet18(weights=None)
        self.trunk = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
        self.shuffle = nn.PixelShuffle(8)  # 512 channels = 8 · 8²
        k, s = reduce_conv_geometry(image_size)
        self.reduce = nn.Conv2d(8, 1, kernel_size=k, stride=s)

    def stages(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate map, for tests and inspection."""
        feat = self.trunk(x)
        sub = self.shuffle(feat)
        v_map = self.reduce(sub)
        return {"trunk": feat, "subpixel": sub, "v_map": v_map, "v": v_map.flatten(1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.shuffle(self.trunk(x))).flatten(1)

    def load_torchvision_resnet18(self, state_dict: dict) -> None:
        """Copy an ImageNet ResNet18 state dict (torchvision key names) into the trunk; fc is ignored."""
        order = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
        mapped = {}
        for key, value in state_dict.items():
            head = key.split(".", 1)[0]
            if head in order:
                mapped[f"{order.index(head)}.{key.split('.', 1)[1]}"] = value
        missing, unexpected = self.trunk.load_state_dict(mapped, strict=False)
        if missing or unexpected:
            raise ValueError(f"not a torchvision ResNet18 state dict: missing {missing[:3]}, unexpected {unexpected[:3]}")


class HalfFaceAttention(nn.Module):
    """§4.3: one FC 121→1 and a sigmoid give each half-face view its weight w_i = σ(Wᵀ V_i)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(V_DIM, 1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(v)).squeeze(1)


class PredictionFusion(nn.Module):
    """§4.4: P_i = W_fcᵀ V_i with one FC 121→n shared by the three views; P_aux = Σ w_i P_i; P = P_aux + P_all."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(V_DIM, num_classes)

    def forward(self, v_all, v_left, v_right, w_left, w_right):
        p_all, p_left, p_right = self.fc(v_all), self.fc(v_left), self.fc(v_right)
        p_aux = w_left[:, None] * p_left + w_right[:, None] * p_right
        return p_aux + p_all, p_all, p_aux


@dataclass
class ModelConfig:
    variant: str = "hsaw"
    num_classes: int = 7
    image_size: int = 224
    shared_backbone: bool = True


class HSAW(nn.Module):
    """The whole network; ``forward(whole, left, right)`` returns a dict

    ``logits`` (P, used for the prediction and L_C), ``p_all``, ``p_aux`` ([B,n] or None),
    ``w_left``/``w_right`` ([B] or None).

    - ``hsaw`` / ``attention``: the full §4.2–4.4 network.
    - ``baseline``: backbone + the shared FC on the whole face only; left/right may be None and are ignored;
      no attention parameters.
    - ``relabel``: the baseline network (same parameters, same loss γ·L_C on P = P_all). §4.5's rule needs a
      half-face prediction, so when left/right are given the same backbone and FC also score the two halves
      and p_aux = ½(P_left + P_right) (fixed equal weights, no attention FC, no L_w / L_F).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.variant not in VARIANTS:
            raise ValueError(f"unknown variant {cfg.variant!r}; choose one of {', '.join(VARIANTS)}")
        self.cfg = cfg
        n_backbones = 1 if cfg.shared_backbone or cfg.variant == "baseline" else 3
        self.backbones = nn.ModuleList(HalfFaceBackbone(cfg.image_size) for _ in range(n_backbones))
        self.fusion = PredictionFusion(cfg.num_classes)
        self.attention = HalfFaceAttention() if cfg.variant in ("attention", "hsaw") else None

    def encode(self, whole, left, right):
        """V_all, V_left, V_right; a shared backbone runs the three views as one batch (one kernel launch each)."""
        if len(self.backbones) == 1:
            v = self.backbones[0](torch.cat([whole, left, right]))
            n = whole.shape[0]  # slices, not chunk(3): chunk's size rounding pins the batch in torch.export/ONNX
            return v[:n], v[n:2 * n], v[2 * n:]
        return tuple(b(x) for b, x in zip(self.backbones, (whole, left, right)))

    def forward(self, whole, left=None, right=None) -> dict:
        if self.cfg.variant == "baseline" or left is None or right is None:
            if self.attention is not None:
                raise ValueError(f"variant {self.cfg.variant!r} needs the left and right half-face views")
            p_all = self.fusion.fc(self.backbones[0](whole))
            return {"logits": p_all, "p_all": p_all, "p_aux": None, "w_left": None, "w_right": None}
        v_all, v_left, v_right = self.encode(whole, left, right)
        if self.attention is None:  # relabel variant: halves only feed the §4.5 agreement check
            p_all = self.fusion.fc(v_all)
            p_aux = 0.5 * (self.fusion.fc(v_left) + self.fusion.fc(v_right))
            return {"logits": p_all, "p_all": p_all, "p_aux": p_aux, "w_left": None, "w_right": None}
        w_left, w_right = self.attention(v_left), self.attention(v_right)
        logits, p_all, p_aux = self.fusion(v_all, v_left, v_right, w_left, w_right)
        return {"logits": logits, "p_all": p_all, "p_aux": p_aux, "w_left": w_left, "w_right": w_right}


def build_model(config: dict) -> nn.Module:
    """Model from a run's config dict (keys arch, variant, num_classes, image_size, shared_backbone).

    ``arch`` ``hsaw`` (default) is this file's network; ``alexnet``/``resnet18`` are the plain pooled
    classifiers of Tables 2–3 (``recognition.baselines``).
    """
    arch = config.get("arch") or "hsaw"
    if arch != "hsaw":
        return PlainClassifier(arch, int(config.get("num_classes", 7)))
    return HSAW(ModelConfig(
        variant=config.get("variant", "hsaw"),
        num_classes=int(config.get("num_classes", 7)),
        image_size=int(config.get("image_size", 224)),
        shared_backbone=bool(config.get("shared_backbone", True)),
    ))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def hsaw_loss(out: dict, y: torch.Tensor, alpha: float = 3.0, beta: float = 1.0, gamma: float = 2.0) -> dict:
    """§4.4: L = α·L_w + β·L_F + γ·L_C (defaults α, β, γ = 3, 1, 2).

    L_w = smoothL1(w_left + w_right, 1) keeps the two half weights summing to one (w_all = 1 is fixed);
    L_F = smoothL1(P_all, P_aux) pulls the half-face fusion towards the whole-face prediction;
    L_C = cross-entropy(P, y) with P = P_aux + P_all. Batch means throughout. L_w and L_F exist only
    where the attention weights exist (``attention``/``hsaw``); otherwise they are 0 and L = γ·L_C.
    """
    logits = out["logits"].float()
    l_c = F.cross_entropy(logits, y)
    zero = logits.new_zeros(())
    if out.get("w_left") is None:
        l_w, l_f = zero, zero
    else:
        w_sum = out["w_left"].float() + out["w_right"].float()
        l_w = F.smooth_l1_loss(w_sum, torch.ones_like(w_sum))
        l_f = F.smooth_l1_loss(out["p_all"].float(), out["p_aux"].float())
    return {"loss": alpha * l_w + beta * l_f + gamma * l_c, "l_w": l_w, "l_f": l_f, "l_c": l_c}


def relabel(labels: torch.Tensor, logits: torch.Tensor, p_all: torch.Tensor, p_aux: torch.Tensor):
    """§4.5 adaptive re-labeling: ``(new_labels, changed_mask)``; pure, no host sync.

    A sample's label becomes c when the whole-face prediction and the half-face fusion agree on c
    (argmax P_all = argmax P_aux = c) and the fused prediction disagrees with the current label
    (argmax P ≠ label, c ≠ label). Since P = P_aux + P_all, c is then also argmax P except in ties.
    ``logits`` is P; the training loop calls this from epoch ``relabel_start`` (paper: 20; default
    ``auto``: once the model beats the majority class, see ``train.relabel_active``) onwards
    with the predictions of the training forward pass and keeps the result as the new labels.

    Difference from SCN (Wang et al., CVPR 2020, "Suppressing Uncertainties..."): SCN relabels only
    samples in its low-importance group (ranked by a learned self-attention weight) and only when the
    maximum predicted probability exceeds the probability of the given label by a margin δ. HSAW uses
    no ranking and no margin: every sample is eligible, and the evidence is the *agreement* of two
    different views of the face (the whole face and the weighted half-faces).
    """
    pred = logits.argmax(1)
    agree = p_aux.argmax(1) == p_all.argmax(1)
    target = p_all.argmax(1)
    changed = agree & (pred != labels) & (target != labels)
    return torch.where(changed, target, labels), changed


def describe_parameters(image_size: int = 224, num_classes: int = 7) -> dict[str, int]:
    """Parameter counts of the variants and backbone options (the paper reports 28.1 M for HSAW)."""
    out = {}
    for variant in VARIANTS:
        for shared in (True, False):
            if variant == "baseline" and not shared:
                continue
            m = build_model({"variant": variant, "num_classes": num_classes, "image_size": image_size,
                             "shared_backbone": shared})
            out[f"{variant}{'' if shared else ' (separate backbones)'}"] = count_parameters(m)
    return out


def _fmt_millions(n: int) -> str:
    return f"{n / 1e6:.2f} M"


if __name__ == "__main__":
    for name, n in describe_parameters().items():
        print(f"{name:32s} {n:>12,d}  ({_fmt_millions(n)})")
