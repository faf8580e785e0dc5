"""Attributions: each map checked against an oracle (autograd, the completeness axiom, the CAM of the GAP model,
occlusion worked out by hand), the caller's model left alone, and the randomisation used by the honesty check."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from cnnviz import checkpoint, explain
from cnnviz.cam import class_activation_map
from cnnviz.data import MEAN, STD
from cnnviz.preprocess import normalize_image28, preprocess
from cnnviz.sketch import draw_digit


@pytest.fixture(scope="module")
def fc_model():
    return checkpoint.load(checkpoint.shipped_path("fc"))[0]


@pytest.fixture(scope="module")
def gap_model():
    return checkpoint.load(checkpoint.shipped_path("gap"))[0]


@pytest.fixture(scope="module")
def three():
    return preprocess(draw_digit(3))[0]  # 28x28 in [0, 1]


def frozen(model):
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def test_integrated_gradients_add_up_to_the_logit_difference(fc_model, three):
    blank = np.zeros((28, 28))
    for target in range(10):
        ig = explain.integrated_gradients(fc_model, three, target, steps=256)
        gap = explain.logit(fc_model, three, target) - explain.logit(fc_model, blank, target)
        assert ig.shape == (28, 28) and ig.dtype == np.float64
        # within 1% of the difference; for a class whose logit barely moves (|gap| < 1), within 0.01 of a logit
        assert abs(ig.sum() - gap) <= 0.01 * max(abs(gap), 1.0), (target, ig.sum(), gap)


def test_integrated_gradients_from_another_baseline_add_up_too(fc_model, three):
    grey = np.full((28, 28), 0.5)
    ig = explain.integrated_gradients(fc_model, three, 3, baseline=grey, steps=256)
    gap = explain.logit(fc_model, three, 3) - explain.logit(fc_model, grey, 3)
    assert abs(ig.sum() - gap) <= 0.01 * abs(gap)


def test_saliency_is_the_absolute_gradient_of_the_logit_in_pixel_space(fc_model, three):
    x = torch.tensor(three, dtype=torch.float32)[None, None].requires_grad_()
    fc_model(((x - MEAN) / STD))[0, 3].backward()
    expected = x.grad[0, 0].numpy()
    np.testing.assert_allclose(explain.saliency(fc_model, three, 3), np.abs(expected), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(explain.saliency(fc_model, three, 3, absolute=False), expected, rtol=1e-5, atol=1e-7)


def test_grad_cam_of_the_gap_model_is_its_class_activation_map_up_to_scale(gap_model, three):
    for target in (None, 3, 0):
        ours = explain.grad_cam(gap_model, three, target)
        cam = class_activation_map(gap_model, normalize_image28(three), target)
        reference = F.interpolate(torch.relu(cam.cam)[None, None], size=(28, 28), mode="bilinear",
                                  align_corners=False)[0, 0].double().numpy()
        assert reference.max() > 0, "pick a class with some positive evidence"
        scale = ours.sum() / reference.sum()
        assert scale > 0
        np.testing.assert_allclose(ours, scale * reference, rtol=1e-4, atol=1e-6 * ours.max())


def test_grad_cam_is_non_negative_and_picture_sized(fc_model, three):
    cam = explain.grad_cam(fc_model, three, 3)
    assert cam.shape == (28, 28) and cam.min() >= 0 and cam.max() > 0


def test_grad_cam_finds_the_last_conv_block_of_any_small_model(three):
    torch.manual_seed(0)
    model = frozen(nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 28 * 28, 10)))
    assert explain.spatial_layers(model) == ["0", "1"]
    cam = explain.grad_cam(model, three, 2)
    np.testing.assert_allclose(cam, explain.grad_cam(model, three, 2, layer=model[1]))
    assert cam.shape == (28, 28) and cam.min() >= 0


def test_grad_cam_refuses_a_model_without_convolutions(three):
    with pytest.raises(ValueError, match="Conv2d"):
        explain.grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), three, 1)


def linear_scorer() -> nn.Module:
    """logit_0 = sum of the normalised pixels, logit_1 = 0: occlusion of a window removes its pixels / STD."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0] = 1.0
        model[1].bias.zero_()
    return frozen(model)


