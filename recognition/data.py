"""Face datasets as tensors: ``load_faceset(dataset, root, split) -> FaceSet``.

Every loader returns the whole split at once as grayscale uint8 [N,H,W] plus int64 labels, because the
training loop keeps the split on the device for the whole run (FER2013's training split is 66 MB).
Knows nothing about the model or augmentation.

Layouts:
- ``fer2013``: the Kaggle/ICML ``fer2013.csv`` (columns emotion, pixels, Usage; ``root`` is the file or a
  folder holding it; ``icml_face_data.csv`` with its space-prefixed column names also works) or the Kaggle
  image folders ``root/train|test/<class>/*.png``. Splits: train = Training, val = PublicTest,
  test = PrivateTest.
  ``torchvision.datasets.FER2013`` (0.26–0.29) is not used: it insists on ``root/fer2013/fer2013.csv`` with
  the original file's MD5 (so any subset or re-export fails), it merges PublicTest and PrivateTest into one
  "test" split (we select models on PublicTest and must never touch PrivateTest), and it parses 2,304 ints
  per row in Python. We read the csv with pandas and parse pixel strings with numpy instead.
- ``rafdb``: RAF-DB basic, ``root/Image/aligned/<name>_aligned.jpg`` + ``root/EmoLabel/list_patition_label.txt``
  (labels 1–7: surprise, fear, disgust, happiness, sadness, anger, neutral). Splits train, test (no val).
- ``folder``: ``root/<class>/*`` (split train only) or ``root/<split>/<class>/*``; classes = sorted folder names.
- ``synthetic``: generated faces whose class is drawn into a learnable pattern; ``root`` is a spec
  like ``"n=512,size=48,classes=7,seed=0"`` (any part optional).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

FER2013_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
FER2013_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
RAFDB_CLASSES = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
DATASETS = ("fer2013", "rafdb", "folder", "synthetic")


class DataError(ValueError):
    """Bad or missing dataset input; the message names the file/row/value and what to do."""


class MissingSplitError(DataError):
    """The dataset has no such split (e.g. RAF-DB has no validation split)."""


@dataclass
class FaceSet:
    images: torch.Tensor  # uint8 [N,H,W], grayscale
    labels: torch.Tensor  # int64 [N]
    class_names: list[str]
    nose_xy: torch.Tensor | None  # float32 [N,2] source-pixel (x, y) of dlib landmark 30, or None
    name: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index) -> "FaceSet":
        index = torch.as_tensor(index, dtype=torch.long)
        nose = None if self.nose_xy is None else self.nose_xy[index]
        return FaceSet(self.images[index], self.labels[index], list(self.class_names), nose, self.name)

    def fingerprint(self) -> str:
        return hashlib.sha1(self.images.numpy().tobytes()).hexdigest()


def load_faceset(dataset: str, root, split: str) -> FaceSet:
    """The ``split`` of ``dataset`` under ``root`` (see the module docstring for layouts)."""
    if dataset == "fer2013":
        return _load_fer2013(Path(root), split)
    if dataset == "rafdb":
        return _load_rafdb(Path(root), split)
    if dataset == "folder":
        return _load_folder(Path(root), split)
    if dataset == "synthetic":
        return synthetic_faceset(split=split, **parse_synthetic_spec(str(root)))
    raise DataError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")


# --- FER2013 -------------------------------------------------------------------------------------------

def _load_fer2013(root: Path, split: str) -> FaceSet:
    if split not in FER2013_USAGE:
        raise DataError(f"FER2013 has splits train, val, test; got {split!r}")
    if root.is_dir():
        for name in ("fer2013.csv", "icml_face_data.csv", "fer2013/fer2013.csv"):
            if (root / name).is_file():
                return read_fer2013_csv(root / name, split)
        if (root / "train").is_dir() or (root / "test").is_dir():
            return _load_fer2013_folders(root, split)
        raise DataError(f"{root}: no fer2013.csv and no train/ or test/ image folders; "
                        "pass the csv file or the folder holding train/ and test/")
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    return read_fer2013_csv(root, split)


def parse_pixels(text: str, n_pixels: int, where: str) -> np.ndarray:
    """One row's space-separated pixel string → uint8 [n_pixels]; errors name ``where`` and the value."""
    if not isinstance(text, str):
        raise DataError(f"{where}: pixels is empty")
    try:  # C parser first; the slow path below only runs to explain a bad row
        fast = np.fromstring(text, dtype=np.int64, sep=" ") if text.strip() else np.empty(0, np.int64)
    except ValueError:
        fast = np.empty(0, np.int64)
    if fast.size == n_pixels and fast.size == text.count(" ") + 1 and 0 <= fast.min() and fast.max() <= 255:
        return fast.astype(np.uint8)
    values = np.array(text.split(), dtype=object)
    if values.size != n_pixels:
        raise DataError(f"{where}: pixels has {values.size} values, expected {n_pixels} (48×48)")
    try:
        ints = values.astype(np.int64)
    except (ValueError, TypeError):
        bad = next(v for v in values if not str(v).lstrip("-").isdigit())
        raise DataError(f"{where}: pixel value {bad!r} is not an integer") from None
    if ints.min() < 0 or ints.max() > 255:
        bad = int(ints[(ints < 0) | (ints > 255)][0])
        raise DataError(f"{where}: pixel value {bad} is outside 0–255")
    return ints.astype(np.uint8)


