"""Sample arguments for the builders of cnnviz_ui/class_view.py (read by tests/test_visual_language.py)."""
from __future__ import annotations

import numpy as np

from cnnviz.class_wall import Drawing
from visual_checks import Case

OPTIONS = ["[8, 32, 7, 7]", "[4, 16, 7, 7]", "a long option written out in words, longer than a bar"]
RUNS = [{"name": "wide", "kind": "design", "parameters": 71234, "test_accuracy": 0.9812, "receptive_field": 14},
        {"name": "my run", "kind": "training run", "parameters": 206922, "test_accuracy": 0.99,
         "multiply_adds": 1234567}]


def drawings() -> list[Drawing]:
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255   # a bar: a "1"
    return [Drawing(n, f"s{n}", 1, 1, pixels, prediction, tuple(np.eye(10)[prediction]), 0.0, False)
            for n, prediction in enumerate((1, 7))]


def samples() -> dict[str, list[Case]]:
    return {
        "cnnviz_ui.class_view.answers_figure": [Case((OPTIONS, {OPTIONS[0]: 3, OPTIONS[2]: 1}, OPTIONS[0])),
                                                 Case((OPTIONS, {}, None))],
        "cnnviz_ui.class_view.runs_figure": [Case((RUNS,)), Case(([],))],
    }


def html_samples() -> dict[str, list[Case]]:
    return {
        "cnnviz_ui.class_view.join_code_html": [Case(("ABC234", "http://class.example/class_session?join=ABC234"))],
        "cnnviz_ui.class_view.wall_html": [Case((drawings(),), {"numbered": True}), Case(([],))],
    }
