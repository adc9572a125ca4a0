"""recognition.augment: the three HSAW views, built on the device in batch."""
import math

import pytest
import torch
import torch.nn.functional as F

from recognition.augment import IMAGENET_MEAN, IMAGENET_STD, views

torch.set_num_threads(1)
MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def to255(x):
    """Undo the normalisation: [B,3,S,S] -> gray 0..255 [B,S,S] (checks the channels agree)."""
    g = (x * STD + MEAN) * 255.0
    assert torch.allclose(g[:, 0], g[:, 1], atol=1e-3) and torch.allclose(g[:, 0], g[:, 2], atol=1e-3)
    return g[:, 0]


def source_x(size, W):
    """Source pixel x of each output column's centre (align_corners=False resize)."""
    return (torch.arange(size) + 0.5) * W / size - 0.5


def random_faces(B=3, H=48, W=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, H, W), dtype=torch.uint8, generator=g)


def two_tone(B, nose_x, H=48, W=48, dark=100, bright=200):
    """A face whose image-left of the nose is `dark` and image-right `bright` (an edge at the nose)."""
    img = torch.full((B, H, W), dark, dtype=torch.uint8)
    img[:, :, math.ceil(nose_x):] = bright
    return img


def test_eval_views_have_shape_dtype_and_imagenet_normalisation():
    img = random_faces(B=2)
    nose = torch.tensor([[22.0, 25.0], [26.0, 24.0]])
    whole, left, right = views(img, nose, size=64, train=False)
    for v in (whole, left, right):
        assert v.shape == (2, 3, 64, 64) and v.dtype == torch.float32
    resized = F.interpolate(img[:, None].float() / 255, size=(64, 64), mode="bilinear", align_corners=False)
    expected = (resized - MEAN) / STD
    assert torch.allclose(whole, expected, atol=1e-5)


@pytest.mark.parametrize("nose_x", [20.3, 27.0])
def test_eval_left_view_is_white_exactly_on_the_image_left_of_the_nose(nose_x):
    img = random_faces(B=2, seed=1)
    nose = torch.tensor([[nose_x, 24.0]] * 2)
    whole, left, right = views(img, nose, size=64, train=False)
    resized = to255(whole)
    hidden = (source_x(64, 48) < nose_x).expand(2, 64, 64)
    assert 0 < hidden[0, 0].sum() < 64
    lv, rv = to255(left), to255(right)
    # poser's left half (image right) visible, the rest white
    assert torch.allclose(lv[hidden], torch.tensor(255.0), atol=1e-3)
    assert torch.allclose(lv[~hidden], resized[~hidden], atol=1e-3)
    # the mirror case
    assert torch.allclose(rv[~hidden], torch.tensor(255.0), atol=1e-3)
    assert torch.allclose(rv[hidden], resized[hidden], atol=1e-3)


def test_views_of_a_flipped_face_are_the_swapped_flipped_views():
    img = random_faces(B=2, seed=2)
    nose = torch.tensor([[20.3, 24.0], [26.7, 21.0]])
    flipped_nose = torch.stack([47.0 - nose[:, 0], nose[:, 1]], 1)
    got = views(img.flip(-1), flipped_nose, size=64, train=False)
    whole, left, right = views(img, nose, size=64, train=False)
    # mirroring moves the poser's left half to the image left: the mirrored face's left view is the mirrored
    # right view and vice versa (what a horizontal-flip augmentation would have to do)
    for g, w in zip(got, (whole.flip(-1), right.flip(-1), left.flip(-1))):
        assert torch.allclose(g, w, atol=1e-4)


def test_rotation_moves_the_split_with_the_face():
    B, nose_x = 16, 30.5  # off-centre nose: rotation about the image centre moves it
    img = two_tone(B, nose_x)
    nose = torch.tensor([[nose_x, 18.0]] * B)
    whole, left, right = views(img, nose, size=96, train=True, rotation=20.0, erase_p=0.0,
                               generator=torch.Generator().manual_seed(3))
    w, lv, rv = to255(whole), to255(left), to255(right)
    dark, bright, white = (w - 100).abs() < 0.5, (w - 200).abs() < 0.5, (w - 255).abs() < 0.5
    # the edge really is tilted in most samples (the rotation happened)
    edge_col = lambda row: (row > 150).float().argmax(-1)  # first bright column per row
    tilt = (edge_col(w[:, 8]) - edge_col(w[:, 88])).abs()
    assert (tilt >= 3).sum() >= B // 2
    # the split follows the tilted edge exactly: no dark pixel in the left view, no bright one in the right
    assert torch.allclose(lv[dark], torch.tensor(255.0), atol=1e-3)
    assert torch.allclose(lv[bright], w[bright], atol=1e-3)
    assert torch.allclose(rv[bright], torch.tensor(255.0), atol=1e-3)
    assert torch.allclose(rv[dark], w[dark], atol=1e-3)
    # corners rotated in from outside the frame are white in the whole face too
    assert white.any(dim=(1, 2)).sum() >= B // 2


