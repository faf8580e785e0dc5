"""Presentation helpers for the pooling page: inputs to choose from, displayed grids, the PyTorch check."""
from __future__ import annotations

import inspect

import numpy as np
import streamlit as st

from cnnviz import pooling

INPUTS = ("chapter", "random", "real")
INPUT_LABELS = {"chapter": "The chapter's 4×4 map", "random": "A random map", "real": "A real conv1 map (MNIST)"}


def random_map(size: int, seed: int) -> np.ndarray:
    """A size x size map of small integers (easy to check by eye)."""
    return np.random.default_rng(seed).integers(0, 10, size=(size, size)).astype(float)


@st.cache_data(show_spinner=False, max_entries=64)
def real_feature_map(digit_index: int, channel: int):
    """(relu1 map of one channel [28, 28], label) of a test digit through the shipped model; None without MNIST."""
    from cnnviz.activations import trace
    from cnnviz_ui.digits import test_digit
    from cnnviz_ui.models import shipped_model

    digit = test_digit(digit_index)
    if digit is None:
        return None
    image, _, label = digit
    model = shipped_model("fc").model
    maps = trace(model, image)["relu1"]  # [1, 16, 28, 28]: conv1 after its ReLU, what pool1 receives
    return np.round(maps[0, channel].numpy().astype(float), 2), label


def padded_input(x: np.ndarray, padding: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The input with its padding border: values (NaN in the border) and the text each cell shows."""
    values = np.pad(np.asarray(x, dtype=float), padding, constant_values=np.nan)
    pad_text = "-inf" if mode == "max" else "0"
    text = np.vectorize(lambda v: pad_text if np.isnan(v) else _num(v))(values)
    return values, text


def output_so_far(steps: list, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """The output grid with the first `upto` cells filled in and "?" for the rest."""
    h = max(s.out_pos[0] for s in steps) + 1
    w = max(s.out_pos[1] for s in steps) + 1
    values = np.full((h, w), np.nan)
    for step in steps[:upto]:
        values[step.out_pos] = step.result
    text = np.vectorize(lambda v: "?" if np.isnan(v) else _num(v))(values)
    return values, text


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def size_formula(input_size: int, kernel_size: int, stride: int, padding: int) -> str:
    """The output-size formula with the user's numbers put in (markdown); raises ValueError when invalid."""
    out = pooling.output_size(input_size, kernel_size, stride, padding)
    return (f"O = ⌊(I + 2P − K) / S⌋ + 1 = ⌊({input_size} + 2·{padding} − {kernel_size}) / {stride}⌋ + 1 "
            f"= ⌊{input_size + 2 * padding - kernel_size} / {stride}⌋ + 1 = **{out}**")


def torch_check(x: np.ndarray, kernel_size: int, stride: int, padding: int, mode: str) -> tuple[np.ndarray, float]:
    """PyTorch's nn.MaxPool2d / nn.AvgPool2d on the same input, and the largest difference from ours."""
    import torch
    from torch import nn

    layer = (nn.MaxPool2d if mode == "max" else nn.AvgPool2d)(kernel_size, stride, padding)
    theirs = layer(torch.as_tensor(x, dtype=torch.float64)[None, None])[0, 0].numpy()  # [H_out, W_out]
    ours = pooling.pool2d(x, kernel_size, stride, padding, mode)
    return theirs, float(np.max(np.abs(theirs - ours)))


def pooled_shape(shape: tuple[int, int, int, int], kernel_size: int, stride: int, padding: int) -> tuple:
    """[N, C, H, W] after pooling: only the two spatial sides change."""
    n, c, h, w = shape
    return n, c, pooling.output_size(h, kernel_size, stride, padding), pooling.output_size(w, kernel_size, stride,
                                                                                              padding)


def core_source() -> str:
    """The real source of the from-scratch pooling: the per-window computation and the loops over windows."""
    functions = [getattr(pooling, name, None) for name in ("_pool_cell", "pool_steps", "pool2d")]
    return "\n\n".join(inspect.getsource(f) for f in functions if f is not None)
