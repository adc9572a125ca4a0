"""Dataset loaders read the real on-disk layouts (generated here, never FER2013 itself) and name bad input."""
import numpy as np
import pytest
import torch
from PIL import Image

from recognition.data import FER2013_CLASSES, DataError, MissingSplitError, load_faceset, synthetic_faceset
from recognition.splits import grouped_stratified_folds, stratified_holdout


def _pixels(seed, n=48 * 48):
    return np.random.default_rng(seed).integers(0, 256, n).astype(np.uint8)


def _write_csv(path, rows, header="emotion,pixels,Usage"):
    lines = [header] + [f'{e},"{" ".join(map(str, px))}",{u}' if not isinstance(px, str) else f'{e},"{px}",{u}'
                        for e, px, u in rows]
    path.write_text("\n".join(lines) + "\n")


def test_fer2013_csv_splits_follow_usage_and_keep_pixels_and_labels(tmp_path):
    rows = [(3, _pixels(0), "Training"), (6, _pixels(1), "PublicTest"), (0, _pixels(2), "Training"),
            (5, _pixels(3), "PrivateTest")]
    _write_csv(tmp_path / "fer2013.csv", rows)
    train = load_faceset("fer2013", tmp_path / "fer2013.csv", "train")
    assert train.images.dtype == torch.uint8 and tuple(train.images.shape) == (2, 48, 48)
    assert train.labels.tolist() == [3, 0]
    np.testing.assert_array_equal(train.images[1].numpy().ravel(), _pixels(2))
    val = load_faceset("fer2013", tmp_path, "val")  # a folder holding fer2013.csv works too
    assert val.labels.tolist() == [6] and val.class_names == FER2013_CLASSES
    assert load_faceset("fer2013", tmp_path, "test").labels.tolist() == [5]


def test_icml_face_data_csv_with_spaced_column_names_is_read(tmp_path):
    lines = ["emotion, Usage, pixels", f'2,Training,"{" ".join(map(str, _pixels(4)))}"']
    (tmp_path / "icml_face_data.csv").write_text("\n".join(lines) + "\n")
    fs = load_faceset("fer2013", tmp_path, "train")
    assert fs.labels.tolist() == [2]
    np.testing.assert_array_equal(fs.images[0].numpy().ravel(), _pixels(4))


@pytest.mark.parametrize("pixels,message", [
    (" ".join(["7"] * 2303), r"row 3: pixels has 2303 values, expected 2304"),
    (" ".join(["7"] * 2303 + ["x"]), r"row 3: pixel value 'x' is not an integer"),
    (" ".join(["7"] * 2303 + ["256"]), r"row 3: pixel value 256 is outside 0–255"),
])
def test_bad_pixel_strings_name_the_row_and_value(tmp_path, pixels, message):
    _write_csv(tmp_path / "f.csv", [(0, _pixels(0), "Training"), (1, pixels, "Training")])
    with pytest.raises(DataError, match=message):
        load_faceset("fer2013", tmp_path / "f.csv", "train")


def test_unknown_usage_and_bad_emotion_name_the_row(tmp_path):
    _write_csv(tmp_path / "u.csv", [(0, _pixels(0), "Training"), (1, _pixels(1), "Validation")])
    with pytest.raises(DataError, match=r"row 3: unknown Usage 'Validation'"):
        load_faceset("fer2013", tmp_path / "u.csv", "train")
    _write_csv(tmp_path / "e.csv", [(9, _pixels(0), "Training")])
    with pytest.raises(DataError, match=r"row 2: emotion '9' is not an integer 0–6"):
        load_faceset("fer2013", tmp_path / "e.csv", "train")
    _write_csv(tmp_path / "c.csv", [(0, _pixels(0), "Training")], header="label,pixels,Usage")
    with pytest.raises(DataError, match="missing column"):
        load_faceset("fer2013", tmp_path / "c.csv", "train")


