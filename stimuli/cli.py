"""Command line: ``python -m stimuli build|demo`` (argparse; heavy imports are lazy)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from halfface.cli import EXIT_OK, print_commands, run_main

BUILD_EXAMPLE = """example:
  python -m stimuli build photos/ --labels photos/labels.csv --out stim/
  python -m stimuli build photos/ --labels labels.csv --out stim/ --size 400 --skip-undetected

LABELS.csv columns: file,emotion[,gender,identity,mirrored]
  emotion: happiness, fear, anger, disgust, sadness, surprise, others
  gender: female, male, unknown (or f/m, or empty)
  mirrored: 1 if the photo is a mirror image (selfie camera); empty = --mirrored-input
writes OUT_DIR/manifest.csv (a PsychoPy conditions file), stimuli/*.png,
landmarks/*.csv, contact_sheet.png; exit 1 if faces are missing (see undetected.csv).
"""

DEMO_EXAMPLE = """example:
  python -m stimuli demo demo/photos                       # 14 photos + labels.csv
  python -m stimuli build demo/photos --labels demo/photos/labels.csv --out demo/stimuli
  python -m stimuli demo demo/photos --build demo/stimuli  # both steps in one

The labels are FICTITIOUS (variants of one public-domain NASA portrait) and only
demonstrate the pipeline.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stimuli",
        description="Half-face stimuli from face photos (HSAW paper, Huang & Yang 2024): "
        "align, split at the nose tip, cover one half with white.",
        epilog="example:\n  python -m stimuli demo demo/photos --build demo/stimuli\n  python -m stimuli build PHOTOS --labels LABELS.csv --out OUT",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="make the stimulus set from labelled photos", epilog=BUILD_EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("photos_dir", type=Path, metavar="PHOTOS_DIR", help="folder with the photos")
    b.add_argument("--labels", type=Path, required=True, metavar="LABELS.csv", help="label file (see below)")
    b.add_argument("--out", type=Path, required=True, metavar="OUT_DIR", help="new or empty output folder")
    b.add_argument("--size", type=int, default=512, help="side of the square stimuli in px (default 512)")
    b.add_argument("--margin", type=float, default=0.25,
                   help="space around the landmarks, as a fraction of the face size per side (default 0.25)")
    b.add_argument("--skip-undetected", action="store_true",
                   help="build without photos where no face is found (they are listed in undetected.csv)")
    b.add_argument("--detector", choices=("dlib", "py-feat"), default="dlib",
                   help="landmark backend (default dlib; py-feat needs `pip install py-feat` and its models)")
    b.add_argument("--mirrored-input", action="store_true",
                   help="photos are mirror images: the poser's left half is on the image's left "
                   "(a 'mirrored' column in LABELS.csv overrides this per photo)")
    b.add_argument("--with-mirrored", action="store_true",
                   help="also write the mirror image of each half-face (mirror_copy=1), so each half can appear "
                   "on both image sides: the experiment's --design crossed")
    b.add_argument("--workers", type=int, default=0, help="processes (default: one per CPU for larger sets)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", help="write a demo photo set with FICTITIOUS labels", epilog=DEMO_EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("out_dir", type=Path, metavar="PHOTOS_DIR", help="new folder for the demo photos and labels.csv")
    d.add_argument("--photos-per-emotion", type=int, default=2, help="photos per emotion (default 2 -> 14 photos)")
    d.add_argument("--build", type=Path, metavar="OUT_DIR", help="then build the stimuli into OUT_DIR")
    d.add_argument("--size", type=int, default=512, help="side of the demo photos and stimuli in px (default 512)")
    d.add_argument("--practice", action="store_true",
                   help="write the 2 practice photos instead (other variants, never in the test set); the "
                   "shipped stimuli/demo_practice/ is built from them")
    return p


def _build(args, photos_dir, labels, out_dir) -> int:
    from stimuli.build import build  # UndetectedFaces: exit 1, the others: exit 2 (run_main)

    summary = build(
        photos_dir, labels, out_dir,
        size=args.size,
        margin=getattr(args, "margin", 0.25),
        skip_undetected=getattr(args, "skip_undetected", False),
        detector=getattr(args, "detector", "dlib"),
        mirrored_input=getattr(args, "mirrored_input", False),
        with_mirrored=getattr(args, "with_mirrored", False),
        workers=getattr(args, "workers", 0),
        progress=not getattr(args, "no_progress", False),
    )
    for file, reason in summary.skipped:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    print(f"{summary.n_stimuli} stimuli from {summary.n_photos} photos in {summary.out_dir}")
    print(f"  manifest:      {summary.out_dir / 'manifest.csv'}")
    print(f"  contact sheet: {summary.out_dir / 'contact_sheet.png'}")
    return EXIT_OK


@run_main(interrupted="interrupted; nothing was written to the output folder")
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # python -m stimuli: every command with an example
        return print_commands(_parser())
    args = _parser().parse_args(argv)
    if args.command == "build":
        return _build(args, args.photos_dir, args.labels, args.out)
    from stimuli.demo import write_demo

    labels = write_demo(args.out_dir, args.photos_per_emotion, size=args.size, practice=args.practice)
    print(f"demo photos: {labels.parent}  labels (FICTITIOUS, for the demo only): {labels}")
    if args.build is None:
        print(f"next: python -m stimuli build {labels.parent} --labels {labels} --out OUT_DIR")
        return EXIT_OK
    return _build(args, labels.parent, labels, args.build)
