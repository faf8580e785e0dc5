"""Activation functions and their derivatives, with PyTorch's autograd as the oracle."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz import activation_functions as af

TORCH = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda t: F.leaky_relu(t, af.LEAKY_SLOPE),
}
XS = np.concatenate([np.linspace(-30, 30, 301), [-1e-3, 1e-3, 0.5, 5.0]])


@pytest.mark.parametrize("name", sorted(TORCH))
def test_values_match_pytorch(name):
    expected = TORCH[name](torch.tensor(XS, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(af.value(name, XS), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_derivatives_match_autograd(name):
    x = torch.tensor(XS, dtype=torch.float64, requires_grad=True)
    TORCH[name](x).sum().backward()
    np.testing.assert_allclose(af.derivative(name, XS), x.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_derivatives_at_five_are_the_chapters():
    assert af.derivative("sigmoid", 5.0) == pytest.approx(0.0066, abs=5e-5)
    assert af.derivative("tanh", 5.0) == pytest.approx(0.00018, abs=5e-6)
    assert af.derivative("relu", 5.0) == 1.0


def test_relu_derivative_at_zero_is_zero_like_autograd():
    assert af.derivative("relu", 0.0) == 0.0


def test_sigmoid_does_not_overflow_for_very_negative_inputs():
    with np.errstate(over="raise"):
        assert af.value("sigmoid", -1000.0) == 0.0


def test_gradient_through_stack_is_the_running_product_of_derivatives():
    out = af.gradient_through_stack("sigmoid", 3, 0.0)
    np.testing.assert_allclose(out, [1.0, 0.25, 0.0625, 0.015625])


def test_gradient_through_ten_tanh_layers_matches_autograd_through_a_chain():
    x0 = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    # ten tanh layers, each fed the same pre-activation 2 (a chain x -> tanh(x - tanh(x) + 2) ...)
    y, h = x0, x0
    for _ in range(10):
        h = torch.tanh(h - h.detach() + 2.0)
        y = h
    y.backward()
    assert af.gradient_through_stack("tanh", 10, 2.0)[-1] == pytest.approx(x0.grad.item(), rel=1e-10)


def test_gradient_through_stack_accepts_one_pre_activation_per_layer():
    out = af.gradient_through_stack("relu", 3, [1.0, -1.0, 2.0])
    assert out.tolist() == [1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("n, x", [(0, 1.0), (2.5, 1.0), (3, [1.0, 2.0])])
def test_gradient_through_stack_rejects_bad_sizes(n, x):
    with pytest.raises(ValueError):
        af.gradient_through_stack("tanh", n, x)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of"):
        af.derivative("swish", 1.0)