def test_missing_split_is_its_own_error(tmp_path):
    _write_csv(tmp_path / "fer2013.csv", [(0, _pixels(0), "Training")])
    with pytest.raises(MissingSplitError, match="Usage=PublicTest"):
        load_faceset("fer2013", tmp_path, "val")


def _png(path, seed, size=48):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_pixels(seed, size * size).reshape(size, size)).save(path)


def test_fer2013_kaggle_folders_map_class_names_and_public_private_test(tmp_path):
    _png(tmp_path / "train" / "happy" / "Training_1.png", 0)
    _png(tmp_path / "train" / "angry" / "Training_2.png", 1)
    _png(tmp_path / "test" / "neutral" / "PublicTest_3.png", 2)
    _png(tmp_path / "test" / "sad" / "PrivateTest_4.png", 3)
    train = load_faceset("fer2013", tmp_path, "train")
    assert sorted(train.labels.tolist()) == [0, 3]  # angry=0, happy=3 in FER2013's own order
    val = load_faceset("fer2013", tmp_path, "val")
    assert val.labels.tolist() == [6]
    np.testing.assert_array_equal(val.images[0].numpy().ravel(), _pixels(2))
    assert load_faceset("fer2013", tmp_path, "test").labels.tolist() == [4]


def test_kaggle_test_folder_without_prefixes_is_never_used_to_select_models(tmp_path, capsys):
    for k in range(14):  # a Kaggle re-export whose test/ files lack the PublicTest_/PrivateTest_ prefixes
        _png(tmp_path / "train" / FER2013_CLASSES[k % 2] / f"im{k}.png", k)
    for k in range(4):
        _png(tmp_path / "test" / FER2013_CLASSES[k % 2] / f"im{k}.png", 100 + k)
    with pytest.raises(MissingSplitError, match="no PublicTest_\\* files, so test/ is the test set"):
        load_faceset("fer2013", tmp_path, "val")
    assert len(load_faceset("fer2013", tmp_path, "test")) == 4
    from .conftest import train_main
    out = tmp_path / "run"
    assert train_main(["--dataset", "fer2013", "--data", str(tmp_path), "--midline", "center", "--arch",
                       "resnet18", "--image-size", "48", "--epochs", "1", "--batch-size", "8", "--no-compile",
                       "--val-fraction", "0.3", "--device", "cpu", "--out", str(out)]) == 0
    import json
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["val_source"].startswith("stratified 30% of train") and "test set" in cfg["val_source"]
    assert "(PublicTest)" not in cfg["val_source"]  # the old log claimed PublicTest for the test images
    assert json.loads((out / "summary.json").read_text())["n_evaluated"] == 4  # 2 of each class's 7: held out


