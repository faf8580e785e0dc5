"""Activation functions and their derivatives, written out (NumPy), and the gradient through a stack of them."""
from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01  # Leaky ReLU's slope for x < 0: max(0.01x, x)


def relu(x):
    return np.maximum(0.0, x)


def relu_derivative(x):
    """0 for x < 0, 1 for x > 0; at exactly 0 we use 0, as PyTorch's autograd does."""
    return (np.asarray(x) > 0).astype(float)


def tanh(x):
    return np.tanh(x)


def tanh_derivative(x):
    return 1.0 - np.tanh(x) ** 2


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow for very negative x


def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def leaky_relu(x, slope: float = LEAKY_SLOPE):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, slope * x)


def leaky_relu_derivative(x, slope: float = LEAKY_SLOPE):
    return np.where(np.asarray(x) > 0, 1.0, slope)


# name -> (f, f', the formula of f, the formula of f')
FUNCTIONS = {
    "relu": (relu, relu_derivative, "max(0, x)", "0 if x < 0, else 1"),
    "tanh": (tanh, tanh_derivative, "(eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", "1 − tanh(x)²"),
    "sigmoid": (sigmoid, sigmoid_derivative, "1 / (1 + e⁻ˣ)", "σ(x) · (1 − σ(x))"),
    "leaky_relu": (leaky_relu, leaky_relu_derivative, f"max({LEAKY_SLOPE}x, x)", f"{LEAKY_SLOPE} if x < 0, else 1"),
}


def _lookup(name: str):
    if name not in FUNCTIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(FUNCTIONS)}")
    return FUNCTIONS[name]


def value(name: str, x) -> np.ndarray:
    """f(x) for the named activation, elementwise."""
    return np.asarray(_lookup(name)[0](np.asarray(x, dtype=float)), dtype=float)


def derivative(name: str, x) -> np.ndarray:
    """f'(x) for the named activation, elementwise."""
    return np.asarray(_lookup(name)[1](np.asarray(x, dtype=float)), dtype=float)


def gradient_through_stack(name: str, n: int, x) -> np.ndarray:
    """The backward signal after 1..n layers: the running product of f'(x_l) (chain rule, weights left at 1).

    `x` is the pre-activation at every layer (a number) or one per layer (a sequence of length n).
    Returns n + 1 values: index 0 is the gradient arriving from the loss (1), index l after l layers.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"the stack needs at least one layer (n >= 1), got n={n}")
    n = int(n)
    xs = np.broadcast_to(np.asarray(x, dtype=float), (n,)) if np.ndim(x) == 0 else np.asarray(x, dtype=float)
    if xs.shape != (n,):
        raise ValueError(f"give one pre-activation per layer: expected {n} values, got shape {xs.shape}")
    return np.concatenate([[1.0], np.cumprod(derivative(name, xs))])