def test_erasing_fills_the_same_region_in_all_three_views():
    B = 12
    img = torch.full((B, 48, 48), 128, dtype=torch.uint8)  # normalises to non-zero everywhere
    nose = torch.tensor([[23.5, 24.0]] * B)
    whole, left, right = views(img, nose, size=64, train=True, rotation=0.0, erase_p=1.0,
                               generator=torch.Generator().manual_seed(4))
    erased = (whole == 0).all(1)  # fill value 0 after normalisation, as torchvision
    frac = erased.float().mean(dim=(1, 2))
    assert (frac > 0).sum() >= B - 1  # p=1: erased unless none of the 10 tries fits
    assert frac.max() <= 0.40 and frac[frac > 0].min() >= 0.01
    hidden_left = (source_x(64, 48) < 23.5).expand(B, 64, 64)
    assert torch.equal((left == 0).all(1), erased & ~hidden_left)
    assert torch.equal((right == 0).all(1), erased & hidden_left)


def test_erasing_probability_is_respected():
    B = 400
    img = torch.full((B, 16, 16), 128, dtype=torch.uint8)
    nose = torch.full((B, 2), 7.5)
    whole, _, _ = views(img, nose, size=16, train=True, rotation=0.0, erase_p=0.5,
                        generator=torch.Generator().manual_seed(5))
    rate = (whole == 0).all(1).any(dim=(1, 2)).float().mean().item()
    assert 0.4 < rate < 0.6


def test_crop_mode_stretches_the_visible_half_to_the_full_frame():
    nose_x = 20.0
    grad = (torch.arange(48) * 5).to(torch.uint8).expand(1, 48, 48).clone()  # value = 5 * x
    nose = torch.tensor([[nose_x, 24.0]])
    whole, left, right = views(grad, nose, size=64, train=False, half_mode="crop")
    lv, rv = to255(left)[0, 32], to255(right)[0, 32]
    assert lv[0] == pytest.approx(5 * nose_x, abs=6) and lv[-1] == pytest.approx(5 * 47, abs=6)
    assert rv[0] == pytest.approx(0, abs=6) and rv[-1] == pytest.approx(5 * nose_x, abs=6)
    assert (lv.diff() >= -1e-3).all() and (rv.diff() >= -1e-3).all()
    assert torch.allclose(whole, views(grad, nose, size=64, train=False)[0])


def test_crop_mode_with_rotation_keeps_only_the_visible_half():
    B, nose_x = 8, 26.5
    img = two_tone(B, nose_x)
    _, left, right = views(img, torch.tensor([[nose_x, 24.0]] * B), size=64, train=True, half_mode="crop",
                           erase_p=0.0, generator=torch.Generator().manual_seed(6))
    lv, rv = to255(left), to255(right)
    assert ((lv - 100).abs() < 0.5).sum() == 0 and ((lv - 200).abs() < 0.5).float().mean() > 0.5
    assert ((rv - 200).abs() < 0.5).sum() == 0 and ((rv - 100).abs() < 0.5).float().mean() > 0.5


def test_same_generator_seed_gives_identical_views_and_another_seed_differs():
    img, nose = random_faces(B=4, seed=7), torch.full((4, 2), 24.0)
    run = lambda s: views(img, nose, size=48, train=True, generator=torch.Generator().manual_seed(s))
    a, b, c = run(11), run(11), run(12)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_downscaling_a_large_face_uses_an_antialiased_resize():
    img = random_faces(B=1, H=128, W=128, seed=8)
    whole, _, _ = views(img, torch.tensor([[64.0, 64.0]]), size=32, train=False)
    ref = F.interpolate(img[:, None].float() / 255, size=(32, 32), mode="bilinear",
                        align_corners=False, antialias=True)
    assert torch.allclose(whole, (ref - MEAN) / STD, atol=1e-4)


def test_views_never_read_values_back_to_the_host(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("host sync inside views()")
    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    img, nose = random_faces(B=2), torch.full((2, 2), 24.0)
    for mode in ("mask", "crop"):
        views(img, nose, size=32, train=True, half_mode=mode, generator=torch.Generator().manual_seed(0))


def test_bad_inputs_are_rejected_with_the_offending_shape():
    with pytest.raises(ValueError, match="uint8"):
        views(torch.zeros(2, 48, 48), torch.zeros(2, 2), size=32, train=False)
    with pytest.raises(ValueError, match=r"\[2,2\]"):
        views(torch.zeros(2, 48, 48, dtype=torch.uint8), torch.zeros(3, 2), size=32, train=False)
    with pytest.raises(ValueError, match="half_mode"):
        views(torch.zeros(2, 48, 48, dtype=torch.uint8), torch.zeros(2, 2), size=32, train=False, half_mode="x")


@pytest.mark.gpu
def test_views_on_cuda_run_without_a_host_sync():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    dev = torch.device("cuda")
    img = random_faces(B=8).to(dev)
    nose = torch.full((8, 2), 24.0, device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = views(img, nose, size=224, train=True, generator=gen)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    cpu = views(img.cpu(), nose.cpu(), size=224, train=False)
    gpu = views(img, nose, size=224, train=False)
    assert out[0].device.type == "cuda"
    assert torch.allclose(gpu[1].cpu(), cpu[1], atol=1e-4)
