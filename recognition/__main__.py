"""``python -m recognition``: list the sub-commands of the HSAW recognition package."""
import sys

COMMANDS = (
    ("train", "train HSAW (baseline/attention/relabel/hsaw) or a plain alexnet/resnet18 (--arch, --half)"),
    ("table2", "the paper's Table 2 on a lab's stimuli (left vs right half, k-fold CV) or Table 3 on FER2013"),
    ("evaluate", "accuracy, per-class accuracy, macro-F1, confusion matrix and mean w_left/w_right"),
    ("export", "ONNX file of a checkpoint, checked against PyTorch with onnxruntime"),
    ("predict", "emotion probabilities and half-face weights for face images"),
    ("landmarks", "compute the dlib nose-tip midlines of a dataset once (CPU, needs dlib)"),
    ("bench", "faces/s of a naive training baseline vs. our GPU training step"),
    ("model", "print the parameter counts of the variants"),
)


def main() -> int:
    print("HSAW half-face expression recognition (Huang & Yang, Applied Sciences 2024)\n")
    print("usage: python -m recognition.<command> [--help]\n")
    for name, text in COMMANDS:
        print(f"  {name:10s} {text}")
    print("\nexample: python -m recognition.train --dataset synthetic --data n=512,size=48 --image-size 64 "
          "--epochs 3 --out runs/demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
