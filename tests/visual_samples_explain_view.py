"""Sample arguments for the builders of cnnviz_ui/explain_view.py (read by tests/test_visual_language.py)."""
from __future__ import annotations

import numpy as np

from cnnviz_ui import visual
from visual_checks import Case

RED = tuple(int(c) for c in visual.colorize(np.array(1.0), -1, 1, "diverging"))
HALF_BLUE = tuple(int(c) for c in visual.colorize(np.array(-0.5), -1, 1, "diverging"))
YELLOW = tuple(int(c) for c in visual.colorize(np.array(1.0), 0, 1, "sequential"))


CURVES = {"fgsm": {"epsilons": [0, 0.05, 0.1, 0.2], "accuracy": [0.99, 0.8, 0.3, 0.01]},
          "pgd": {"epsilons": [0, 0.05, 0.1, 0.2], "accuracy": [0.99, 0.6, 0.1, 0.0]}}


def signed_map() -> np.ndarray:
    """A 28x28 map: +1 in the top-left quarter, -0.5 in the bottom-right one, a tiny -0.001 elsewhere."""
    m = np.full((28, 28), -0.001, dtype=np.float32)
    m[:14, :14], m[14:, 14:] = 1.0, -0.5
    return m


def digit() -> np.ndarray:
    d = np.zeros((28, 28), dtype=np.float32)
    d[8:20, 12:16] = 1.0   # a bar: an "1"
    return d


def samples() -> dict[str, list[Case]]:
    heat = np.abs(signed_map())
    return {
        "cnnviz_ui.explain_view.attribution_image": [
            Case((signed_map(), digit()), {"size": 56}, scale="diverging",
                 probes=[((2, 2), RED), ((54, 54), HALF_BLUE)]),
            Case((heat,), {"size": 56}, scale="sequential", probes=[((2, 2), YELLOW)])],
        "cnnviz_ui.explain_view.colour_bar": [Case((60, -0.003, 0.003, "diverging"), probes=[((2, 0), RED)]),
                                              Case((60, 0.0, 2.0, "sequential"), probes=[((2, 0), YELLOW)])],
        "cnnviz_ui.explain_view.difference_image": [Case((0.08 * np.sign(signed_map()),), {"size": 56},
                                                         probes=[((2, 2), RED)])],
        "cnnviz_ui.explain_view.correlation_figure": [
            Case((["fc2", "fc1", "conv2", "conv1"], {"saliency": [0.9, 0.5, 0.2, -0.001],
                                                     "grad_cam": [0.8, 0.1, 0.0, 0.05]}), {"chosen": 2})],
        "cnnviz_ui.explain_view.accuracy_curve_figure": [Case((CURVES,), {"needed": 0.07}),
                                                         Case(({"fgsm": CURVES["fgsm"]},))],
        "cnnviz_ui.explain_view.canvas_picture": [Case((digit(),), {"size": 56},
                                                       probes=[((28, 20), (255, 255, 255)), ((50, 20), (0, 0, 0))])],
    }


def html_samples() -> dict[str, list[Case]]:
    return {"cnnviz_ui.explain_view.figure_block_html": [
        Case(("data:image/png;base64,", 100, "Saliency for 7 (rank correlation −0.001)", "attribution"),
             {"method": "saliency", "target": 7})]}
