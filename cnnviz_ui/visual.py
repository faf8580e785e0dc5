"""The app's one visual language: every chart and picture takes its colours and its numbers from here.

- SIGNED values (weights, kernels, products, logits, pre-activations, attributions with a sign) use one
  diverging scale centred on 0: **blue = negative, white = 0, red = positive**, everywhere.
- ACTIVATIONS and other non-negative magnitudes (feature maps after ReLU, pooled values, probabilities,
  counts, heat maps) use one sequential scale, viridis: dark = low, yellow = high.
- PIXELS (an input image) are grey: black = 0, white = 1, white ink on black as in MNIST.
- One HIGHLIGHT colour marks "the thing you picked": a window, a unit, a receptive field.
- Numbers are written by `number` (no "−0.00", a true minus sign, the same digits everywhere).

No Streamlit here: figure builders (Plotly) and picture builders (PIL) both read it.
"""
from __future__ import annotations

import math

import numpy as np

# Anchor colours (RGB); a scale is linear interpolation between its anchors.
DIVERGING_ANCHORS = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]
SEQUENTIAL_ANCHORS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
PIXEL_ANCHORS = [(0, 0, 0), (255, 255, 255)]

NEGATIVE_COLOR = "rgb(33,102,172)"   # the diverging scale's two ends, for text and bars that carry a sign
POSITIVE_COLOR = "rgb(178,24,43)"
HIGHLIGHT = "#ff00ff"                # magenta: what the student picked (window, unit, receptive field)
HIGHLIGHT_RGB = (255, 0, 255)
MINUS = "\u2212"


def _plotly_scale(anchors: list[tuple[int, int, int]]) -> list[list]:
    n = len(anchors) - 1
    return [[i / n, f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(anchors)]


DIVERGING = _plotly_scale(DIVERGING_ANCHORS)    # Plotly colorscale: signed values, symmetric range
SEQUENTIAL = _plotly_scale(SEQUENTIAL_ANCHORS)  # Plotly colorscale: activations, magnitudes, counts
PIXELS = _plotly_scale(PIXEL_ANCHORS)           # Plotly colorscale: input pixels
SCALES = {"diverging": DIVERGING, "sequential": SEQUENTIAL, "pixels": PIXELS}
ANCHORS = {"diverging": DIVERGING_ANCHORS, "sequential": SEQUENTIAL_ANCHORS, "pixels": PIXEL_ANCHORS}


def signed_range(values) -> tuple[float, float]:
    """A symmetric range (-m, m) around 0, so white always means 0 on the diverging scale."""
    a = np.asarray(values, dtype=float)
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return -max(m, 1e-6), max(m, 1e-6)


def scale_for(values) -> tuple[str, float, float]:
    """(scale name, vmin, vmax) for data: diverging and symmetric when anything is negative, sequential from
    0 otherwise. One rule, so the same kind of data gets the same colours on every page."""
    a = np.asarray(values, dtype=float)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0:
        return ("diverging", *signed_range(finite))
    return "sequential", min(lo, 0.0), max(hi, 1e-6)


def number(v: float, digits: int = 2) -> str:
    """One number as the app writes it: `digits` decimals, integers without decimals, a true minus sign,
    and never a negative zero (a value that rounds to 0 is written 0.00, not −0.00)."""
    v = float(v)
    if not math.isfinite(v):
        return "" if math.isnan(v) else ("∞" if v > 0 else f"{MINUS}∞")
    if v.is_integer() and abs(v) < 1e9:
        return f"{int(v)}".replace("-", MINUS)
    text = f"{v:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", MINUS)


def percent(p: float, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.9742 -> "97.4%"."""
    return f"{100 * float(p):.{digits}f}%"
