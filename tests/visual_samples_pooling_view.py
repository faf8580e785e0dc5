"""Sample arguments of the pooling page's cached figure builders, for tests/test_visual_language.py."""
import numpy as np
from visual_checks import Case

from cnnviz.pooling import CHAPTER_FEATURE_MAP

X = CHAPTER_FEATURE_MAP
SIGNED = np.array([[1.0, -0.5, 0.25], [-0.001, 0.0, 0.5], [0.75, -0.25, 0.125]])


def samples() -> dict:
    return {
        "cnnviz_ui.pooling_view.input_figure": [Case((X, 0, (0, 2, 0, 2), (0.0, 8.0)), scale="sequential"),
                                                Case((X, 1, (-1, 1, -1, 1), (0.0, 8.0)), scale="sequential")],
        "cnnviz_ui.pooling_view.output_figure": [Case((X, 2, 2, 0, "max", 3, (0.0, 8.0), "Max pooling"),
                                                      scale="sequential"),
                                                 Case((SIGNED, 2, 1, 0, "avg", 1, (-0.5, 1.0), "Average pooling"),
                                                      scale="sequential")],
        "cnnviz_ui.pooling_view.shift_figures": [Case((X, 0, 1, 2, 2, 0, (0.0, 8.0)), scale="sequential"),
                                                 Case((SIGNED, -1, 0, 2, 1, 0, (-0.5, 1.0)), scale="sequential")],
    }
