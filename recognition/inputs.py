"""The model inputs of a batch, as a run's config says: which views, what size, which half.

One function shared by training, evaluation, prediction and export, so a checkpoint always sees the
inputs it was trained on.
"""
from __future__ import annotations

from recognition.augment import views


def input_views(images_u8, nose_xy, config: dict, *, train: bool, generator=None, premasked=None):
    """(whole, left, right) for ``model(whole, left, right)``; left/right are None for one-view models.

    - HSAW variants ``attention``/``relabel``/``hsaw``: the three views (§4.1).
    - ``--half left|right`` (Tables 2–3): that half view alone, the other half white — unless the images are
      already half-faces (a lab's stimuli, ``premasked``), which are used as they are.
    - otherwise (plain AlexNet/ResNet18, HSAW ``baseline``): the whole face.
    ``premasked`` overrides the config's (predict feeds photos to a model trained on stimuli).
    """
    whole, left, right = views(
        images_u8, nose_xy, size=int(config["image_size"]), train=train, half_mode=config.get("half_mode", "mask"),
        rotation=float(config.get("rotation", 20.0)), erase_p=float(config.get("erase_p", 0.5)),
        mean=tuple(config["mean"]), std=tuple(config["std"]), generator=generator)
    half = config.get("half")
    premasked = config.get("premasked", False) if premasked is None else premasked
    if half and not premasked:
        return (left if half == "left" else right), None, None
    if config.get("arch", "hsaw") != "hsaw" or half or config.get("variant") == "baseline":
        return whole, None, None
    return whole, left, right
