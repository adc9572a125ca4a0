"""``python -m recognition``: list the sub-commands of the HSAW recognition package."""
import sys

COMMANDS = (
    ("train", "train HSAW or an ablation variant (baseline/attention/relabel/hsaw, --half left|right)"),
    ("evaluate", "accuracy, per-class accuracy, confusion matrix and mean w_left/w_right of a checkpoint"),
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
