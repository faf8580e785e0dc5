"""Test-set predictions for the evaluation page, computed once per model and kept."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from cnnviz.evaluate import confusion_from_predictions, per_class_accuracy, predict

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


def summary(probs: np.ndarray, labels) -> dict:
    """Accuracy, per-class accuracy and confusion matrix from probabilities and true labels."""
    labels = np.asarray(labels)
    cm = confusion_from_predictions(labels, probs.argmax(1))
    return {"accuracy": float(np.trace(cm) / max(len(labels), 1)), "per_class": per_class_accuracy(cm),
            "confusion": cm, "total": len(labels), "correct": int(np.trace(cm))}


def cell_examples(probs: np.ndarray, labels, true: int, predicted: int, limit: int = 12) -> list[dict]:
    """Test digits of class `true` that the model called `predicted`, most confident first, with top-3."""
    labels = np.asarray(labels)
    hits = np.flatnonzero((labels == true) & (probs.argmax(1) == predicted))
    hits = hits[np.argsort(-probs[hits].max(1), kind="stable")][:limit]
    top = np.argsort(-probs[hits], axis=1)[:, :3]
    return [{"index": int(i), "true": true, "predicted": predicted,
             "top3": [[int(c), float(probs[i, c])] for c in t]} for i, t in zip(hits, top)]


def largest_mistake(cm: np.ndarray) -> tuple[int, int]:
    """The off-diagonal cell with the most examples (the model's favourite confusion)."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, -1)
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    return int(t), int(p)


def top3_text(top3) -> str:
    return " · ".join(f"{c}: {p:.0%}" for c, p in top3)


def as_tensor_labels(test) -> np.ndarray:
    return test.labels.numpy() if isinstance(test.labels, torch.Tensor) else np.asarray(test.labels)
