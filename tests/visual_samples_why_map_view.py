"""Sample arguments for the builders of cnnviz_ui/why_map_view.py (read by tests/test_visual_language.py)."""
from __future__ import annotations

import numpy as np

from cnnviz_ui import visual
from visual_checks import Case

YELLOW = tuple(int(c) for c in visual.colorize(np.array(1.0), 0, 1, "sequential"))


def digit_cloud(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Ten small clusters of points, one per digit: (coords [n, 2], labels [n])."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 10
    angle = 2 * np.pi * labels / 10
    coords = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 5 + rng.normal(size=(n, 2))
    return coords, labels


def field() -> tuple[np.ndarray, tuple]:
    """A 28x28 gradient peaking at the centre, zero outside its 8x8 box (12..20)."""
    g = np.zeros((28, 28))
    yy, xx = np.mgrid[12:20, 12:20]
    g[12:20, 12:20] = np.exp(-((yy - 15.5) ** 2 + (xx - 15.5) ** 2) / 6)
    return g / g.max(), (12, 20, 12, 20)


def samples() -> dict[str, list[Case]]:
    coords, labels = digit_cloud()
    gradient, box = field()
    return {
        "cnnviz_ui.why_map_view.digit_map_figure": [Case((coords, labels), {"placed": (0.5, -0.25),
                                                                            "neighbours": np.arange(8)}),
                                                    Case((coords, labels))],
        "cnnviz_ui.why_map_view.training_figure": [Case(([0, 1, 10, 100], [0.1, 0.12, 0.6, 0.97],
                                                         [0.1, 0.2, 0.7, 0.98], 2, 7)),
                                                   Case(([0, 5], [0.1, 0.9], [None, None], 1, 3))],
        "cnnviz_ui.why_map_view.effective_field_image": [Case((gradient, box), {"size": 120}, scale="sequential"),
                                                         Case((gradient * 0, (0, 3, 0, 3)), {"size": 60})],
    }
