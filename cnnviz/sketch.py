"""Digits drawn the way people draw them: a few pen strokes on a canvas, at any size and place.

Used as the built-in example digit when MNIST is not on disk, and by the tests and the benchmark
to check that a digit drawn small in a corner is read like a centred one.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw


def _ellipse(n: int = 24) -> list[tuple[float, float]]:
    return [(0.5 + 0.42 * math.sin(a), 0.5 - 0.48 * math.cos(a)) for a in np.linspace(0, 2 * math.pi, n)]


# Each digit: strokes (pen down ... pen up) of (x, y) points in a unit box, x right, y down.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse()],
    1: [[(0.35, 0.15), (0.55, 0.0), (0.55, 1.0)]],
    2: [[(0.1, 0.25), (0.3, 0.03), (0.7, 0.03), (0.88, 0.25), (0.8, 0.5), (0.1, 1.0), (0.95, 1.0)]],
    3: [[(0.1, 0.1), (0.5, 0.0), (0.85, 0.2), (0.45, 0.48), (0.9, 0.7), (0.5, 1.0), (0.1, 0.88)]],
    4: [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
    7: [[(0.05, 0.05), (0.95, 0.05), (0.4, 1.0)]],
}


def draw_digit(digit: int, height: float = 200, top: float = 40, left: float = 70, canvas: int = 280,
               brush: int = 18, aspect: float = 0.7) -> np.ndarray:
    """An RGBA canvas [canvas, canvas, 4] uint8 with `digit` drawn in white strokes on black."""
    if digit not in STROKES:
        raise ValueError(f"no strokes for digit {digit}; choose one of {sorted(STROKES)}")
    img = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 255))
    pen = ImageDraw.Draw(img)
    width, r = height * aspect, brush / 2
    for stroke in STROKES[digit]:
        points = [(left + x * width, top + y * height) for x, y in stroke]
        pen.line(points, fill=(255, 255, 255, 255), width=brush, joint="curve")
        for px, py in (points[0], points[-1]):  # round pen tips
            pen.ellipse([px - r, py - r, px + r, py + r], fill=(255, 255, 255, 255))
    return np.asarray(img)
