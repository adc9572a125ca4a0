"""Run a module as on a bare torch machine: the optional libraries cannot be imported.

    python tests/recognition/blocked_imports.py recognition.train --dataset synthetic ...

Wraps every ``sys.meta_path`` finder so that the blocked top-level packages are not found (as if they were not
installed), then runs the module like ``python -m``. PIL stays: torchvision itself needs it.
"""
import importlib.abc
import runpy
import sys

BLOCKED = {"pandas", "matplotlib", "tqdm", "tensorboard", "tensorboardX", "dlib", "cv2", "scipy", "sklearn",
           "skimage", "stimuli", "experiment", "analysis", "psychopy", "pingouin", "statsmodels", "onnx",
           "onnxruntime", "onnxscript", "face_recognition_models"}


class Hidden(importlib.abc.MetaPathFinder):
    """Wraps one of the interpreter's finders and does not see the blocked packages: ``import pandas`` raises
    ModuleNotFoundError and ``importlib.util.find_spec("pandas")`` is None, exactly as when not installed."""

    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        find = getattr(self.inner, "find_spec", None)
        return find(name, path, target) if find else None

    def invalidate_caches(self):
        if hasattr(self.inner, "invalidate_caches"):
            self.inner.invalidate_caches()


if __name__ == "__main__":
    assert not BLOCKED & {m.split(".")[0] for m in sys.modules}, "a blocked module was imported before the blocker"
    sys.meta_path[:] = [Hidden(f) for f in sys.meta_path]
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
