"""Effective receptive fields: the gradient of a centre unit lives inside its theoretical box."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnviz import checkpoint, effective_rf
from cnnviz.model import DigitCNN
from cnnviz.preprocess import preprocess
from cnnviz.receptive_field import unit_window
from cnnviz.sketch import draw_digit


@pytest.fixture(scope="module")
def digits():
    return np.stack([preprocess(draw_digit(d))[0] for d in (0, 1, 2, 3, 4, 7)])  # [6, 28, 28]


def support_box(gradient):
    ys, xs = np.nonzero(gradient)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def test_one_conv_layer_sees_exactly_its_kernel(digits):
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 5, padding=2)
    (field,) = effective_rf.effective_fields(nn.Sequential(conv), digits)
    assert field.unit == (14, 14) and field.box == (12, 17, 12, 17) and field.size == 5
    assert support_box(field.gradient) == field.box and np.count_nonzero(field.gradient) == 25
    kernel = conv.weight.detach()[0, 0].abs().double().numpy()  # d out / d pixel is the kernel's weight
    np.testing.assert_allclose(field.gradient[12:17, 12:17], kernel / kernel.max(), rtol=1e-5)


@pytest.mark.parametrize("trained", [True, False])
def test_the_gradient_stays_inside_the_theoretical_field(digits, trained):
    if trained:
        model = checkpoint.load(checkpoint.shipped_path("fc"))[0]
    else:
        torch.manual_seed(1)
        model = DigitCNN().eval()
    fields = effective_rf.effective_fields(model, digits)
    assert [f.layer for f in fields] == effective_rf.conv_layers(model) == ["conv1", "conv2"]
    for f in fields:
        y0, y1, x0, x1 = support_box(f.gradient)
        b0, b1, c0, c1 = f.box
        assert b0 <= y0 and y1 <= b1 and c0 <= x0 and x1 <= c1, (f.layer, f.box)
        assert f.box == unit_window(model, f.layer, *f.unit)
        assert f.gradient.max() == pytest.approx(1.0) and f.mass_inside() == pytest.approx(1.0)


def test_the_caller_s_model_is_untouched(digits):
    model = checkpoint.load(checkpoint.shipped_path("fc"))[0]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    effective_rf.effective_fields(model, digits)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks for m in model.modules()) and all(p.grad is None for p in model.parameters())


def test_bad_requests_say_what_to_change(digits):
    with pytest.raises(ValueError, match="Conv2d"):
        effective_rf.conv_layers(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))
    with pytest.raises(ValueError, match="choose from"):
        effective_rf.effective_fields(DigitCNN().eval(), digits, layers=["fc1"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        effective_rf.effective_fields(DigitCNN().eval(), digits * 255)


def test_fields_survive_saving_and_loading(digits, tmp_path):
    fields = {"trained": effective_rf.effective_fields(checkpoint.load(checkpoint.shipped_path("fc"))[0], digits)}
    loaded, meta = effective_rf.load_fields(effective_rf.save_fields(tmp_path / "f.safetensors", fields, {"n": 6}))
    assert meta == {"n": 6} and [f.layer for f in loaded["trained"]] == ["conv1", "conv2"]
    for a, b in zip(fields["trained"], loaded["trained"]):
        assert (a.unit, a.box, a.size) == (b.unit, b.box, b.size)
        np.testing.assert_allclose(a.gradient, b.gradient, atol=1e-3)  # float16


def test_the_shipped_fields_load_without_mnist():
    fields, meta = effective_rf.load_shipped_fields()
    assert set(fields) == {"initial", "trained"} and meta["digits"] > 0
    model = checkpoint.load(checkpoint.shipped_path("fc"))[0]
    for items in fields.values():
        assert [f.layer for f in items] == ["conv1", "conv2"]
        for f in items:
            assert f.box == unit_window(model, f.layer, *f.unit)
            assert f.mass_inside() == pytest.approx(1.0)