def read_fer2013_csv(path: Path, split: str, side: int = 48) -> FaceSet:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read as csv ({e})") from None
    df.columns = [c.strip() for c in df.columns]  # icml_face_data.csv has " Usage", " pixels"
    missing = [c for c in ("emotion", "pixels", "Usage") if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected emotion,pixels,Usage")
    usage = df["Usage"].str.strip()
    unknown = ~usage.isin(FER2013_USAGE.values())
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(f"{path} row {row + 2}: unknown Usage {usage.iloc[row]!r}; "
                        f"expected one of {', '.join(FER2013_USAGE.values())}")
    rows = np.flatnonzero((usage == FER2013_USAGE[split]).to_numpy())
    if rows.size == 0:
        raise MissingSplitError(f"{path}: no rows with Usage={FER2013_USAGE[split]} (split {split!r})")
    emotion = df["emotion"].str.strip().iloc[rows]
    labels = pd.to_numeric(emotion, errors="coerce")
    bad = labels.isna() | ~labels.isin(range(len(FER2013_CLASSES)))
    if bad.any():
        r = int(rows[np.flatnonzero(bad.to_numpy())[0]])
        raise DataError(f"{path} row {r + 2}: emotion {df['emotion'].iloc[r]!r} is not an integer 0–6")
    pixels = df["pixels"].to_numpy()
    images = np.empty((rows.size, side * side), np.uint8)
    for i, r in enumerate(rows):
        images[i] = parse_pixels(pixels[r], side * side, f"{path} row {r + 2}")  # +2: header, 1-based
    return FaceSet(torch.from_numpy(images.reshape(-1, side, side)),
                   torch.from_numpy(labels.to_numpy(dtype=np.int64, copy=True)), list(FER2013_CLASSES), None,
                   f"fer2013:{split}")


def _load_fer2013_folders(root: Path, split: str) -> FaceSet:
    """Kaggle folders: train/ holds Training; test/ holds PublicTest_*/PrivateTest_* files."""
    sub = root / ("train" if split == "train" else "test")
    if not sub.is_dir():
        raise MissingSplitError(f"{sub}: folder missing (needed for split {split!r})")
    names = {c: c for c in FER2013_CLASSES}
    found = [d.name for d in sub.iterdir() if d.is_dir()]
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise DataError(f"{sub / unknown[0]}: unknown FER2013 class folder; expected {', '.join(FER2013_CLASSES)}")
    files, labels = [], []
    prefix = {"val": "PublicTest", "test": "PrivateTest"}.get(split)
    for k, cls in enumerate(FER2013_CLASSES):
        paths = _image_files(sub / cls) if (sub / cls).is_dir() else []
        if prefix is not None and any(p.name.startswith(("PublicTest", "PrivateTest")) for p in paths):
            paths = [p for p in paths if p.name.startswith(prefix)]
        files += paths
        labels += [k] * len(paths)
    if not files:
        raise MissingSplitError(f"{sub}: no images for split {split!r}")
    return FaceSet(_read_gray(files), torch.tensor(labels, dtype=torch.long), list(FER2013_CLASSES), None,
                   f"fer2013:{split}")


# --- RAF-DB and plain folders --------------------------------------------------------------------------

def _load_rafdb(root: Path, split: str) -> FaceSet:
    if split not in ("train", "test"):
        raise MissingSplitError(f"RAF-DB has splits train and test only; got {split!r} "
                                "(training holds out a stratified part of train for validation)")
    label_file = root / "EmoLabel" / "list_patition_label.txt"
    if not label_file.is_file():
        raise DataError(f"{label_file}: missing (RAF-DB basic layout: Image/aligned, EmoLabel/list_patition_label.txt)")
    files, labels = [], []
    for n, line in enumerate(label_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= 7:
            raise DataError(f"{label_file} line {n}: expected '<name>.jpg <label 1-7>', got {line!r}")
        if not parts[0].startswith(split + "_"):
            continue
        stem = Path(parts[0]).stem
        image = root / "Image" / "aligned" / f"{stem}_aligned.jpg"
        if not image.is_file():
            raise DataError(f"{image}: listed in {label_file} line {n} but missing")
        files.append(image)
        labels.append(int(parts[1]) - 1)
    if not files:
        raise MissingSplitError(f"{label_file}: no {split}_* entries")
    return FaceSet(_read_gray(files), torch.tensor(labels, dtype=torch.long), list(RAFDB_CLASSES), None,
                   f"rafdb:{split}")


def _load_folder(root: Path, split: str) -> FaceSet:
    base = root / split if (root / split).is_dir() else root
    if base == root and split != "train":
        raise MissingSplitError(f"{root}: no {split}/ folder (a flat <class>/ layout is the train split only)")
    classes = sorted(d.name for d in base.iterdir() if d.is_dir()) if base.is_dir() else []
    if not classes:
        raise DataError(f"{base}: no class folders; expected {base}/<class>/<image>")
    files, labels = [], []
    for k, cls in enumerate(classes):
        paths = _image_files(base / cls)
        if not paths:
            raise DataError(f"{base / cls}: class folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files += paths
        labels += [k] * len(paths)
    return FaceSet(_read_gray(files), torch.tensor(labels, dtype=torch.long), classes, None, f"folder:{split}")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_gray(files: list[Path]) -> torch.Tensor:
    """Decode to grayscale uint8 [N,H,W]; all images must share one size (resizing is the augmenter's job).

    Pillow (a torchvision dependency) decodes: torchvision.io's decoders are deprecated from 0.29 on.
    """
    from PIL import Image, UnidentifiedImageError

    images, shape = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                img = np.asarray(im.convert("L"))
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"{f}: cannot decode image ({e})") from None
        if shape is None:
            shape = img.shape
        elif img.shape != shape:
            raise DataError(f"{f}: size {tuple(img.shape)} differs from {tuple(shape)} of {files[0]}; "
                            "resize the folder to one size first")
        images.append(img)
    return torch.from_numpy(np.stack(images))


# --- synthetic -----------------------------------------------------------------------------------------

def parse_synthetic_spec(spec: str) -> dict:
    out = {}
    for part in filter(None, (p.strip() for p in spec.replace(";", ",").split(","))):
        key, _, value = part.partition("=")
        if key not in ("n", "size", "classes", "seed") or not value.lstrip("-").isdigit():
            raise DataError(f"synthetic spec {spec!r}: bad part {part!r}; use e.g. n=512,size=48,classes=7,seed=0")
        out[key] = int(value)
    return out


def synthetic_faceset(n: int = 512, size: int = 48, classes: int = 7, seed: int = 0, split: str = "train") -> FaceSet:
    """Generated grayscale 'faces' whose class is learnable: class k draws a bright bar at angle k·π/classes
    on one half of the face (even k: image left, odd k: image right), over noise. Nose at the centre.
    Splits use different seeds, so val/test are fresh samples from the same distribution.
    """
    offset = {"train": 0, "val": 1, "test": 2}.get(split)
    if offset is None:
        raise MissingSplitError(f"synthetic data has splits train, val, test; got {split!r}")
    g = torch.Generator().manual_seed(seed * 3 + offset)
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n, generator=g)]
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    angle = labels.float() * torch.pi / classes
    cx = torch.where(labels % 2 == 0, torch.tensor(size * 0.27), torch.tensor(size * 0.73))
    cx = cx + torch.randn(n, generator=g) * size * 0.03
    cy = size * 0.5 + torch.randn(n, generator=g) * size * 0.05
    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    across = (-dx * torch.sin(angle)[:, None, None] + dy * torch.cos(angle)[:, None, None]).abs()
    along = (dx * torch.cos(angle)[:, None, None] + dy * torch.sin(angle)[:, None, None]).abs()
    bar = ((across < size * 0.06) & (along < size * 0.2)).float()
    img = 60 + 140 * bar + torch.randn(n, size, size, generator=g) * 20
    images = img.clamp(0, 255).round().to(torch.uint8)
    nose = torch.full((n, 2), size / 2.0)
    return FaceSet(images, labels.long(), [f"class{k}" for k in range(classes)], nose, f"synthetic:{split}")


def stratified_folds(labels: torch.Tensor, k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint index arrays covering all samples, each class spread evenly (for ``--folds``)."""
    if k < 2:
        raise DataError(f"--folds must be at least 2, got {k}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(labels.size, np.int64)
    start = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold_of[idx] = (start + np.arange(idx.size)) % k  # continue round-robin so fold sizes stay equal
        start += idx.size
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def stratified_holdout(labels: torch.Tensor, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) with about ``fraction`` of each class in val, for datasets without a val split."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.append(idx[: max(1, int(round(fraction * idx.size)))] if idx.size > 1 else idx[:0])
    val = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(labels.size), val), val