# Each logit of linear_scorer sums 784 normalised pixels of about -0.42 (about -333). float32 rounds such a sum to
# ~3e-5 per step, and the occluded batch and the original may be summed in different orders by the CPU's kernels:
# on an Intel Xeon VM the two differed by 1.04e-3 (earlier machines stayed within the old bound, 1e-4). Against
# 1 / STD = 3.25 that is still far from 0.
SUM_ROUNDING = 5e-3


def test_occlusion_of_one_bright_pixel_worked_out_by_hand():
    image = np.zeros((28, 28))
    image[10, 10] = 1.0
    side_by_side = explain.occlusion(linear_scorer(), image, 0, window=4, stride=4)
    expected = np.zeros((28, 28))
    expected[8:12, 8:12] = 1 / STD  # the one window holding the pixel loses its value / STD; the others nothing
    np.testing.assert_allclose(side_by_side, expected, atol=SUM_ROUNDING)

    overlapping = explain.occlusion(linear_scorer(), image, 0, window=4, stride=2)
    # (10, 10): all 4 windows covering it (rows and columns starting at 8 or 10) hold the bright pixel
    assert overlapping[10, 10] == pytest.approx(1 / STD, abs=SUM_ROUNDING)
    # (8, 8): rows start 6 or 8, columns too; only the window at (8, 8) holds the pixel: 1 in 4
    assert overlapping[8, 8] == pytest.approx(1 / (4 * STD), abs=SUM_ROUNDING)
    # (8, 10): 1 of 2 row starts and 2 of 2 column starts: half the windows
    assert overlapping[8, 10] == pytest.approx(1 / (2 * STD), abs=SUM_ROUNDING)
    assert abs(overlapping[0, 0]) < SUM_ROUNDING and abs(overlapping[20, 20]) < SUM_ROUNDING


