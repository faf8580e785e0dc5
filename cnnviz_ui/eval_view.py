"""Test-set predictions for the evaluation page, computed once per model and kept."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.evaluate import predict
from cnnviz_ui import visual

CACHE_KEY = "_eval_probs"


@st.cache_resource(show_spinner="Running the shipped model on the test digits...")
def _shipped_probabilities(head: str, _model, _images) -> np.ndarray:
    return predict(_model, _images).numpy()


def test_probabilities(loaded, test, shipped: bool) -> np.ndarray:
    """Softmax outputs [N, 10] of `loaded.model` on the test split (shared for the shipped model)."""
    if shipped:
        return _shipped_probabilities(loaded.head, loaded.model, test.images)
    cached = st.session_state.get(CACHE_KEY)
    if cached is not None and cached[0] is loaded.model:
        return cached[1]
    with st.spinner(f"Running your model on the {len(test.labels):,} test digits..."):
        probs = predict(loaded.model, test.images).numpy()
    st.session_state[CACHE_KEY] = (loaded.model, probs)
    return probs


def top3_text(top3) -> str:
    return " · ".join(f"{c}: {visual.percent(p, 0)}" for c, p in top3)


# -- the confusion matrix as a control: a click picks a cell -------------------------------------------------

CHART_KEY = "ev_confusion"
CELL_KEYS = ("ev_true", "ev_pred")   # the two bound selectboxes: the chosen cell is in the link through them


def cell_from_selection(selection) -> tuple[int, int] | None:
    """(true, predicted) of the clicked cell in a Plotly selection of the confusion matrix (x: predicted,
    y: true), or None when nothing usable was clicked."""
    points = (selection or {}).get("points") or []
    if not points:
        return None
    try:
        return int(points[0]["y"]), int(points[0]["x"])
    except (KeyError, TypeError, ValueError):
        return None


def select_clicked_cell() -> None:
    """on_select of the confusion matrix: the clicked cell becomes the chosen one (and so goes into the link)."""
    state = st.session_state.get(CHART_KEY)
    cell = cell_from_selection(state.get("selection") if state is not None else None)
    if cell is not None:
        st.session_state[CELL_KEYS[0]], st.session_state[CELL_KEYS[1]] = cell


# -- a digit of the test set, opened on the Draw page ----------------------------------------------------------

DRAW_PAGE = "pages/draw.py"


def open_in_draw(index: int) -> None:
    """Open test digit `index` on the Draw page, in the unit inspector (the Draw page reads these keys)."""
    st.session_state["draw_source"] = "MNIST test digit"
    st.session_state["draw_mnist_index"] = int(index)
    st.session_state["draw_open_inspector"] = True
    st.switch_page(DRAW_PAGE)


def cell_rows(report: dict) -> list[dict]:
    """The confusion matrix and the per-digit accuracy as CSV rows, numbers as numbers."""
    return [{"true digit": t, **{f"answered {p}": int(n) for p, n in enumerate(row)},
             "accuracy (%)": round(100 * report["per_class"][t], 2)} for t, row in enumerate(report["confusion"])]


def examples_caption(true: int, predicted: int, shown: int, count: int) -> str | None:
    """What the pictures below a cell are: the hardest correct digits on the diagonal, the surest mistakes off it."""
    if shown == 0:
        return None
    if true == predicted:
        return (f"The {shown} correct {true}s the model was least sure about (lowest probability first): the "
                "hard cases it still got right.")
    return f"The {shown} the model was surest about:" if shown < count else None
