"""Emotion probabilities and half-face weights for photos, from a trained checkpoint.

    python -m recognition.predict runs/hsaw/checkpoint_best.pt photo1.jpg photo2.png
    python -m recognition.predict runs/hsaw/checkpoint_best.pt crops/*.png --detector none --json

Per image: dlib finds the largest face and its 68 landmarks; the face is
rotated so the eyes are level and cropped the way FER2013's faces are framed
(``--face-size`` px, gray); the nose tip (landmark 30) splits it; the three
views come from ``augment.views(train=False)`` exactly as in evaluation. With
``--detector none`` each image is taken as an already-cropped face and only
the nose tip is searched (image centre when dlib finds no face, reported).

Prints the class probabilities (softmax of P = P_all + P_aux) and the §4.3
weights w_left / w_right (variants with attention). An image that cannot be
read or has no face gets a one-line error; the exit code is then 1.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# FER2013 framing, measured as medians over 313 dlib-detected Training faces: inter-ocular distance is
# 0.3675 of the image side and the eye line sits at 0.396 of the height (pixel centres), centred in x.
FER_EYE_DISTANCE = 0.3675
FER_EYE_LINE = 0.396
MAX_DETECT_SIDE = 1024  # bigger photos are shrunk for the HOG detector (speed), landmarks scaled back


class FaceNotFound(Exception):
    """No face in an image (per-image error, the other images still get their prediction)."""


def read_gray(path: Path) -> np.ndarray:
    """uint8 [H,W] gray image (EXIF orientation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.array(ImageOps.exif_transpose(im).convert("L"))
    except (OSError, UnidentifiedImageError) as e:
        raise FaceNotFound(f"cannot read image ({e.__class__.__name__}: {e})") from None


def _resize(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(img[None, None].float(), size=size, mode="bilinear", align_corners=False,
                         antialias=True)[0, 0]


def find_landmarks(gray: np.ndarray, dlib_faces) -> np.ndarray:
    """68×2 landmarks (pixel centres) of the largest face; FaceNotFound if none."""
    from recognition.landmarks import detector_inputs

    h, w = gray.shape
    shrink = min(1.0, MAX_DETECT_SIDE / max(h, w))
    small = gray
    if shrink < 1.0:
        small = _resize(torch.tensor(gray), (round(h * shrink), round(w * shrink))).round().clamp(0, 255)
        small = small.to(torch.uint8).numpy()
    big, scale, pad = detector_inputs(small[None])
    pts = dlib_faces.landmarks(np.ascontiguousarray(big[0]), scale, pad)
    if pts is None:
        raise FaceNotFound("no face found (dlib)")
    return (pts + 0.5) * (np.array([w, h]) / np.array(small.shape[::-1])) - 0.5


def align_face(gray: np.ndarray, pts: np.ndarray, face_size: int) -> tuple[torch.Tensor, np.ndarray]:
    """Eye-levelled square crop framed like FER2013, resized to ``face_size``; returns (uint8 [S,S], nose xy)."""
    left_eye, right_eye = pts[36:42].mean(0), pts[42:48].mean(0)  # image-left eye first
    d = right_eye - left_eye
    angle = math.atan2(d[1], d[0])
    side = float(np.hypot(*d)) / FER_EYE_DISTANCE  # crop side in source pixels
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = (left_eye + right_eye) / 2 + rot @ np.array([0.0, (0.5 - FER_EYE_LINE) * side])
    n = max(face_size, int(round(side)))  # sample at source resolution, then shrink with antialiasing
    o = (np.arange(n) + 0.5) / n * side - side / 2  # crop-frame offsets from the centre, source pixels
    ox, oy = np.meshgrid(o, o)
    src = centre[:, None, None] + np.einsum("ij,jhw->ihw", rot, np.stack([ox, oy]))
    h, w = gray.shape
    grid = torch.from_numpy(np.stack([(2 * src[0] + 1) / w - 1, (2 * src[1] + 1) / h - 1], -1)).float()[None]
    crop = F.grid_sample(torch.tensor(gray).float()[None, None], grid, mode="bilinear",
                         padding_mode="border", align_corners=False)[0, 0]
    face = _resize(crop, (face_size, face_size)).round().clamp(0, 255).to(torch.uint8)
    nose_crop = rot.T @ (pts[30] - centre) + side / 2  # continuous crop coordinates, 0..side
    nose = nose_crop * face_size / side - 0.5  # pixel-centre convention
    return face, nose.astype(np.float32)


def crop_as_is(gray: np.ndarray, face_size: int) -> tuple[torch.Tensor, np.ndarray, bool]:
    """An already-cropped face: resized to ``face_size``, nose from dlib or the centre."""
    from recognition.landmarks import nose_tips

    face = _resize(torch.tensor(gray), (face_size, face_size)).round().clamp(0, 255).to(torch.uint8)
    nose, found = nose_tips(face.numpy()[None])
    return face, nose[0], bool(found[0])


@torch.no_grad()
def predict_face(model, config: dict, face_u8: torch.Tensor, nose_xy: np.ndarray) -> dict:
    """Class probabilities and half weights for one face (uint8 [S,S]); pure model arithmetic."""
    from recognition.evaluate import input_views

    model.eval()
    whole, left, right = input_views(face_u8[None], torch.as_tensor(nose_xy, dtype=torch.float32)[None], config,
                                     train=False)
    out = model(whole, left, right)
    probs = torch.softmax(out["logits"].float(), 1)[0]
    names = config.get("class_names") or [str(i) for i in range(len(probs))]
    weight = lambda k: None if out[k] is None else float(out[k][0])
    return {"probabilities": dict(zip(names, map(float, probs))), "emotion": names[int(probs.argmax())],
            "w_left": weight("w_left"), "w_right": weight("w_right"), "nose_xy": [float(v) for v in nose_xy]}


def _format(path, r: dict) -> str:
    probs = " ".join(f"{k} {v:.3f}" for k, v in r["probabilities"].items())
    w = ("" if r["w_left"] is None else f" | w_left {r['w_left']:.3f} w_right {r['w_right']:.3f}")
    note = "" if r.get("nose_found", True) else " (no landmarks: split at the image centre)"
    return f"{path}: {r['emotion']} | {probs}{w}{note}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recognition.predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint_best.pt / checkpoint_last.pt from recognition.train")
    ap.add_argument("images", nargs="+", help="photos (any format Pillow reads)")
    ap.add_argument("--detector", choices=["dlib", "none"], default="dlib",
                    help="dlib: find, level and crop the largest face; none: images are face crops already")
    ap.add_argument("--face-size", type=int, default=48, help="side of the face crop before the model's "
                    "resize, as in the training data (FER2013: 48)")
    ap.add_argument("--json", action="store_true", help="print one JSON list instead of text lines")
    args = ap.parse_args(argv)

    from recognition.train import UserError, load_checkpoint

    try:
        model, config, _ = load_checkpoint(args.checkpoint, map_location="cpu")
        from recognition.landmarks import DlibFaces, MidlineError
        try:
            faces = DlibFaces()  # both modes need dlib: to find the face, or the nose tip in a crop
        except MidlineError as e:
            raise UserError(str(e)) from None
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results, failed = [], 0
    for path in args.images:
        try:
            gray = read_gray(Path(path))
            if args.detector == "dlib":
                face, nose = align_face(gray, find_landmarks(gray, faces), args.face_size)
                found = True
            else:
                face, nose, found = crop_as_is(gray, args.face_size)
            r = dict(predict_face(model, config, face, nose), image=str(path), nose_found=found)
        except FaceNotFound as e:
            failed += 1
            print(f"error: {path}: {e}", file=sys.stderr)
            results.append({"image": str(path), "error": str(e)})
            continue
        results.append(r)
        if not args.json:
            print(_format(path, r))
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
