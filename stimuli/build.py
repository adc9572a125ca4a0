"""``python -m stimuli build``: labels -> stimuli, manifest, contact sheet.

Everything is written into a hidden temporary folder beside OUT_DIR and
moved into place only when the build succeeded, so OUT_DIR never holds a
half-finished build. When faces are missing (and --skip-undetected is not
given) OUT_DIR receives only ``undetected.csv``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from halfface.schema import MANIFEST_COLUMNS
from stimuli.errors import StimulusError
from stimuli.label_file import PhotoLabel, read_label_file
from stimuli.manifest import UNDETECTED_COLUMNS, write_table
from stimuli.photo import LANDMARK_DIR, STIMULUS_DIR, PhotoOutcome, process_photo

DETECTORS = ("dlib", "py-feat")
UNDETECTED_FILE = "undetected.csv"


class UndetectedFaces(StimulusError):
    """Some photos had no usable face and --skip-undetected was not given."""

    exit_code = 1  # `stimuli build`'s documented outcome (undetected.csv lists them), not a usage error (2)


@dataclass
class BuildSummary:
    out_dir: Path
    n_photos: int
    n_stimuli: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def make_landmarker(detector: str):
    """Construct the backend (loads models); errors are StimulusError."""
    if detector == "dlib":
        from stimuli.detect_dlib import DlibLandmarker

        return DlibLandmarker()
    if detector == "py-feat":
        from stimuli.detect_pyfeat import PyFeatLandmarker

        return PyFeatLandmarker()
    raise StimulusError(f"unknown detector {detector!r}; use one of {', '.join(DETECTORS)}")


def check_out_dir(out_dir: Path) -> None:
    """OUT_DIR must be new, empty, or hold only a previous failure report."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise StimulusError(f"{out_dir}: exists and is not a folder; choose another --out")
        leftovers = {p.name for p in out_dir.iterdir()} - {UNDETECTED_FILE}
        if leftovers:
            raise StimulusError(
                f"{out_dir}: folder is not empty ({len(leftovers)} entries); choose a new --out or delete it first"
            )


# One landmarker per worker process: loading dlib's model takes about a second.
_LANDMARKER = None
_JOB: tuple | None = None


def _init_worker(detector: str, job: tuple, in_pool: bool = False) -> None:
    global _LANDMARKER, _JOB
    if in_pool:
        import cv2

        cv2.setNumThreads(1)  # the pool already uses every core; more threads only oversubscribe
    if _LANDMARKER is None or _LANDMARKER.name != detector:
        _LANDMARKER = make_landmarker(detector)
    _JOB = job


def _work(label: PhotoLabel) -> PhotoOutcome:
    photos_dir, out_dir, size, margin, with_mirrored = _JOB
    return process_photo(label, photos_dir, out_dir, size, margin, _LANDMARKER, with_mirrored)


def _outcomes(labels: list[PhotoLabel], detector: str, job: tuple, workers: int, progress: bool):
    from tqdm import tqdm

    bar = tqdm(total=len(labels), unit="photo", desc="stimuli", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            _init_worker(detector, job)
            for label in labels:
                yield _work(label)
                bar.update()
            return
        # Not fork: the parent may hold OpenCV's thread pool (and tqdm's
        # monitor thread), and a forked child that touches it can deadlock.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(["stimuli.photo", "stimuli.detect_dlib"])
        chunk = max(1, min(8, len(labels) // (workers * 4)))
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(detector, job, True)) as pool:
            for outcome in pool.map(_work, labels, chunksize=chunk):
                yield outcome
                bar.update()
    finally:
        bar.close()


def default_workers(n_photos: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # a worker costs ~1 s of model loading; not worth it for a handful of photos
    return max(1, min(cpus, n_photos // 10))


def build(
    photos_dir: Path,
    labels_csv: Path,
    out_dir: Path,
    *,
    size: int = 512,
    margin: float = 0.25,
    skip_undetected: bool = False,
    detector: str = "dlib",
    mirrored_input: bool = False,
    with_mirrored: bool = False,
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> BuildSummary:
    """Build the stimulus set; raise StimulusError (or UndetectedFaces) on failure.

    ``with_mirrored`` also writes the left-right mirror image of every half-face
    (manifest ``mirror_copy=1``), so each half can be shown on either side of
    the image: the experiment's crossed design (poser's half x visual field).
    """
    photos_dir, labels_csv, out_dir = Path(photos_dir), Path(labels_csv), Path(out_dir)
    if not photos_dir.is_dir():
        raise StimulusError(f"{photos_dir}: photos folder not found")
    if size < 32:
        raise StimulusError(f"--size {size}: use at least 32 px (the paper's stimuli are frontal face crops)")
    if not 0 <= margin <= 2:
        raise StimulusError(f"--margin {margin}: use a fraction of the face size between 0 and 2 (default 0.25)")
    if detector not in DETECTORS:
        raise StimulusError(f"--detector {detector}: use one of {', '.join(DETECTORS)}")
    check_out_dir(out_dir)
    labels = read_label_file(labels_csv, photos_dir, mirrored_default=mirrored_input)
    if detector == "py-feat":
        from stimuli.detect_pyfeat import check_pyfeat_ready

        check_pyfeat_ready()  # fail before any work, not in a worker
        workers = 1
    workers = default_workers(len(labels)) if not workers else workers

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (tmp / STIMULUS_DIR).mkdir()
        (tmp / LANDMARK_DIR).mkdir()
        job = (photos_dir, tmp, size, margin, with_mirrored)
        done = list(_outcomes(labels, detector, job, workers, progress))
        for outcome in done:
            if outcome.note:
                log(outcome.note)
        failed = [(o.label.file, o.failure) for o in done if o.failure]
        good = [o for o in done if not o.failure]
        if failed and (not skip_undetected or not good):
            out_dir.mkdir(parents=True, exist_ok=True)
            write_table(out_dir / UNDETECTED_FILE, UNDETECTED_COLUMNS, [dict(file=f, reason=r) for f, r in failed])
            hint = "Replace or remove those photos, or pass --skip-undetected" if good else "Check the photos"
            raise UndetectedFaces(
                f"no face in {len(failed)} of {len(labels)} photos (first: {failed[0][0]}: {failed[0][1]}); "
                f"listed in {out_dir / UNDETECTED_FILE}; nothing else was written. {hint}"
            )
        rows = [row for o in good for row in o.rows]
        tiles = [t for o in good for t in o.tiles]
        write_table(tmp / "manifest.csv", MANIFEST_COLUMNS, rows)
        if failed:
            write_table(tmp / UNDETECTED_FILE, UNDETECTED_COLUMNS, [dict(file=f, reason=r) for f, r in failed])
        from stimuli.contact_sheet import write_contact_sheet

        write_contact_sheet(tmp / "contact_sheet.png", tiles)
        if out_dir.exists():
            shutil.rmtree(out_dir)  # check_out_dir allowed only an old undetected.csv here
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return BuildSummary(out_dir, len(good), len(rows), skipped=failed, notes=[o.note for o in good if o.note])
