"""``python -m recognition``: list the sub-commands of the HSAW recognition package, each with an example."""
import sys

from halfface.cli import UserError, run_main

# (command, what it does, an example); each runs as python -m recognition.<command> [--help]
COMMANDS = (
    ("train", "train HSAW (baseline/attention/relabel/hsaw) or a plain alexnet/resnet18 (--arch, --half)",
     "python -m recognition.train --dataset synthetic --data n=512,size=48 --image-size 64 --epochs 3 "
     "--out runs/demo"),
    ("table2", "the paper's Table 2 on a lab's stimuli (left vs right half, k-fold CV) or Table 3 on FER2013",
     "python -m recognition.table2 --data OUT/manifest.csv --arch alexnet,resnet18 --folds 10 --seeds 5 "
     "--out runs/t2"),
    ("evaluate", "accuracy, per-class accuracy, macro-F1, confusion matrix and mean w_left/w_right",
     "python -m recognition.evaluate runs/demo/checkpoint_best.pt --dataset synthetic --data n=256,size=48"),
    ("export", "ONNX file of a checkpoint, checked against PyTorch with onnxruntime",
     "python -m recognition.export runs/demo/checkpoint_best.pt --onnx hsaw.onnx"),
    ("predict", "emotion probabilities and half-face weights for face images",
     "python -m recognition.predict runs/hsaw/checkpoint_best.pt photo1.jpg photo2.png"),
    ("landmarks", "compute the dlib nose-tip midlines of a dataset once (CPU, needs dlib)",
     "python -m recognition.landmarks --dataset fer2013 --data data/fer2013.csv --workers 2"),
    ("bench", "faces/s of a naive training baseline vs. our GPU training step",
     "python -m recognition.bench --steps 50 --json out/bench.json"),
    ("model", "print the parameter counts of the variants", "python -m recognition.model"),
)


@run_main
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in ("-h", "--help"):
        raise UserError(f"python -m recognition {argv[0]}: a command runs as python -m recognition.<command> (a "
                        "dot, not a space); python -m recognition lists them")
    print("HSAW half-face expression recognition (Huang & Yang, Applied Sciences 2024)\n")
    print("usage: python -m recognition.<command> [--help]\n")
    width = max(len(name) for name, _, _ in COMMANDS)
    for name, text, example in COMMANDS:
        print(f"  {name:{width}s}  {text}\n  {'':{width}s}  example: {example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
