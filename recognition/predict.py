"""Emotion probabilities and half-face weights for photos, from a trained checkpoint.

    python -m recognition.predict runs/hsaw/checkpoint_best.pt photo1.jpg photo2.png
    python -m recognition.predict runs/hsaw/checkpoint_best.pt crops/*.png --detector none --json

Per image: dlib finds the largest face and its 68 landmarks; the face is rotated so the eyes are level and
cropped with the framing the checkpoint was trained on (its config's ``framing``: face size, eye distance and
eye-line height as fractions of the side, gray or RGB — FER2013's 48 px gray faces, a lab's stimuli, a
RAF-DB-like set measured at training time); the nose tip (landmark 30) splits it; the model's views come from
the same ``input_views`` as in evaluation. A model trained on a lab's half-face stimuli sees the photo's half
covered with white at the nose, as the stimuli were.

With ``--detector none`` each image is taken as an already-cropped face (resized to the framing's face size)
and only the nose tip is searched with dlib (image centre when dlib finds none or is not installed, reported);
a plain network needs no nose tip and dlib is not loaded at all. dlib's model loads once per process.

Prints the class probabilities (softmax of P) and the §4.3 weights w_left / w_right (variants with attention).
An image that cannot be read or has no face gets a one-line error; the exit code is then 1.
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

from halfface.cli import UserError, print_error, run_main
from recognition.data import read_image
from recognition.errors import DataError
from recognition.framing import legacy_framing
from recognition.inputs import input_views
from recognition.runio import load_checkpoint

MAX_DETECT_SIDE = 1024  # bigger photos are shrunk for the HOG detector (speed), landmarks scaled back


class FaceNotFound(Exception):
    """No face in an image (per-image error, the other images still get their prediction)."""


def _resize(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """float [C,H,W] → [C,*size], antialiased bilinear."""
    return F.interpolate(img[None].float(), size=size, mode="bilinear", align_corners=False, antialias=True)[0]


def _gray(img: np.ndarray) -> np.ndarray:
    """uint8 [H,W] from [H,W] or [3,H,W] (ITU-R 601 luma, as Pillow's convert("L"))."""
    if img.ndim == 2:
        return img
    return (img.astype(np.float32) * np.array([0.299, 0.587, 0.114], np.float32)[:, None, None]).sum(0) \
        .round().clip(0, 255).astype(np.uint8)


def find_landmarks(gray: np.ndarray, dlib_faces) -> np.ndarray:
    """68×2 landmarks (pixel centres) of the largest face; FaceNotFound if none."""
    from recognition.landmarks import detector_inputs

    h, w = gray.shape
    shrink = min(1.0, MAX_DETECT_SIDE / max(h, w))
    small = gray
    if shrink < 1.0:
        small = _resize(torch.tensor(gray)[None], (round(h * shrink), round(w * shrink)))[0]
        small = small.round().clamp(0, 255).to(torch.uint8).numpy()
    big, scale, pad = detector_inputs(small[None])
    pts = dlib_faces.landmarks(np.ascontiguousarray(big[0]), scale, pad)
    if pts is None:
        raise FaceNotFound("no face found (dlib)")
    return (pts + 0.5) * (np.array([w, h]) / np.array(small.shape[::-1])) - 0.5


def align_face(image: np.ndarray, pts: np.ndarray, framing: dict, face_size: int | None = None):
    """Eye-levelled square crop with the checkpoint's framing, resized to its face size.

    ``image`` uint8 [H,W] or [3,H,W]; returns (uint8 [S,S] or [3,S,S], nose xy in crop pixels).
    """
    face_size = int(face_size or framing["face_size"])
    left_eye, right_eye = pts[36:42].mean(0), pts[42:48].mean(0)  # image-left eye first
    d = right_eye - left_eye
    angle = math.atan2(d[1], d[0])
    side = float(np.hypot(*d)) / framing["eye_distance"]  # crop side in source pixels
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = (left_eye + right_eye) / 2 + rot @ np.array([0.0, (0.5 - framing["eye_line"]) * side])
    n = max(face_size, int(round(side)))  # sample at source resolution, then shrink with antialiasing
    o = (np.arange(n) + 0.5) / n * side - side / 2  # crop-frame offsets from the centre, source pixels
    ox, oy = np.meshgrid(o, o)
    src = centre[:, None, None] + np.einsum("ij,jhw->ihw", rot, np.stack([ox, oy]))
    h, w = image.shape[-2:]
    grid = torch.from_numpy(np.stack([(2 * src[0] + 1) / w - 1, (2 * src[1] + 1) / h - 1], -1)).float()[None]
    chw = torch.tensor(image).float().reshape(-1, h, w)
    crop = F.grid_sample(chw[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
    face = _resize(crop, (face_size, face_size)).round().clamp(0, 255).to(torch.uint8)
    nose_crop = rot.T @ (pts[30] - centre) + side / 2  # continuous crop coordinates, 0..side
    nose = nose_crop * face_size / side - 0.5  # pixel-centre convention
    return (face[0] if image.ndim == 2 else face), nose.astype(np.float32)


def crop_as_is(image: np.ndarray, face_size: int, faces=None) -> tuple[torch.Tensor, np.ndarray, bool]:
    """An already-cropped face resized to ``face_size``; nose from ``faces`` (a DlibFaces) or the centre."""
    chw = torch.tensor(image).reshape(-1, *image.shape[-2:])
    face = _resize(chw, (face_size, face_size)).round().clamp(0, 255).to(torch.uint8)
    face = face[0] if image.ndim == 2 else face
    centre = np.array([(face_size - 1) / 2.0, (face_size - 1) / 2.0], np.float32)
    if faces is None:
        return face, centre, False
    from recognition.landmarks import NOSE_TIP, detector_inputs

    big, scale, pad = detector_inputs(_gray(face.numpy())[None])
    pts = faces.landmarks(np.ascontiguousarray(big[0]), scale, pad)
    if pts is None:
        return face, centre, False
    return face, pts[NOSE_TIP].astype(np.float32), True


@torch.no_grad()
def predict_face(model, config: dict, face_u8: torch.Tensor, nose_xy: np.ndarray, *, premasked=None) -> dict:
    """Class probabilities and half weights for one face (uint8 [S,S] or [3,S,S]); pure model arithmetic."""
    model.eval()
    nose = torch.as_tensor(nose_xy, dtype=torch.float32)[None]
    whole, left, right = input_views(face_u8[None], nose, config, train=False, premasked=premasked)
    out = model(whole, left, right)
    probs = torch.softmax(out["logits"].float(), 1)[0]
    names = config.get("class_names") or [str(i) for i in range(len(probs))]
    weight = lambda k: None if out[k] is None else float(out[k][0])  # noqa: E731
    return {"probabilities": dict(zip(names, map(float, probs))), "emotion": names[int(probs.argmax())],
            "w_left": weight("w_left"), "w_right": weight("w_right"), "nose_xy": [float(v) for v in nose_xy]}


def _format(path, r: dict) -> str:
    """One text line per image; it starts with what was found: a face (dlib) or a crop taken as given."""
    probs = " ".join(f"{k} {v:.3f}" for k, v in r["probabilities"].items())
    w = ("" if r["w_left"] is None else f" | w_left {r['w_left']:.3f} w_right {r['w_right']:.3f}")
    if r["face_found"]:
        face = "face found (dlib)"
    else:
        face = "no face detection (--detector none: taken as a face crop)" + (
            "" if r.get("nose_found", True) else ", no landmarks: split at the image centre")
    return f"{path}: {face} | {r['emotion']} | {probs}{w}"


def load_dlib(required: bool):
    """This process's DlibFaces, or None (with a one-line note) when dlib is optional and missing."""
    try:
        from recognition.landmarks import MidlineError, dlib_faces
        return dlib_faces()
    except (ImportError, MidlineError) as e:
        if required:
            raise UserError(f"{e}; or pass face crops with --detector none") from None
        print(f"note: dlib not available ({str(e).split(':')[0]}): nose tips at the image centre", file=sys.stderr)
        return None


@run_main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recognition.predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint_best.pt / checkpoint_last.pt from recognition.train")
    ap.add_argument("images", nargs="+", help="photos (any format Pillow reads)")
    ap.add_argument("--detector", choices=["dlib", "none"], default="dlib",
                    help="dlib: find, level and crop the largest face; none: images are face crops already")
    ap.add_argument("--face-size", type=int, help="side of the face crop before the model's resize "
                    "(default: the checkpoint's framing, e.g. 48 for FER2013)")
    ap.add_argument("--json", action="store_true", help="print one JSON list instead of text lines")
    args = ap.parse_args(argv)

    model, config, _ = load_checkpoint(args.checkpoint, map_location="cpu")
    framing = legacy_framing(config)
    if args.detector == "dlib" and (framing is None or framing.get("eye_distance") is None):
        raise UserError(f"{args.checkpoint}: the checkpoint records no face framing "
                        f"({(framing or {}).get('note', 'trained before framings were stored')}); "
                        "pass face crops like its training images with --detector none")
    face_size = args.face_size or (framing or {}).get("face_size") or int(config["image_size"])
    channels = int((framing or {}).get("channels") or config.get("channels", 1))
    # crops need a nose tip only where the model's views are cut there (HSAW, or a half of whole faces)
    needs_nose = config.get("arch", "hsaw") == "hsaw" or bool(config.get("half") and not config.get("premasked"))
    faces = load_dlib(required=True) if args.detector == "dlib" else (load_dlib(False) if needs_nose else None)
    results, failed = [], 0
    for path in args.images:
        try:
            try:
                image = read_image(Path(path), channels)
            except DataError as e:
                raise FaceNotFound(f"cannot read image ({str(e).split(': ', 1)[-1]})") from None
            if args.detector == "dlib":
                face, nose = align_face(image, find_landmarks(_gray(image), faces), framing, face_size)
                found, premasked = True, False  # a photo: the trained half is covered here, at the nose
            else:
                face, nose, found = crop_as_is(image, face_size, faces)
                premasked = None  # crops are taken like the training images
            r = dict(predict_face(model, config, face, nose, premasked=premasked), image=str(path),
                     face_found=args.detector == "dlib", nose_found=found or not needs_nose)
        except FaceNotFound as e:
            failed += 1
            print_error(f"{path}: {e}")  # the other images are still predicted; exit 1 at the end
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
