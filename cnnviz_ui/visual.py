"""The app's one visual language: every chart and picture takes its colours and its numbers from here.

- SIGNED values (weights, kernels, products, logits, pre-activations, attributions with a sign) use one
  diverging scale centred on 0: **blue = negative, white = 0, red = positive**, everywhere.
- ACTIVATIONS and other non-negative magnitudes (feature maps after ReLU, pooled values, probabilities,
  counts, heat maps) use one sequential scale, viridis: dark = low, yellow = high.
- PIXELS (an input image) are grey: black = 0, white = 1, white ink on black as in MNIST.
- One HIGHLIGHT colour marks "the thing you picked": a window, a unit, a receptive field.
- Things that are merely *different* (layer kinds, activation functions, curves, boxes) take CATEGORICAL
  colours (Okabe-Ito, readable by colour-blind students, on white and on black); neutral greys for chrome.
- Numbers are written by `number` (no "−0.00", a true minus sign, the same digits everywhere).

No Streamlit here: figure builders (Plotly) and picture builders (PIL) both read it.
"""
from __future__ import annotations

import html
import math
from functools import lru_cache

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

# Categorical colours: one per *kind* of thing, no order and no sign (Okabe & Ito's colour-blind-safe set).
CATEGORICAL = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"]
KIND_COLORS = {  # one colour per kind of layer, shared by every chart that shows layers
    "Input": "#7f7f7f", "Conv2d": CATEGORICAL[4], "ReLU": CATEGORICAL[0], "Tanh": CATEGORICAL[0],
    "Sigmoid": CATEGORICAL[0], "LeakyReLU": CATEGORICAL[0], "MaxPool2d": CATEGORICAL[2],
    "AvgPool2d": CATEGORICAL[2], "AdaptiveAvgPool2d": CATEGORICAL[2], "Flatten": "#8c8c8c",
    "Linear": CATEGORICAL[6], "Dropout": CATEGORICAL[1],
}
MAGNITUDE_COLOR = "rgb(33,145,140)"  # one plain bar or curve of a non-negative quantity: the sequential middle
# Neutral greys for the chrome around data (not data colours themselves).
BLANK = "#e9ecf1"    # an empty cell (padding, not computed yet)
GRIDLINE = "#eeeeee"
MUTED = "#888888"    # secondary lines and text: arrows, guides, connectors
TEXT = "#282828"
TEXT_RGB = (40, 40, 40)
BACKGROUND_RGB = (255, 255, 255)


