"""py-feat backend: RetinaFace + MobileFaceNet 68-point landmarks (optional).

py-feat is heavy (torch models) and not part of the ``stimuli`` extra. Its
models are fetched from the Hugging Face Hub on first use; offline, that
download would retry for minutes. So before constructing anything we check
that the model files are already in py-feat's cache and fail fast otherwise,
and we set HF_HUB_OFFLINE=1 so nothing tries the network at run time.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from stimuli.detection import FaceFound
from stimuli.errors import StimulusError
from stimuli.geometry import largest_box

# (Hugging Face repo, file) that Detectorv1 loads for these two models.
REQUIRED_MODELS = (
    ("py-feat/retinaface", "config.json"),
    ("py-feat/retinaface", "mobilenet0.25_Final.pth"),
    ("py-feat/mobilefacenet", "mobilefacenet_model_best.pth.tar"),
)

_DOWNLOAD_HINT = (
    "on a machine with internet run once: python -c \"from feat.detector import Detectorv1; "
    "Detectorv1(face_model='retinaface', landmark_model='mobilefacenet', au_model=None, "
    "emotion_model=None, facepose_model=None, identity_model=None)\" "
    "and copy the models--py-feat--* folders into {where}; or use --detector dlib"
)


def pyfeat_resource_dir() -> Path:
    """py-feat's model cache folder (``feat/resources``), without importing feat."""
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise StimulusError(
            "--detector py-feat needs py-feat, which is not installed: pip install py-feat "
            "(large: pulls torch models); or use the default --detector dlib"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def missing_models(resource_dir: Path) -> list[str]:
    """'repo/file' for each required model not in the Hugging Face cache layout."""
    missing = []
    for repo, filename in REQUIRED_MODELS:
        snapshots = Path(resource_dir) / f"models--{repo.replace('/', '--')}" / "snapshots"
        if not any(p.is_file() for p in snapshots.glob(f"*/{filename}")):
            missing.append(f"{repo}/{filename}")
    return missing


def check_pyfeat_ready() -> Path:
    """Raise StimulusError at once unless py-feat and its models are local."""
    resources = pyfeat_resource_dir()
    missing = missing_models(resources)
    if missing:
        raise StimulusError(
            f"py-feat models not found offline in {resources} (missing: {', '.join(missing)}); "
            + _DOWNLOAD_HINT.format(where=resources)
        )
    return resources


class PyFeatLandmarker:
    """Largest face and its 68 landmarks from py-feat's Detectorv1."""

    name = "py-feat"

    def __init__(self) -> None:
        check_pyfeat_ready()
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            from feat.detector import Detectorv1
        except ImportError as err:
            raise StimulusError(f"py-feat is installed but does not provide Detectorv1 ({err}); pip install -U py-feat") from None
        kwargs = dict(
            face_model="retinaface",
            landmark_model="mobilefacenet",
            au_model=None,
            emotion_model=None,
            facepose_model=None,
            identity_model=None,
            device="cpu",
        )
        try:
            self._detector = Detectorv1(**kwargs)
        except TypeError:
            kwargs.pop("facepose_model")  # older/newer signatures differ here
            self._detector = Detectorv1(**kwargs)

    def find_in_file(self, path: Path) -> FaceFound | None:
        """py-feat reads the file itself; coordinates are in the photo's pixels."""
        fex = self._detector.detect([str(path)], data_type="image", progress_bar=False)
        fex = fex.dropna(subset=["x_30", "y_30"])
        if len(fex) == 0:
            return None
        boxes = [
            (float(r.FaceRectX), float(r.FaceRectY), float(r.FaceRectX + r.FaceRectWidth), float(r.FaceRectY + r.FaceRectHeight))
            for r in fex.itertuples()
        ]
        best = largest_box(boxes)
        row = fex.iloc[best]
        pts = np.array([(row[f"x_{i}"], row[f"y_{i}"]) for i in range(68)], dtype=float)
        return FaceFound(landmarks=pts, box=boxes[best], n_faces=len(fex))
