"""Face datasets as tensors: ``load_faceset(dataset, root, split, channels=1) -> FaceSet``.

Every loader returns the whole split at once as uint8 images (gray [N,H,W] or colour [N,3,H,W]) plus int64
labels, because the training loop keeps the split on the device for the whole run (FER2013's training split
is 66 MB). Knows nothing about the model or augmentation. Needs only numpy, torch and Pillow (torchvision's
own dependency): no pandas, so a bare torch machine can train.

Layouts:
- ``fer2013``: the Kaggle/ICML ``fer2013.csv`` (columns emotion, pixels, Usage; ``root`` is the file or a
  folder holding it; ``icml_face_data.csv`` with its space-prefixed column names also works) or the Kaggle
  image folders ``root/train|test/<class>/*.png``. Splits: train = Training, val = PublicTest,
  test = PrivateTest. In the folder layout only ``PublicTest_*`` files of ``test/`` are val; a ``test/``
  without those prefixes is the test split only (validation is then held out of train, never taken from test).
  ``torchvision.datasets.FER2013`` (0.26–0.29) is not used: it insists on ``root/fer2013/fer2013.csv`` with
  the original file's MD5 (so any subset or re-export fails), it merges PublicTest and PrivateTest into one
  "test" split (we select models on PublicTest and must never touch PrivateTest), and it parses 2,304 ints
  per row in Python. We read the csv with the csv module and parse pixel strings with numpy instead.
- ``rafdb``: RAF-DB basic, ``root/Image/aligned/<name>_aligned.jpg`` + ``root/EmoLabel/list_patition_label.txt``
  (labels 1–7: surprise, fear, disgust, happiness, sadness, anger, neutral). Splits train, test (no val).
- ``folder``: ``root/<class>/*`` (split train only) or ``root/<split>/<class>/*``; classes = sorted folder names.
- ``stimuli``: the ``manifest.csv`` written by ``python -m stimuli build`` (split train only: cross-validate
  with ``--folds``); labels are the manifest's emotions, ``groups`` its photo_id, images are the half-face
  stimuli as built (the other half already white).
- ``synthetic``: generated faces whose class is drawn into a learnable pattern; ``root`` is a spec
  like ``"n=512,size=48,classes=7,seed=0"`` (any part optional).
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from halfface.schema import EMOTIONS, parse_bool
from recognition.errors import DataError, MissingSplitError  # noqa: F401  (re-exported: the loaders' errors)

FER2013_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
FER2013_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
RAFDB_CLASSES = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]
# The paper's seven categories in the experiment's key order, from halfface.schema (stdlib only, so a bare
# torch machine has it; the stimuli package it shares the list with need not be installed there).
STIMULUS_EMOTIONS = list(EMOTIONS)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
DATASETS = ("fer2013", "rafdb", "folder", "stimuli", "synthetic")
STIMULUS_ROWS = ("as-shot", "all")


@dataclass
class FaceSet:
    images: torch.Tensor  # uint8 [N,H,W] (gray) or [N,3,H,W] (colour)
    labels: torch.Tensor  # int64 [N]
    class_names: list[str]
    nose_xy: torch.Tensor | None  # float32 [N,2] source-pixel (x, y) of dlib landmark 30, or None
    name: str
    groups: list[str] | None = None  # samples that must share a fold (a photo's half-faces), or None
    info: dict = field(default_factory=dict)  # loader facts a run records (premasked halves, framing, ...)
    # per-sample text columns a prediction file carries (stimuli: stimulus, photo_id, identity); {} otherwise
    columns: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def channels(self) -> int:
        return 1 if self.images.dim() == 3 else int(self.images.shape[1])

    def subset(self, index) -> "FaceSet":
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        nose = None if self.nose_xy is None else self.nose_xy[index]
        groups = None if self.groups is None else [self.groups[i] for i in index.tolist()]
        idx = index.tolist()
        columns = {k: [v[i] for i in idx] for k, v in self.columns.items()}
        return FaceSet(self.images[index], self.labels[index], list(self.class_names), nose, self.name, groups,
                       dict(self.info), columns)

    def fingerprint(self) -> str:
        return hashlib.sha1(self.images.numpy().tobytes()).hexdigest()

    def digest(self) -> str:
        """sha1 of images, labels and class names: what ``--resume`` checks the data against."""
        h = hashlib.sha1(self.images.numpy().tobytes())
        h.update(self.labels.numpy().astype(np.int64).tobytes())
        h.update("\n".join(self.class_names).encode())
        return h.hexdigest()


def load_faceset(dataset: str, root, split: str, channels: int = 1, **options) -> FaceSet:
    """The ``split`` of ``dataset`` under ``root`` (see the module docstring for layouts).

    ``channels`` 1 reads gray, 3 keeps RGB (colour photos: RAF-DB, a lab's stimuli). ``options`` go to the
    stimuli loader (``half``, ``rows``, ``side``).
    """
    if channels not in (1, 3):
        raise DataError(f"--channels {channels}: use 1 (gray) or 3 (RGB)")
    if dataset == "fer2013":
        if channels != 1:
            raise DataError("FER2013 is grayscale: --channels 3 is for colour datasets (rafdb, folder, stimuli)")
        return _load_fer2013(Path(root), split)
    if dataset == "rafdb":
        return _load_rafdb(Path(root), split, channels)
    if dataset == "folder":
        return _load_folder(Path(root), split, channels)
    if dataset == "stimuli":
        return load_stimuli(Path(root), split, channels, **options)
    if dataset == "synthetic":
        fs = synthetic_faceset(split=split, **parse_synthetic_spec(str(root)))
        if channels == 3:  # gray replicated: the tests' and demos' colour path, no colour signal
            fs.images = fs.images[:, None].expand(-1, 3, -1, -1).contiguous()
        return fs
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
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: pixels is empty")
    try:  # C parser first; the slow path below only runs to explain a bad row
        fast = np.fromstring(text, dtype=np.int64, sep=" ")
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
    """One split of fer2013.csv, streamed row by row (rows of other splits are only checked, not kept)."""
    wanted = FER2013_USAGE[split]
    images, labels = [], []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [c.strip() for c in next(reader, [])]  # icml_face_data.csv has " Usage", " pixels"
            missing = [c for c in ("emotion", "pixels", "Usage") if c not in header]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected emotion,pixels,Usage")
            ie, ip, iu = (header.index(c) for c in ("emotion", "pixels", "Usage"))
            for n, row in enumerate(reader, start=2):  # row 1 is the header
                if not row:
                    continue
                if len(row) < len(header):
                    raise DataError(f"{path} row {n}: {len(row)} fields, expected {len(header)}")
                usage = row[iu].strip()
                if usage not in FER2013_USAGE.values():
                    raise DataError(f"{path} row {n}: unknown Usage {usage!r}; "
                                    f"expected one of {', '.join(FER2013_USAGE.values())}")
                if usage != wanted:
                    continue
                emotion = row[ie].strip()
                if not (emotion.isdigit() and int(emotion) < len(FER2013_CLASSES)):
                    raise DataError(f"{path} row {n}: emotion {row[ie]!r} is not an integer 0–6")
                labels.append(int(emotion))
                images.append(parse_pixels(row[ip], side * side, f"{path} row {n}"))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read as csv ({e})") from None
    if not images:
        raise MissingSplitError(f"{path}: no rows with Usage={wanted} (split {split!r})")
    return FaceSet(torch.from_numpy(np.stack(images).reshape(-1, side, side)),
                   torch.tensor(labels, dtype=torch.long), list(FER2013_CLASSES), None, f"fer2013:{split}",
                   info={"framing": "fer2013"})


def _load_fer2013_folders(root: Path, split: str) -> FaceSet:
    """Kaggle folders: train/ holds Training; test/ holds PublicTest_*/PrivateTest_* files.

    A test/ whose files carry neither prefix is one test split: asking it for ``val`` raises
    MissingSplitError, so training holds out part of train instead of selecting models on the test set.
    """
    sub = root / ("train" if split == "train" else "test")
    if not sub.is_dir():
        raise MissingSplitError(f"{sub}: folder missing (needed for split {split!r})")
    found = [d.name for d in sub.iterdir() if d.is_dir()]
    unknown = sorted(set(found) - set(FER2013_CLASSES))
    if unknown:
        raise DataError(f"{sub / unknown[0]}: unknown FER2013 class folder; expected {', '.join(FER2013_CLASSES)}")
    per_class = {cls: (_image_files(sub / cls) if (sub / cls).is_dir() else []) for cls in FER2013_CLASSES}
    prefixed = any(p.name.startswith(("PublicTest", "PrivateTest")) for ps in per_class.values() for p in ps)
    if split == "val" and not prefixed:
        raise MissingSplitError(f"{sub}: no PublicTest_* files, so test/ is the test set and cannot also "
                                "select models")
    prefix = {"val": "PublicTest", "test": "PrivateTest"}.get(split) if prefixed else None
    files, labels = [], []
    for k, cls in enumerate(FER2013_CLASSES):
        paths = per_class[cls]
        if prefix is not None:
            paths = [p for p in paths if p.name.startswith(prefix)]
        files += paths
        labels += [k] * len(paths)
    if not files:
        raise MissingSplitError(f"{sub}: no images for split {split!r}")
    return FaceSet(_read_images(files, 1), torch.tensor(labels, dtype=torch.long), list(FER2013_CLASSES), None,
                   f"fer2013:{split}", info={"framing": "fer2013"})


# --- RAF-DB and plain folders --------------------------------------------------------------------------

def _load_rafdb(root: Path, split: str, channels: int = 1) -> FaceSet:
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
    return FaceSet(_read_images(files, channels), torch.tensor(labels, dtype=torch.long), list(RAFDB_CLASSES),
                   None, f"rafdb:{split}")


def _load_folder(root: Path, split: str, channels: int = 1) -> FaceSet:
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
    return FaceSet(_read_images(files, channels), torch.tensor(labels, dtype=torch.long), classes, None,
                   f"folder:{split}")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: Path, channels: int = 1) -> np.ndarray:
    """uint8 [H,W] (gray) or [3,H,W] (RGB); EXIF orientation applied. Pillow decodes (torchvision's
    dependency; torchvision.io's decoders are deprecated from 0.29 on)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            img = np.array(ImageOps.exif_transpose(im).convert("L" if channels == 1 else "RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"{path}: cannot decode image ({e})") from None
    return img if channels == 1 else np.ascontiguousarray(img.transpose(2, 0, 1))


def _read_images(files: list[Path], channels: int = 1, side: int | None = None) -> torch.Tensor:
    """Decode to uint8 [N,H,W] / [N,3,H,W]; all images must share one size unless ``side`` resizes them."""
    images, shape = [], None
    for f in files:
        img = read_image(f, channels)
        if side is not None:
            img = resize_u8(torch.from_numpy(img), side).numpy()
        if shape is None:
            shape = img.shape
        elif img.shape != shape:
            raise DataError(f"{f}: size {tuple(img.shape[-2:])} differs from {tuple(shape[-2:])} of {files[0]}; "
                            "resize the folder to one size first")
        images.append(img)
    return torch.from_numpy(np.stack(images))


def resize_u8(img: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 [H,W] or [C,H,W] → side×side, antialiased bilinear (what ``augment.views`` would do anyway)."""
    if tuple(img.shape[-2:]) == (side, side):
        return img
    x = img.float()[None] if img.dim() == 3 else img.float()[None, None]
    y = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
    y = y.round().clamp(0, 255).to(torch.uint8)
    return y[0] if img.dim() == 3 else y[0, 0]


# --- a lab's own stimuli (python -m stimuli build) ------------------------------------------------------

def load_stimuli(manifest: Path, split: str = "train", channels: int = 3, *, half: str | None = None,
                 rows: str = "as-shot", side: int | None = None) -> FaceSet:
    """The half-face stimuli listed in ``manifest.csv`` (paths relative to its folder).

    ``rows="as-shot"`` keeps one stimulus per photo and visible half, as the paper's participants and networks
    saw them: mirror-image copies (``mirror_copy`` = 1, written by ``stimuli build --with-mirrored``) are left
    out; a manifest without that column keeps the row whose ``visible_image_side`` is where the half lies in
    the photo as taken. ``rows="all"`` keeps them too (they share
    their photo's fold). ``half`` keeps one ``visible_half`` only. ``side`` resizes every stimulus (antialiased)
    to side×side once, at load. Nose x is the manifest's ``midline_x`` − ½ (columns < midline_x are image-left),
    y the landmark file's nose tip when present.
    """
    if split != "train":
        raise MissingSplitError(f"{manifest}: stimuli have one split (train); cross-validate with --folds")
    if rows not in STIMULUS_ROWS:
        raise DataError(f"--stimulus-rows {rows!r}: use one of {', '.join(STIMULUS_ROWS)}")
    manifest = Path(manifest)
    if manifest.is_dir():
        manifest = manifest / "manifest.csv"
    if not manifest.is_file():
        raise DataError(f"{manifest}: no such manifest; build stimuli first: python -m stimuli build PHOTOS "
                        "--labels LABELS.csv --out OUT (then pass --data OUT/manifest.csv)")
    try:
        with open(manifest, newline="", encoding="utf-8") as f:
            table = list(csv.DictReader(f))
            header = list(table[0]) if table else []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{manifest}: cannot read as csv ({e})") from None
    needed = ("stimulus", "photo_id", "emotion", "visible_half", "visible_image_side", "midline_x")
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(f"{manifest}: missing column(s) {', '.join(missing)}; is this a manifest.csv written "
                        "by python -m stimuli build?")
    keep = []
    for n, r in enumerate(table, start=2):
        for col, allowed in (("visible_half", ("left", "right")), ("visible_image_side", ("left", "right")),
                             ("emotion", STIMULUS_EMOTIONS)):
            if r[col].strip() not in allowed:
                raise DataError(f"{manifest} row {n}: {col} {r[col]!r} is not one of {', '.join(allowed)}")
        if not r["midline_x"].strip().lstrip("-").isdigit():
            raise DataError(f"{manifest} row {n}: midline_x {r['midline_x']!r} is not a whole pixel column")
        try:
            mirror_copy, mirrored = parse_bool(r.get("mirror_copy")), parse_bool(r.get("mirrored"))
        except ValueError as e:
            raise DataError(f"{manifest} row {n}: mirrored/mirror_copy: {e}") from None
        if "mirror_copy" in header:  # the builder marks its --with-mirrored copies
            as_shot = not mirror_copy
        else:  # older manifests: the row whose image side is the half's side in the photo as taken
            as_shot = (r["visible_image_side"] == r["visible_half"]) == mirrored  # poser's left is image right
        if (rows == "all" or as_shot) and (half is None or r["visible_half"] == half):
            keep.append((n, r))
    if not keep:
        raise DataError(f"{manifest}: no stimuli left after selecting"
                        f"{' visible_half=' + half if half else ''} ({rows} rows)")
    seen = {}
    for n, r in keep:  # as-shot: exactly one image per photo and half, as in the paper
        key = (r["photo_id"], r["visible_half"]) + ((r["visible_image_side"],) if rows == "all" else ())
        if key in seen:
            raise DataError(f"{manifest} rows {seen[key]} and {n}: two {rows} stimuli of photo {key[0]!r} with "
                            f"visible_half={key[1]}; photo_id must be unique per photo")
        seen[key] = n
    folder = manifest.parent
    files = []
    for n, r in keep:
        path = folder / r["stimulus"]
        if not path.is_file():
            raise DataError(f"{manifest} row {n}: stimulus {r['stimulus']!r} not found at {path}")
        files.append(path)
    images = _read_images(files, channels, side)
    h, w = images.shape[-2:]
    nose = []
    for (n, r), path in zip(keep, files):
        src_w, src_h = _image_size(path)
        x = int(r["midline_x"]) * w / src_w - 0.5  # the edge left of column midline_x, in resized pixel centres
        y = _nose_y(folder, r.get("landmarks_file", ""))
        nose.append((x, ((y + 0.5) * h / src_h - 0.5) if y is not None else (h - 1) / 2.0))
    labels = torch.tensor([STIMULUS_EMOTIONS.index(r["emotion"].strip()) for _, r in keep], dtype=torch.long)
    return FaceSet(images, labels, list(STIMULUS_EMOTIONS), torch.tensor(nose, dtype=torch.float32),
                   f"stimuli:{manifest}", groups=[r["photo_id"] for _, r in keep],
                   info={"premasked": True, "framing": "stimuli", "manifest": str(manifest),
                         "landmark_files": [str(folder / r["landmarks_file"]) if r.get("landmarks_file") else None
                                            for _, r in keep],
                         "source_side": int(_image_size(files[0])[0])},
                   columns={"stimulus": [r["stimulus"] for _, r in keep], "photo_id": [r["photo_id"] for _, r in keep],
                            "identity": [(r.get("identity") or "").strip() for _, r in keep]})


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _nose_y(folder: Path, landmarks_file: str) -> float | None:
    """y of landmark 30 in stimulus pixels, from the builder's landmark csv (None when there is none)."""
    if not landmarks_file:
        return None
    try:
        with open(folder / landmarks_file, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r.get("point") == "30":
                    return float(r["y_stimulus"])
    except (OSError, ValueError, KeyError, csv.Error):
        return None
    return None


def stimulus_landmarks(paths: list[str | None]) -> np.ndarray:
    """[N,68,2] stimulus-pixel landmarks from the builder's csv files (rows with no file are skipped)."""
    out = []
    for p in paths:
        if not p:
            continue
        try:
            with open(p, newline="", encoding="utf-8") as f:
                pts = [(float(r["x_stimulus"]), float(r["y_stimulus"])) for r in csv.DictReader(f)]
        except (OSError, ValueError, KeyError, csv.Error):
            continue
        if len(pts) == 68:
            out.append(pts)
    return np.asarray(out, dtype=np.float64).reshape(-1, 68, 2)


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