def _plotly_scale(anchors: list[tuple[int, int, int]]) -> list[list]:
    n = len(anchors) - 1
    return [[i / n, f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(anchors)]


DIVERGING = _plotly_scale(DIVERGING_ANCHORS)    # Plotly colorscale: signed values, symmetric range
SEQUENTIAL = _plotly_scale(SEQUENTIAL_ANCHORS)  # Plotly colorscale: activations, magnitudes, counts
PIXELS = _plotly_scale(PIXEL_ANCHORS)           # Plotly colorscale: input pixels
SCALES = {"diverging": DIVERGING, "sequential": SEQUENTIAL, "pixels": PIXELS}
ANCHORS = {"diverging": DIVERGING_ANCHORS, "sequential": SEQUENTIAL_ANCHORS, "pixels": PIXEL_ANCHORS}


@lru_cache(maxsize=8)
def lut(scale: str) -> np.ndarray:
    """The named scale as 256 RGB colours [256, 3] uint8 (PIL pictures and HTML read this, Plotly the list)."""
    if scale not in ANCHORS:
        raise ValueError(f"unknown colour scale {scale!r}: use one of {sorted(ANCHORS)}")
    anchors = np.array(ANCHORS[scale], dtype=np.float32)  # [A, 3]
    t = np.linspace(0, len(anchors) - 1, 256)
    lo = np.floor(t).astype(int).clip(0, len(anchors) - 2)
    frac = (t - lo)[:, None]
    table = np.rint(anchors[lo] * (1 - frac) + anchors[lo + 1] * frac).astype(np.uint8)  # [256, 3]
    table.flags.writeable = False  # shared by every caller (cached)
    return table


def colorize(values, vmin: float, vmax: float, scale: str = "sequential") -> np.ndarray:
    """Array [..] -> RGB uint8 [.., 3] through the named scale (values outside [vmin, vmax] are clipped)."""
    idx = np.clip((np.asarray(values, dtype=np.float32) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    return lut(scale)[np.rint(idx * 255).astype(np.uint8)]


def css_color(value: float, vmin: float, vmax: float, scale: str) -> str:
    """One value's colour as CSS "rgb(r,g,b)", e.g. for a cell of an HTML table."""
    r, g, b = (int(c) for c in colorize(np.array(value), vmin, vmax, scale))
    return f"rgb({r},{g},{b})"


def with_alpha(color: str, alpha: float) -> str:
    """A colour of this module ("#rrggbb" or "rgb(r,g,b)") as "rgba(r,g,b,alpha)": a light fill of it."""
    if color.startswith("#"):
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3])
    return f"rgba({r},{g},{b},{alpha:g})"


def ink_for(rgb) -> str:
    """Black or white text, whichever reads better on a cell of colour `rgb` (a 3-tuple)."""
    r, g, b = (float(c) for c in rgb)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def cell_css(value: float, vmin: float, vmax: float, scale: str) -> str:
    """CSS for one cell of an HTML number grid: its scale colour as background, readable ink on it."""
    r, g, b = (int(c) for c in colorize(np.array(value), vmin, vmax, scale))
    return f"background:rgb({r},{g},{b});color:{ink_for((r, g, b))}"


def waterfall_colors() -> dict:
    """go.Waterfall keyword arguments: a step up is positive (red), a step down negative (blue), totals grey."""
    return dict(increasing=dict(marker_color=POSITIVE_COLOR), decreasing=dict(marker_color=NEGATIVE_COLOR),
                totals=dict(marker_color=MUTED))


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


def scale_range(values, scale: str | None = None) -> tuple[str, float, float]:
    """(scale name, vmin, vmax) for data on a named scale, or chosen by `scale_for` when `scale` is None.
    Diverging is always symmetric about 0; pixels span [0, 1]; sequential starts at 0 (or below, if needed)."""
    if scale is None:
        return scale_for(values)
    if scale not in ANCHORS:
        raise ValueError(f"unknown colour scale {scale!r}: use one of {sorted(ANCHORS)}")
    if scale == "diverging":
        return ("diverging", *signed_range(values))
    a = np.asarray(values, dtype=float)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if scale == "pixels":
        return "pixels", min(lo, 0.0), max(hi, 1.0)
    return "sequential", min(lo, 0.0), max(hi, min(lo, 0.0) + 1e-6)


def colorbar(vmin: float, vmax: float, scale: str, title: str = "", thickness: int = 8,
             orientation: str = "v") -> dict:
    """A slim Plotly colour bar (the grid's legend): ticks at the ends (and at 0 on a diverging scale),
    written by `number`. orientation "v": on the right; "h": under the plot, where a small grid in a narrow
    column has room to spare (a bar on the right would take its width)."""
    ticks = [vmin, 0.0, vmax] if scale == "diverging" else [vmin, vmax]
    digits = 2 if max(abs(vmin), abs(vmax)) < 100 else 0
    bar = dict(thickness=thickness, len=0.8, lenmode="fraction", outlinewidth=0, tickvals=ticks,
               ticktext=[number(t, digits) for t in ticks], ticks="",
               title=dict(text=title, side="right" if orientation == "v" else "top") if title else None)
    if orientation == "h":
        return dict(bar, orientation="h", x=0.5, xanchor="center", y=-0.04, yanchor="top", ypad=0)
    return dict(bar, xpad=2)


def heatmap_range(values, scale: str | None = None, zrange=None) -> tuple[str, float, float]:
    """(scale name, vmin, vmax) a heatmap of `values` is coloured with (`scale_range`; `zrange` overrides the
    range, a diverging one made symmetric about 0; never an empty range)."""
    name, lo, hi = scale_range(values if zrange is None else np.asarray(zrange, dtype=float), scale)
    if name == "diverging":
        lo, hi = signed_range([lo, hi])
    return name, lo, (hi if hi > lo else lo + 1.0)


def scale_stops(scale: str) -> list[str]:
    """Five CSS colours along the named scale, low to high: a colour bar's gradient."""
    return [f"rgb({r},{g},{b})" for r, g, b in (lut(scale)[i] for i in (0, 64, 128, 192, 255))]


def heatmap_colors(values, scale: str | None = None, zrange=None, title: str = "", legend: bool = True,
                   orientation: str = "v") -> dict:
    """Keyword arguments for a go.Heatmap (or a marker) that colour `values` in the visual language:
    colorscale, zmin, zmax, and the colour bar as legend (showscale, colorbar; see `colorbar`). `zrange`
    overrides the range (a diverging one is made symmetric about 0)."""
    name, lo, hi = heatmap_range(values, scale, zrange)
    kwargs = dict(colorscale=SCALES[name], zmin=lo, zmax=hi, showscale=legend)
    if legend:
        kwargs["colorbar"] = colorbar(lo, hi, name, title, orientation=orientation)
    return kwargs


def legend_html(vmin: float, vmax: float, scale: str) -> str:
    """A small inline colour bar (CSS gradient) with its end values, for a title line in st.markdown."""
    if scale == "viridis":  # the older name of the sequential scale
        scale = "sequential"
    stops = ", ".join(scale_stops(scale))
    bar = (f"<span style='display:inline-block;width:90px;height:0.8em;vertical-align:middle;"
           f"background:linear-gradient(to right, {stops});border-radius:2px'></span>")
    return (f"<span class='cnnviz-legend' data-scale='{html.escape(scale)}' style='font-size:0.85em;"
            f"white-space:nowrap'>{number(vmin)} {bar} {number(vmax)}</span>")


# Pillow's bundled font (what pictures are drawn with, on any machine) has no glyph for these: it would draw a box.
_PICTURE_SAFE = str.maketrans({MINUS: "-", "\u2013": "-", "\u2014": "-", "\u00d7": "x"})


def picture_text(text: str) -> str:
    """Text as a PIL picture can draw it with Pillow's bundled font: the true minus (and × and dashes) written
    with ASCII, which that font has (the same number, never a box)."""
    return str(text).translate(_PICTURE_SAFE)
