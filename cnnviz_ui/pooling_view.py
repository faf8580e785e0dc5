"""Presentation helpers for the pooling page: inputs to choose from, the grids as shown, the formula as text."""
from __future__ import annotations

import inspect

import numpy as np
import streamlit as st

from cnnviz import pooling
from cnnviz_ui import visual

INPUTS = ("chapter", "random", "real")
INPUT_LABELS = {"chapter": "The chapter's 4×4 map", "random": "A random map", "real": "A real conv1 map (MNIST)"}


@st.cache_data(show_spinner=False, max_entries=64)
def real_feature_map(digit_index: int, channel: int):
    """(relu1 map of one channel [28, 28], label) of a test digit through the shipped model; None without MNIST."""
    from cnnviz.trace import trace
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
    values = pooling.padded(x, padding)
    pad_text = "-inf" if mode == "max" else "0"  # as the formula writes it (PoolStep.formula)
    text = np.vectorize(lambda v: pad_text if np.isnan(v) else visual.number(v), otypes=[object])(values)
    return values, text


def output_so_far(steps: list, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """The output grid with the first `upto` cells filled in and "?" for the rest."""
    values = pooling.output_grid(steps, upto)
    text = np.vectorize(lambda v: "?" if np.isnan(v) else visual.number(v), otypes=[object])(values)
    return values, text


def step_note(steps: list, n: int) -> str:
    """Where window n is, short enough to sit beside the stepper's buttons (markdown)."""
    step = steps[n - 1]
    return f"**Step {n}/{len(steps)}**: rows {step.rows[0]}:{step.rows[1]}, cols {step.cols[0]}:{step.cols[1]}"


ARROWS = (("←", 0, -1), ("↑", -1, 0), ("↓", 1, 0), ("→", 0, 1))  # (label, dy, dx)


def direction(dy: int, dx: int) -> str:
    """A shift in words: "1 px right", "2 px up and 1 px left", "not moved"."""
    parts = [f"{abs(n)} px {word}" for n, word in ((dy, "down" if dy > 0 else "up"),
                                                   (dx, "right" if dx > 0 else "left")) if n]
    return " and ".join(parts) if parts else "not moved"


def shift_summary(dy: int, dx: int, same: np.ndarray) -> str:
    """How many pooled values a shift left alone (markdown)."""
    if dy == 0 and dx == 0:
        return "Not moved yet: press an arrow."
    return f"Moved {direction(dy, dx)}: **{int(same.sum())} of {same.size}** pooled values unchanged."


def marked(values: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Each pooled value's text, with ✓ where the shift left it unchanged."""
    return np.vectorize(lambda v, s: f"{visual.number(v)} ✓" if s else visual.number(v), otypes=[object])(values, same)


def shifted_text(moved: np.ndarray, windows: list) -> np.ndarray:
    """The moved input's text: each window's old maximum marked where it now sits, ✓ when it stayed inside
    its window, ✗ when it crossed the window's edge."""
    text = np.vectorize(visual.number, otypes=[object])(moved)
    for w in windows:
        r, c = w.moved_to
        if 0 <= r < moved.shape[0] and 0 <= c < moved.shape[1]:
            text[r, c] = f"{text[r, c]} {'✗' if w.crossed else '✓'}"
    return text


def shift_lines(windows: list) -> str:
    """One markdown line per pooled value: before → after, and why (its maximum stayed, crossed an edge, or a
    larger value came in)."""
    lines = []
    for w in windows:
        mark = "✓" if w.same else "✗"
        lines.append(f"- {mark} window {w.out_pos}: {visual.number(w.before)} → {visual.number(w.after)}: {w.reason}")
    return "\n".join(lines)


def shift_text(dy: int, dx: int) -> str:
    """A shift as URL text: "dy,dx"."""
    return f"{dy},{dx}"


def shift_parser(limit: int):
    """A parser for links.restore: "dy,dx" with each part within ±limit."""
    def parse(text: str) -> tuple[int, int]:
        dy, dx = (int(part) for part in text.split(","))
        if max(abs(dy), abs(dx)) > limit:
            raise ValueError(f"a shift of ({dy}, {dx}) moves the map out of view")
        return dy, dx
    return parse


def size_formula(input_size: int, kernel_size: int, stride: int, padding: int) -> str:
    """The output-size formula with the user's numbers put in (markdown); raises ValueError when invalid."""
    out = pooling.output_size(input_size, kernel_size, stride, padding)
    return (f"O = ⌊(I + 2P − K) / S⌋ + 1 = ⌊({input_size} + 2·{padding} − {kernel_size}) / {stride}⌋ + 1 "
            f"= ⌊{input_size + 2 * padding - kernel_size} / {stride}⌋ + 1 = **{out}**")


def core_source() -> str:
    """The real source of the from-scratch pooling: the per-window computation and the loops over windows."""
    functions = [getattr(pooling, name, None) for name in ("_pool_cell", "pool_steps", "pool2d", "output_grid")]
    return "\n\n".join(inspect.getsource(f) for f in functions if f is not None)
