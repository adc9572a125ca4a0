"""Batched, device-side augmentation and half-face views for HSAW (paper §3.2, §4.1).

One call turns a batch of uint8 faces (gray or RGB) into the three network inputs
I_all, I_left, I_right. Everything is tensor arithmetic on the images' device
(no host syncs, no per-sample Python), so the GPU never waits for a CPU
data loader (issue 6).

Geometry. Every output pixel is mapped by one affine transform to a point of
the *face frame* (the source image in normalised coordinates, [-1, 1] across
the image, ``align_corners=False`` convention: pixel i's centre is at
``(2 i + 1) / W - 1``). The face is sampled at that point with bilinear
interpolation, white outside the frame; the half masks and the erasing
rectangle are decided from the same face-frame point. So the split line and
the erased patch rotate with the face, and the three views always agree.

Sides. ``left`` is the poser's LEFT half visible, which in a non-mirrored
photo lies on the IMAGE RIGHT (source x >= nose x); ``right`` is the poser's
right half (image left, x < nose x). The hidden half is white (255), as in the
stimuli shown to participants, or, in ``crop`` mode, the visible half is
stretched to the full frame.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = ["views", "IMAGENET_MEAN", "IMAGENET_STD", "HALF_MODES"]

# torchvision's ResNet18 weights were trained on ImageNet-normalised input.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF_MODES = ("mask", "crop")

# torchvision.transforms.RandomErasing defaults (Zhong et al. 2020).
_ERASE_SCALE = (0.02, 0.33)
_ERASE_RATIO = (0.3, 3.3)
_ERASE_TRIES = 10  # torchvision retries 10 times for a rectangle that fits


def views(
    images_u8: torch.Tensor,
    nose_xy: torch.Tensor,
    *,
    size: int,
    train: bool,
    half_mode: str = "mask",
    rotation: float = 20.0,
    erase_p: float = 0.5,
    mean: float | Sequence[float] = IMAGENET_MEAN,
    std: float | Sequence[float] = IMAGENET_STD,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Whole, left and right views of a batch of faces, ready for the network.

    Args:
        images_u8: uint8 [B, H, W] grayscale or [B, 3, H, W] RGB faces (any device).
        nose_xy: [B, 2] nose tip (dlib landmark 30) in source pixel coordinates
            (pixel i's centre at i), float.
        size: output side length in pixels (224 in the paper).
        train: draw a rotation in ±``rotation`` degrees per image and apply
            random erasing with probability ``erase_p`` (torchvision's
            RandomErasing parameters, fill 0 after normalisation); False gives
            the plain resized face.
        half_mode: ``"mask"`` (hidden half white, full frame kept) or ``"crop"``
            (visible half resized to size×size).
        mean, std: per-channel normalisation, applied after replicating gray to
            3 channels (a single float is used for all channels).
        generator: torch.Generator on ``images_u8.device`` for reproducible draws.

    Returns:
        (whole, left, right), each float32 [B, 3, size, size], normalised.
    """
    colour = images_u8.dim() == 4 and images_u8.shape[1] == 3
    if images_u8.dtype != torch.uint8 or not (images_u8.dim() == 3 or colour):
        raise ValueError(f"images_u8 must be uint8 [B,H,W] or [B,3,H,W], got {images_u8.dtype} "
                         f"{tuple(images_u8.shape)}")
    B, H, W = images_u8.shape[0], images_u8.shape[-2], images_u8.shape[-1]
    if tuple(nose_xy.shape) != (B, 2):
        raise ValueError(f"nose_xy must be [{B},2], got {tuple(nose_xy.shape)}")
    if half_mode not in HALF_MODES:
        raise ValueError(f"half_mode must be one of {HALF_MODES}, got {half_mode!r}")
    dev = images_u8.device
    scale = 1.0 / _channel_vector(std, dev)
    shift = -_channel_vector(mean, dev) * scale

    src = (images_u8 if colour else images_u8.unsqueeze(1)).to(torch.float32).div_(255.0)
    if H > size or W > size:
        # Bilinear sampling aliases when shrinking; antialiased resize first. The
        # face frame is in normalised coordinates, so nothing else changes.
        src = F.interpolate(src, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    nose = nose_xy.to(device=dev, dtype=torch.float32)
    nose_u = (2.0 * nose[:, 0].clamp(0.0, W - 1.0) + 1.0) / W - 1.0  # [B], face-frame x of the split

    if train:
        draws = torch.rand(B, 4 + 2 * _ERASE_TRIES, device=dev, generator=generator)
        angle = (draws[:, 0] * 2.0 - 1.0) * math.radians(rotation)
        erase_box = _erase_boxes(draws[:, 1:], erase_p)  # [B,4] top, left, h, w as fractions; h=0 -> none
    else:
        angle = torch.zeros(B, device=dev)
        erase_box = None
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Rotation in source pixel units (so a non-square source rotates rigidly),
    # expressed in normalised coordinates: rows map output (u, v) to face frame (a, b).
    rot = torch.stack(
        [torch.stack([cos, -sin * (H / W)], -1), torch.stack([sin * (W / H), cos], -1)], 1
    )  # [B,2,2]

    def sample(x_scale: torch.Tensor, x_shift: torch.Tensor):
        theta = torch.cat([rot, torch.zeros(B, 2, 1, device=dev)], 2)
        theta[:, 0, :2] = rot[:, 0] * x_scale[:, None]
        theta[:, 0, 2] = x_shift
        grid = F.affine_grid(theta, [B, 1, size, size], align_corners=False)
        face01 = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
        a, b = grid[..., 0].unsqueeze(1), grid[..., 1].unsqueeze(1)  # [B,1,S,S] face-frame coords
        # Border padding keeps the unrotated view equal to a plain resize at the
        # edges; what rotates in from outside the frame is then set white, like the masked half.
        outside = (a.abs() > 1.0) | (b.abs() > 1.0)
        face01 = torch.where(outside, torch.ones((), device=dev), face01)
        erased = _inside(erase_box, a, b) if erase_box is not None else None
        return face01, a, erased

    ones, zeros = torch.ones(B, device=dev), torch.zeros(B, device=dev)
    face01, a, erased = sample(ones, zeros)
    whole = _finish(face01, erased, None, scale, shift)
    nu = nose_u[:, None, None, None]
    if half_mode == "mask":
        left = _finish(face01, erased, a < nu, scale, shift)
        right = _finish(face01, erased, a >= nu, scale, shift)
    else:
        # Output x in [-1,1] spans only the visible half of the face frame.
        c_left = (1.0 - nose_u) / 2.0
        face_l, a_l, erased_l = sample(c_left, nose_u + c_left)
        left = _finish(face_l, erased_l, a_l < nu, scale, shift)
        c_right = (nose_u + 1.0) / 2.0
        face_r, a_r, erased_r = sample(c_right, c_right - 1.0)
        right = _finish(face_r, erased_r, a_r >= nu, scale, shift)
    return whole, left, right


def _channel_vector(v, device) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().tolist()  # pass floats/tuples to keep the hot path free of device reads
    vals = tuple(float(x) for x in (v if isinstance(v, (list, tuple)) else [v]))
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3:
        raise ValueError(f"mean/std need 1 or 3 values, got {len(vals)}")
    return _device_vector(vals, str(device))


@functools.lru_cache(maxsize=64)
def _device_vector(vals: tuple, device: str) -> torch.Tensor:
    # Built from fills, not copied from host memory: a pageable host-to-device copy waits for the
    # host (it trips torch.cuda.set_sync_debug_mode), and cached so each step reuses it.
    return torch.stack([torch.full((), x, dtype=torch.float32, device=device) for x in vals]).view(1, 3, 1, 1)


def _erase_boxes(u: torch.Tensor, p: float) -> torch.Tensor:
    """torchvision RandomErasing parameters for each image, vectorised.

    u: [B, 3 + 2*tries] uniforms. Returns [B, 4] (top, left, h, w) as fractions
    of the face frame; h = w = 0 where no erasing happens (coin says no, or no
    rectangle of the 10 tries fits, as in torchvision).
    """
    tries = _ERASE_TRIES
    apply = u[:, 0] < p
    area = _ERASE_SCALE[0] + u[:, 3 : 3 + tries] * (_ERASE_SCALE[1] - _ERASE_SCALE[0])
    lo, hi = math.log(_ERASE_RATIO[0]), math.log(_ERASE_RATIO[1])
    ratio = torch.exp(lo + u[:, 3 + tries : 3 + 2 * tries] * (hi - lo))
    h, w = torch.sqrt(area * ratio), torch.sqrt(area / ratio)
    fits = (h < 1.0) & (w < 1.0)
    first = torch.argmax(fits.to(torch.uint8), dim=1, keepdim=True)  # first fitting try
    h, w = h.gather(1, first)[:, 0], w.gather(1, first)[:, 0]
    ok = (apply & fits.any(1)).to(h.dtype)
    h, w = h * ok, w * ok
    top, left = u[:, 1] * (1.0 - h), u[:, 2] * (1.0 - w)
    return torch.stack([top, left, h, w], 1)


def _inside(box: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fx, fy = (a + 1.0) / 2.0, (b + 1.0) / 2.0
    top, left, h, w = (box[:, i, None, None, None] for i in range(4))
    return (fy >= top) & (fy < top + h) & (fx >= left) & (fx < left + w)


def _finish(face01, erased, hidden, scale, shift) -> torch.Tensor:
    """[B,1|3,S,S] in 0..1 -> normalised [B,3,S,S], with erasing (0 after normalisation) and the white half.

    Gray is composed on one channel first, expanded to three channels once: out = x·(1/std) + k·(−mean/std),
    with (x, k) = (face, 1), (0, 0) where erased and (1, 1) where hidden (the split comes after
    erasing, so the hidden half is white whatever was erased there).
    """
    x, k = face01, None
    if erased is not None:
        x = x.masked_fill(erased, 0.0)
        k = (~erased).to(x.dtype)
    if hidden is not None:
        x = x.masked_fill(hidden, 1.0)
        if k is not None:  # k = None means 1 everywhere, which a hidden pixel needs anyway
            k = k.masked_fill(hidden, 1.0)
    return torch.addcmul(shift if k is None else shift * k, x, scale)