def test_no_function_changes_the_callers_model(fc_model, three):
    model = frozen(checkpoint.load(checkpoint.shipped_path("fc"))[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for attribute in (explain.saliency, explain.integrated_gradients, explain.grad_cam, explain.occlusion):
        attribute(model, three, 3)
    explain.randomized(model, seed=1)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_a_model_in_training_mode_is_explained_in_eval_mode_and_left_in_training_mode(three):
    model = checkpoint.load(checkpoint.shipped_path("fc"))[0].train()
    first = explain.saliency(model, three, 3)
    np.testing.assert_array_equal(first, explain.saliency(model, three, 3))  # no dropout draws
    assert model.training


def test_bad_inputs_say_what_to_change(fc_model, three):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        explain.saliency(fc_model, normalize_image28(three), 3)
    with pytest.raises(ValueError, match="class index"):
        explain.saliency(fc_model, three, 10)
    with pytest.raises(ValueError, match="shape"):
        explain.saliency(fc_model, np.zeros((2, 28, 28)), 1)
    with pytest.raises(ValueError, match="window"):
        explain.occlusion(fc_model, three, 1, window=30)
    with pytest.raises(ValueError, match="no layer named"):
        explain.grad_cam(fc_model, three, 1, layer="conv9")


def weights(model, name):
    return [p.detach().clone() for p in dict(model.named_modules())[name].parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_cascading_randomisation_goes_from_the_top_layer_down(fc_model):
    layers = explain.randomizable_layers(fc_model)
    assert layers == ["fc2", "fc1", "conv2", "conv1"]
    for depth in range(len(layers) + 1):
        twin = explain.randomized(fc_model, seed=3, depth=depth)
        for i, name in enumerate(layers):
            changed = not same(weights(twin, name), weights(fc_model, name))
            assert changed == (i < depth), (depth, name)
    everything = explain.randomized(fc_model, seed=3)
    assert all(not same(weights(everything, n), weights(fc_model, n)) for n in layers)


def test_independent_randomisation_changes_one_layer_or_all(fc_model):
    layers = explain.randomizable_layers(fc_model)
    twin = explain.randomized(fc_model, seed=3, mode="independent", depth=2)
    assert [not same(weights(twin, n), weights(fc_model, n)) for n in layers] == [False, True, False, False]
    twin = explain.randomized(fc_model, seed=3, mode="independent")
    assert all(not same(weights(twin, n), weights(fc_model, n)) for n in layers)


def test_randomisation_is_seeded_and_leaves_the_original_alone(fc_model):
    before = {k: v.clone() for k, v in fc_model.state_dict().items()}
    a, b, c = (explain.randomized(fc_model, seed=s) for s in (5, 5, 6))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.state_dict()["fc2.weight"], c.state_dict()["fc2.weight"])
    assert all(torch.equal(before[k], v) for k, v in fc_model.state_dict().items())
    with pytest.raises(ValueError, match="mode"):
        explain.randomized(fc_model, mode="sideways")
    with pytest.raises(ValueError, match="depth"):
        explain.randomized(fc_model, depth=5)


def test_randomising_the_weights_changes_the_gradient_maps(fc_model, three):
    original = explain.saliency(fc_model, three, 3)
    scrambled = explain.saliency(explain.randomized(fc_model, seed=0), three, 3)
    assert explain.rank_correlation(original, original) == pytest.approx(1.0)
    assert explain.rank_correlation(original, scrambled) < 0.9


def test_rank_correlation_is_spearmans_of_the_absolute_values():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(28, 28)), rng.normal(size=(28, 28))
    b[:5] = a[:5] * 3
    a[20:] = 0  # many ties: they share the mean rank, as SciPy's do
    assert explain.rank_correlation(a, b) == pytest.approx(spearmanr(np.abs(a).ravel(), np.abs(b).ravel())[0])
    assert explain.rank_correlation(a, b, absolute=False) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0])
    assert explain.rank_correlation(a, -a, absolute=False) == pytest.approx(-1.0)
    assert np.isnan(explain.rank_correlation(np.zeros(9), a.ravel()[:9]))


def test_the_honesty_check_compares_each_map_on_the_same_class(fc_model, three):
    untouched = explain.honesty_check(fc_model, three, depth=0)
    assert [r.method for r in untouched] == list(explain.ATTRIBUTIONS)
    for row in untouched:  # nothing randomised: the same maps, correlation 1
        np.testing.assert_array_equal(row.original, row.randomized)
        assert row.correlation == pytest.approx(1.0)
    top = explain.honesty_check(fc_model, three, target=3, depth=1, methods=("saliency",))
    twin = explain.randomized(fc_model, seed=0, depth=1)
    np.testing.assert_allclose(top[0].randomized, explain.saliency(twin, three, 3))
    assert top[0].correlation == pytest.approx(explain.rank_correlation(top[0].original, top[0].randomized))
    with pytest.raises(ValueError, match="unknown methods"):
        explain.honesty_check(fc_model, three, methods=("lime",))


def test_every_map_works_on_other_designs(three):
    """Three blocks with batch norm, average pooling, a strided conv and a GAP head: found by introspection."""
    from cnnviz.model import ConvBlock, DigitCNN, ModelConfig

    design = ModelConfig(blocks=(ConvBlock(8, batch_norm=True), ConvBlock(8, kernel_size=5, pool="avg"),
                                 ConvBlock(16, stride=2, pool="none")), head="gap", hidden=())
    torch.manual_seed(0)
    model = frozen(DigitCNN(design))
    assert explain.spatial_layers(model)[-1] == "relu3"
    assert explain.randomizable_layers(model) == ["fc", "conv3", "conv2", "bn1", "conv1"]
    for name, attribute in explain.ATTRIBUTIONS.items():
        result = attribute(model, three, 3)
        assert result.shape == (28, 28) and np.isfinite(result).all(), name
