"""HSAW network (§4): shapes at every stage, the loss formula, the re-labeling rule, variants, parameter counts."""
import pytest
import torch
import torch.nn.functional as F
from torchvision.models import resnet18

from recognition.model import (HSAW, V_DIM, ModelConfig, build_model, count_parameters, describe_parameters,
                               hsaw_loss, reduce_conv_geometry, relabel, trunk_side)

RESNET18_TRUNK = 11_176_512  # torchvision resnet18 without its fc (512·1000 + 1000)


def test_paper_224px_stages_are_512x7x7_then_8x56x56_then_1x11x11_then_121():
    model = build_model({"variant": "hsaw", "image_size": 224})
    with torch.no_grad():
        st = model.backbones[0].stages(torch.randn(1, 3, 224, 224))
    assert tuple(st["trunk"].shape) == (1, 512, 7, 7)
    assert tuple(st["subpixel"].shape) == (1, 8, 56, 56)
    assert tuple(st["v_map"].shape) == (1, 1, 11, 11)
    assert tuple(st["v"].shape) == (1, 121)
    assert (model.backbones[0].reduce.kernel_size, model.backbones[0].reduce.stride) == ((16, 16), (4, 4))


@pytest.mark.parametrize("size,m,k,s", [(224, 7, 16, 4), (112, 4, 12, 2), (64, 2, 6, 1), (48, 2, 6, 1)])
def test_reduced_sizes_keep_v_121_dimensional(size, m, k, s):
    assert trunk_side(size) == m
    assert reduce_conv_geometry(size) == (k, s)
    if size == 224:
        return  # covered above; keep CPU time small
    model = build_model({"variant": "hsaw", "image_size": size, "num_classes": 5})
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        st = model.backbones[0].stages(x)
        out = model(x, x, x)
    assert tuple(st["trunk"].shape) == (2, 512, m, m)
    assert tuple(st["subpixel"].shape) == (2, 8, 8 * m, 8 * m)
    assert tuple(st["v"].shape) == (2, V_DIM)
    assert tuple(out["logits"].shape) == (2, 5) and tuple(out["w_left"].shape) == (2,)


def test_too_small_image_size_is_refused_with_the_minimum():
    with pytest.raises(ValueError, match="at least 33"):
        reduce_conv_geometry(32)


def test_fusion_output_is_weighted_half_predictions_plus_whole_prediction():
    torch.manual_seed(0)
    model = build_model({"variant": "hsaw", "image_size": 48, "num_classes": 3}).eval()
    w, l, r = (torch.randn(2, 3, 48, 48) for _ in range(3))
    with torch.no_grad():
        out = model(w, l, r)
        bb, fc, att = model.backbones[0], model.fusion.fc, model.attention.fc
        v = bb(torch.cat([w, l, r])).chunk(3)
        wl, wr = torch.sigmoid(att(v[1]))[:, 0], torch.sigmoid(att(v[2]))[:, 0]
        p_aux = wl[:, None] * fc(v[1]) + wr[:, None] * fc(v[2])
    torch.testing.assert_close(out["w_left"], wl)
    torch.testing.assert_close(out["p_all"], fc(v[0]))
    torch.testing.assert_close(out["p_aux"], p_aux)
    torch.testing.assert_close(out["logits"], p_aux + fc(v[0]))


def test_loss_matches_hand_computation_on_fixed_tensors():
    out = {"logits": torch.tensor([[2.0, 0.0], [0.0, 1.0]]),
           "p_all": torch.tensor([[1.0, 0.0], [0.0, 0.0]]),
           "p_aux": torch.tensor([[1.0, 0.0], [0.0, 3.0]]),
           "w_left": torch.tensor([0.5, 0.9]), "w_right": torch.tensor([0.5, 0.7])}
    y = torch.tensor([0, 0])
    # L_w: w sums 1.0 and 1.6 -> smoothL1 residuals 0 and 0.6 (|d|<1: 0.5 d²) -> mean (0 + 0.18)/2 = 0.09
    l_w = 0.09
    # L_F: residuals 0,0 | 0,-3 -> 0, 0, 0, (3 - 0.5) = 2.5 -> mean 2.5/4 = 0.625
    l_f = 0.625
    # L_C: row 0: -log(e²/(e²+1)); row 1: -log(1/(1+e))
    import math
    l_c = (math.log(1 + math.exp(-2.0)) + math.log(1 + math.e)) / 2
    got = hsaw_loss(out, y, alpha=3, beta=1, gamma=2)
    assert got["l_w"].item() == pytest.approx(l_w, abs=1e-6)
    assert got["l_f"].item() == pytest.approx(l_f, abs=1e-6)
    assert got["l_c"].item() == pytest.approx(l_c, abs=1e-6)
    assert got["loss"].item() == pytest.approx(3 * l_w + 1 * l_f + 2 * l_c, abs=1e-6)


