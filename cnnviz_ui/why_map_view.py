"""Pictures and charts for the second half of the "Why this answer?" page: the network's 2-D map of digits,
a digit's fate through training, and effective receptive fields over their theoretical boxes.

Data in, figure or picture out (no Streamlit here); colours from visual.py: labels CATEGORICAL (with a second
marker shape once the seven colours run out), the student's digit and the theoretical box in HIGHLIGHT.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from cnnviz_ui import visual
from cnnviz_ui.explain_view import attribution_image, marker_line

SYMBOLS = ("circle", "diamond", "x")  # label d: colour CATEGORICAL[d % 7], shape SYMBOLS[d // 7]


def label_style(label: int) -> tuple[str, str]:
    """(colour, marker symbol) of digit `label` on the map: ten digits, seven colours, so 7-9 change shape."""
    n = len(visual.CATEGORICAL)
    return visual.CATEGORICAL[int(label) % n], SYMBOLS[(int(label) // n) % len(SYMBOLS)]


def digit_map_figure(coords: np.ndarray, labels: np.ndarray, placed=None, neighbours: np.ndarray | None = None,
                     height: int = 460, title: str = "") -> go.Figure:
    """The mapped digits [N, 2] coloured by label [N] (each label written at its cluster's median), the student's
    digit `placed` (x, y) as a HIGHLIGHT star, and its nearest digits (`neighbours`: row indices) ringed."""
    coords, labels = np.asarray(coords, dtype=float), np.asarray(labels, dtype=int)
    fig = go.Figure()
    for d in np.unique(labels):
        color, symbol = label_style(d)
        mine = coords[labels == d]                                                  # [n_d, 2]
        fig.add_trace(go.Scattergl(x=mine[:, 0], y=mine[:, 1], mode="markers", name=str(d),
                                   marker=dict(color=color, symbol=symbol, size=4, opacity=0.55),
                                   hovertemplate=f"a {d}<extra></extra>"))
    centres = [np.median(coords[labels == d], axis=0) for d in np.unique(labels)]
    fig.add_trace(go.Scattergl(x=[c[0] for c in centres], y=[c[1] for c in centres], mode="text", showlegend=False,
                               text=[str(d) for d in np.unique(labels)], hoverinfo="skip",
                               textfont=dict(size=22, color=visual.TEXT)))
    if neighbours is not None and len(neighbours):
        ring = coords[np.asarray(neighbours, dtype=int)]                            # [k, 2]
        fig.add_trace(go.Scattergl(x=ring[:, 0], y=ring[:, 1], mode="markers", name="nearest digits",
                                 marker=dict(symbol="circle-open", size=12, color=visual.HIGHLIGHT,
                                             line=dict(width=2, color=visual.HIGHLIGHT)),
                                 hovertemplate="one of the nearest<extra></extra>"))
    if placed is not None:
        fig.add_trace(go.Scattergl(x=[float(placed[0])], y=[float(placed[1])], mode="markers", name="your digit",
                                 marker=dict(symbol="star", size=22, color=visual.HIGHLIGHT,
                                             line=dict(width=1.5, color=visual.TEXT)),
                                 hovertemplate="your digit<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title or None,
                      legend=dict(orientation="h", y=-0.12, itemsizing="constant"),
                      xaxis=dict(title=dict(text="first direction"), showticklabels=False, zeroline=False),
                      yaxis=dict(title=dict(text="second direction"), showticklabels=False, zeroline=False,
                                 scaleanchor="x"))
    return fig


def training_figure(steps, probability, accuracy, chosen: int, answer: int, height: int = 240) -> go.Figure:
    """Through training (x: the snapshots, labelled by their step): the digit's probability of `answer` (the
    trained network's answer) and the snapshot's accuracy on its evaluation digits; `chosen` marked."""
    x = list(range(len(steps)))
    fig = go.Figure(go.Scatter(x=x, y=100 * np.asarray(probability, dtype=float), mode="lines+markers",
                               name=f"your digit: probability of {answer}",
                               line=dict(color=visual.CATEGORICAL[4], width=3)))
    if accuracy is not None and all(a is not None for a in accuracy):
        fig.add_trace(go.Scatter(x=x, y=100 * np.asarray(accuracy, dtype=float), mode="lines+markers",
                                 name="accuracy on test digits", line=dict(color=visual.CATEGORICAL[0], width=2,
                                                                            dash="dash")))
    every = max(1, len(steps) // 8)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.35),
                      shapes=[marker_line(chosen, visual.HIGHLIGHT)],
                      xaxis=dict(title=dict(text="training step (snapshots are closer together early on)"),
                                 tickvals=x[::every], ticktext=[f"{s:,}" for s in list(steps)[::every]]),
                      yaxis=dict(title=dict(text="%"), range=[0, 101]))
    return fig


def field_window(box: tuple, image_size: int = 28, least: int = 12, margin: int = 3) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the part of the image worth showing around a theoretical box, `margin` pixels beyond it
    on each side and at least `least` pixels wide, kept inside the image."""
    y0, y1, x0, x1 = (int(v) for v in box)
    side = min(image_size, max(least, y1 - y0 + 2 * margin, x1 - x0 + 2 * margin))
    top = min(max(0, (y0 + y1 - side) // 2), image_size - side)
    left = min(max(0, (x0 + x1 - side) // 2), image_size - side)
    return top, top + side, left, left + side


def effective_field_image(gradient: np.ndarray, box: tuple, size: int = 140, font_size: int = 11) -> Image.Image:
    """An effective receptive field [H, W] (sequential: 0 to its largest value) around its theoretical box
    (y0, y1, x0, x1, half-open pixels; outlined in HIGHLIGHT): only the window `field_window` keeps, enlarged."""
    gradient = np.abs(np.asarray(gradient, dtype=np.float32))
    wy0, wy1, wx0, wx1 = field_window(box, gradient.shape[0])
    window = gradient[wy0:wy1, wx0:wx1]                                             # [side, side]
    img = attribution_image(window, None, size, font_size)
    zoom = max(1, size // max(window.shape))
    y0, y1, x0, x1 = (int(v) for v in box)
    y0, y1, x0, x1 = max(y0, wy0) - wy0, min(y1, wy1) - wy0, max(x0, wx0) - wx0, min(x1, wx1) - wx0
    ImageDraw.Draw(img).rectangle([x0 * zoom, y0 * zoom, x1 * zoom - 1, y1 * zoom - 1], outline=visual.HIGHLIGHT_RGB,
                                  width=2)
    return img
