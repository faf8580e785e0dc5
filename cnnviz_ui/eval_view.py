"""Test-set predictions for the evaluation page, computed once per model and kept."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.evaluate import predict

CACHE_KEY = "_eval_probs"


@st.cache_resource(show_spinner="Running the shipped model on the 10,000 test digits...")
def _shipped_probabilities(head: str, _model, _images) -> np.ndarray:
    return predict(_model, _images).numpy()


def test_probabilities(loaded, test, shipped: bool) -> np.ndarray:
    """Softmax outputs [N, 10] of `loaded.model` on the test split (shared for the shipped model)."""
    if shipped:
        return _shipped_probabilities(loaded.head, loaded.model, test.images)
    cached = st.session_state.get(CACHE_KEY)
    if cached is not None and cached[0] is loaded.model:
        return cached[1]
    with st.spinner("Running your model on the 10,000 test digits..."):
        probs = predict(loaded.model, test.images).numpy()
    st.session_state[CACHE_KEY] = (loaded.model, probs)
    return probs


def top3_text(top3) -> str:
    return " · ".join(f"{c}: {p:.0%}" for c, p in top3)
