"""Plain pooled classifiers for the paper's Tables 2–3: torchvision's AlexNet and ResNet18.

Table 2 trains AlexNet and ResNet on a lab's half-face stimuli (100×100, Table 1), Table 3 ResNet on
FER2013's whole faces and half faces. These are the networks with their usual heads — AlexNet's
adaptive 6×6 average pool + three FC layers, ResNet18's global average pool + one FC — not HSAW's
sub-pixel head. ``forward`` has HSAW's signature and output dict, so training, evaluation, prediction
and export treat both alike.
"""
from __future__ import annotations

from torch import nn
from torchvision.models import alexnet, resnet18

PLAIN_ARCHS = ("alexnet", "resnet18")
_HEAD = {"alexnet": "classifier.6.", "resnet18": "fc."}  # the last layer: its size is the class count


class PlainClassifier(nn.Module):
    """One view in, class scores out: ``{"logits": P, "p_all": P, "p_aux": None, "w_left": None, "w_right": None}``."""

    attention = None  # no §4.3 half weights

    def __init__(self, arch: str = "resnet18", num_classes: int = 7):
        super().__init__()
        if arch not in PLAIN_ARCHS:
            raise ValueError(f"unknown plain architecture {arch!r}; choose one of {', '.join(PLAIN_ARCHS)}")
        self.arch = arch
        self.net = (alexnet if arch == "alexnet" else resnet18)(weights=None, num_classes=num_classes)

    def forward(self, whole, left=None, right=None) -> dict:
        logits = self.net(whole)
        return {"logits": logits, "p_all": logits, "p_aux": None, "w_left": None, "w_right": None}

    def load_torchvision(self, state_dict: dict) -> None:
        """ImageNet weights (a torchvision state dict of the same architecture), all but the last layer."""
        head = _HEAD[self.arch]
        body = {k: v for k, v in state_dict.items() if not k.startswith(head)}
        missing, unexpected = self.net.load_state_dict(body, strict=False)
        if unexpected or any(not k.startswith(head) for k in missing):
            raise ValueError(f"not a torchvision {self.arch} state dict: missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]}")