def test_a_val_split_identical_to_the_test_split_stops_the_run(tmp_path, capsys):
    for split in ("train", "val", "test"):
        for k in range(4):
            _png(tmp_path / split / ("a" if k % 2 else "b") / f"{k}.png", k if split != "train" else 50 + k)
    from .conftest import train_main
    assert train_main(["--dataset", "folder", "--data", str(tmp_path), "--midline", "center", "--arch",
                       "resnet18", "--image-size", "48", "--epochs", "1", "--no-compile", "--device", "cpu",
                       "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "val and test splits hold the same 4 images" in err


def test_colour_folders_keep_rgb_with_channels_3(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    (tmp_path / "a").mkdir()
    Image.fromarray(rgb).save(tmp_path / "a" / "x.png")
    fs = load_faceset("folder", tmp_path, "train", channels=3)
    assert tuple(fs.images.shape) == (1, 3, 24, 24) and fs.channels == 3
    np.testing.assert_array_equal(fs.images[0].numpy(), rgb.transpose(2, 0, 1))
    gray = load_faceset("folder", tmp_path, "train")
    assert tuple(gray.images.shape) == (1, 24, 24)
    with pytest.raises(DataError, match="FER2013 is grayscale"):
        load_faceset("fer2013", tmp_path, "train", channels=3)


def test_fer2013_folder_with_unknown_class_is_refused(tmp_path):
    _png(tmp_path / "train" / "contempt" / "a.png", 0)
    with pytest.raises(DataError, match="contempt.*unknown FER2013 class"):
        load_faceset("fer2013", tmp_path, "train")


def test_plain_class_folders_and_empty_class_folder(tmp_path):
    _png(tmp_path / "b_sad" / "x.png", 0, size=40)
    _png(tmp_path / "a_happy" / "y.png", 1, size=40)
    _png(tmp_path / "a_happy" / "z.jpg", 2, size=40)
    fs = load_faceset("folder", tmp_path, "train")
    assert fs.class_names == ["a_happy", "b_sad"] and fs.labels.tolist() == [0, 0, 1]
    assert tuple(fs.images.shape) == (3, 40, 40)
    (tmp_path / "c_empty").mkdir()
    with pytest.raises(DataError, match="c_empty: class folder has no images"):
        load_faceset("folder", tmp_path, "train")


def test_folder_images_of_different_sizes_are_refused_by_name(tmp_path):
    _png(tmp_path / "a" / "x.png", 0, size=40)
    _png(tmp_path / "a" / "y.png", 0, size=48)
    with pytest.raises(DataError, match=r"y.png: size \(48, 48\) differs"):
        load_faceset("folder", tmp_path, "train")


def test_rafdb_basic_layout_reads_aligned_images_and_shifts_labels(tmp_path):
    for name, seed in (("train_00001", 0), ("train_00002", 1), ("test_0001", 2)):
        path = tmp_path / "Image" / "aligned" / f"{name}_aligned.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((100, 100, 3), 40 * (seed + 1), np.uint8)).save(path)
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text(
        "train_00001.jpg 4\ntrain_00002.jpg 7\ntest_0001.jpg 1\n")
    train = load_faceset("rafdb", tmp_path, "train")
    assert train.labels.tolist() == [3, 6] and train.class_names[3] == "happiness"
    assert tuple(train.images.shape) == (2, 100, 100)
    assert abs(int(train.images[1].float().mean()) - 80) <= 2  # gray of (80,80,80), jpeg-rounded
    with pytest.raises(MissingSplitError):
        load_faceset("rafdb", tmp_path, "val")
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text("train_00001.jpg 8\n")
    with pytest.raises(DataError, match="line 1"):
        load_faceset("rafdb", tmp_path, "train")


def test_synthetic_faces_are_deterministic_balanced_and_split_dependent():
    a, b = synthetic_faceset(n=28, size=48, classes=7, seed=2), synthetic_faceset(n=28, size=48, classes=7, seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.labels.bincount().tolist() == [4] * 7
    assert not torch.equal(a.images, synthetic_faceset(n=28, size=48, classes=7, seed=2, split="val").images)
    assert torch.allclose(a.nose_xy, torch.full((28, 2), 24.0))
    # class signal sits on one image side: even classes left of the nose, odd classes right of it
    left_bright = a.images[:, :, :24].float().mean((1, 2)) > a.images[:, :, 24:].float().mean((1, 2))
    assert torch.equal(left_bright, a.labels % 2 == 0)


def test_stratified_folds_partition_every_sample_once_with_balanced_classes():
    labels = torch.tensor([0] * 10 + [1] * 20 + [2] * 5)
    folds = grouped_stratified_folds(labels, np.arange(35), 5, seed=1)
    together = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(together, np.arange(35))
    for f in folds:
        counts = np.bincount(labels.numpy()[f], minlength=3)
        assert counts[0] == 2 and counts[1] == 4 and counts[2] == 1
    tr, va = stratified_holdout(labels, 0.2, seed=0)
    assert np.bincount(labels.numpy()[va]).tolist() == [2, 4, 1] and len(np.intersect1d(tr, va)) == 0
