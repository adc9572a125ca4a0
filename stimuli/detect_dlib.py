"""dlib backend: HOG face detector + 68-point shape predictor (thin I/O layer).

The predictor file comes from the ``face-recognition-models`` package. It is
located with importlib rather than that package's own helper, which imports
``pkg_resources`` (removed from setuptools 81).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from stimuli.detection import FaceFound
from stimuli.errors import StimulusError
from stimuli.geometry import detection_scales, largest_box

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"


def predictor_path() -> Path:
    """Path of dlib's 68-landmark model shipped by face-recognition-models."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise StimulusError(
            "face-recognition-models is not installed; it ships dlib's landmark model: "
            "pip install face-recognition-models (or pip install -e '.[stimuli]')"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / "models" / PREDICTOR_FILE
        if path.is_file():
            return path
    raise StimulusError(
        f"{PREDICTOR_FILE} not found inside face_recognition_models; reinstall it: "
        "pip install --force-reinstall face-recognition-models"
    )


class DlibLandmarker:
    """Finds the largest face and its 68 landmarks in a grayscale image."""

    name = "dlib"

    def __init__(self) -> None:
        try:
            import dlib  # lazy: keeps `import stimuli` and `--help` light
        except ImportError:
            raise StimulusError("dlib is not installed: pip install dlib-bin (or pip install -e '.[stimuli]')") from None
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(predictor_path()))
        self._rect = dlib.rectangle

    def find(self, gray: np.ndarray) -> FaceFound | None:
        """Largest face at the cheapest scale where any face is found, or None."""
        h, w = gray.shape[:2]
        for scale in detection_scales(h, w):
            if scale == 1.0:
                scaled = gray
            else:
                interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
                scaled = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp)
            rects = self._detector(np.ascontiguousarray(scaled), 0)
            if len(rects) == 0:
                continue
            boxes = [(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale) for r in rects]
            best = largest_box(boxes)
            # Landmarks at full resolution (the detector ran on a small copy
            # for speed); small images keep their upsampled copy instead.
            if scale < 1:
                target, factor = gray, 1.0
                l, t, r, b = (round(v) for v in boxes[best])
            else:
                target, factor = scaled, scale
                rr = rects[best]
                l, t, r, b = rr.left(), rr.top(), rr.right(), rr.bottom()
            shape = self._predictor(np.ascontiguousarray(target), self._rect(l, t, r, b))
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=float) / factor
            return FaceFound(landmarks=pts, box=boxes[best], n_faces=len(rects))
        return None