def test_loss_without_attention_is_gamma_times_cross_entropy():
    logits = torch.tensor([[0.3, -1.0, 2.0]])
    got = hsaw_loss({"logits": logits, "p_all": logits, "p_aux": None, "w_left": None, "w_right": None},
                    torch.tensor([1]), gamma=2)
    assert got["loss"].item() == pytest.approx(2 * F.cross_entropy(logits, torch.tensor([1])).item(), abs=1e-6)
    assert got["l_w"].item() == 0 and got["l_f"].item() == 0


def test_relabel_changes_only_when_whole_and_half_predictions_agree_against_the_label():
    one_hot = lambda idx, n=4: F.one_hot(torch.tensor(idx), n).float()  # noqa: E731
    labels = torch.tensor([0, 0, 0, 2, 1])
    p_all = one_hot([1, 1, 0, 3, 2])
    p_aux = one_hot([1, 2, 0, 3, 2])
    logits = p_all + p_aux
    new, changed = relabel(labels, logits, p_all, p_aux)
    # 0: both say 1 ≠ 0 -> 1; 1: disagree -> keep; 2: both agree with label -> keep; 3: both 3 -> 3; 4: both 2 -> 2
    assert new.tolist() == [1, 0, 0, 3, 2]
    assert changed.tolist() == [True, False, False, True, True]
    assert labels.tolist() == [0, 0, 0, 2, 1]  # pure: input untouched


def test_relabel_keeps_label_when_fused_prediction_already_matches_it():
    labels = torch.tensor([1])
    p_all = torch.tensor([[0.0, 0.9, 1.0]])  # argmax 2
    p_aux = torch.tensor([[0.0, 2.0, 1.0 + 1e-3]])  # argmax 1 -> disagree anyway
    new, changed = relabel(labels, p_all + p_aux, p_all, p_aux)
    assert new.tolist() == [1] and not changed.any()
    p_aux = torch.tensor([[0.0, 0.5, 0.6]])  # agree on 2, but P = (0, 1.4, 1.6) -> argmax 2 ≠ 1 -> relabel
    new, changed = relabel(labels, p_all + p_aux, p_all, p_aux)
    assert new.tolist() == [2] and changed.all()


def test_baseline_has_no_attention_parameters_and_ignores_half_views():
    base = build_model({"variant": "baseline", "image_size": 48})
    assert base.attention is None
    assert not [n for n, _ in base.named_parameters() if "attention" in n]
    hs = build_model({"variant": "hsaw", "image_size": 48})
    assert count_parameters(hs) - count_parameters(base) == V_DIM + 1  # the §4.3 FC 121→1
    with torch.no_grad():
        out = base.eval()(torch.randn(1, 3, 48, 48), None, None)
    assert out["p_aux"] is None and out["w_left"] is None


def test_relabel_variant_scores_halves_with_equal_weights_and_no_extra_parameters():
    torch.manual_seed(1)
    m = build_model({"variant": "relabel", "image_size": 48}).eval()
    w, l, r = (torch.randn(1, 3, 48, 48) for _ in range(3))
    with torch.no_grad():
        out = m(w, l, r)
        v = m.backbones[0](torch.cat([w, l, r])).chunk(3)
    torch.testing.assert_close(out["p_aux"], 0.5 * (m.fusion.fc(v[1]) + m.fusion.fc(v[2])))
    torch.testing.assert_close(out["logits"], out["p_all"])
    assert count_parameters(m) == count_parameters(build_model({"variant": "baseline", "image_size": 48}))


def test_parameter_counts_of_shared_and_separate_backbones():
    counts = describe_parameters(image_size=224, num_classes=7)
    head = (8 * 16 * 16 + 1) + (121 * 7 + 7)  # reduce conv + shared FC
    assert counts["baseline"] == RESNET18_TRUNK + head
    assert counts["hsaw"] == RESNET18_TRUNK + head + 122
    assert counts["hsaw (separate backbones)"] == 3 * (RESNET18_TRUNK + 8 * 16 * 16 + 1) + 121 * 7 + 7 + 122


def test_separate_backbones_give_each_view_its_own_trunk():
    m = HSAW(ModelConfig(variant="hsaw", image_size=48, shared_backbone=False))
    assert len(m.backbones) == 3
    assert m.backbones[0].trunk[0].weight.data_ptr() != m.backbones[1].trunk[0].weight.data_ptr()


def test_torchvision_resnet18_weights_load_into_the_trunk():
    torch.manual_seed(5)
    ref = resnet18(weights=None)
    m = build_model({"variant": "hsaw", "image_size": 48})
    m.backbones[0].load_torchvision_resnet18(ref.state_dict())
    torch.testing.assert_close(m.backbones[0].trunk[0].weight, ref.conv1.weight)
    torch.testing.assert_close(m.backbones[0].trunk[7][1].bn2.running_var, ref.layer4[1].bn2.running_var)
    with pytest.raises(ValueError, match="not a torchvision ResNet18"):
        m.backbones[0].load_torchvision_resnet18({"layer1.9.weight": torch.zeros(1)})


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown variant"):
        build_model({"variant": "hsa"})
