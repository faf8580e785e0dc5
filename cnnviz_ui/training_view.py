"""Helpers of the training page: the server's job manager, this session's owner id, data, tables."""
from __future__ import annotations

import os
import tempfile
import uuid

import numpy as np
import streamlit as st

from cnnviz.jobs import JobManager

OWNER_KEY = "owner_id"
MAX_JOBS = int(os.environ.get("CNNVIZ_MAX_JOBS", "2"))


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One manager per server: it holds every user's training job (shared, thread-safe)."""
    return JobManager(max_jobs=MAX_JOBS)


def owner_id() -> str:
    """A random id for this browser session: the key of its training job."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


@st.cache_resource(show_spinner="Loading the MNIST training set...")
def _splits():
    try:
        from cnnviz.data import load_split
        from cnnviz_ui.digits import test_split
        test, reason = test_split()
        if test is None:
            return None, None, reason
        return load_split("train"), test, None
    except Exception as exc:  # MissingDataError, CorruptDataError: said on the page, the rest keeps working
        return None, None, str(exc)


def splits():
    """(train, test, None) or (None, None, why MNIST is unavailable)."""
    return _splits()


def curve_arrays(records) -> dict:
    """Columns for model_charts.training_curves from StepRecords."""
    evals = [r for r in records if r.test_acc is not None]
    return {"steps": [r.step for r in records], "batch_loss": [r.batch_loss for r in records],
            "train_acc": [r.train_acc for r in records],
            "test_steps": [r.step for r in evals], "test_acc": [r.test_acc for r in evals]}


def epoch_rows(epochs: list) -> list[dict]:
    """The chapter's epoch table: epoch, images shown, training loss, train accuracy, test accuracy.
    Epochs after the first may show only the hardest images, so their training loss and accuracy are
    measured on harder images than the first epoch's."""
    rows = []
    for e in epochs:
        partial = e.get("fraction", 1.0) < 0.999
        rows.append({"epoch": f"{e['epoch']}" + (f" ({e['fraction']:.0%})" if partial else ""),
                     "images": f"{e['images']:,}" if "images" in e else "–",
                     "training loss": round(e["loss"], 4), "train accuracy": f"{e['train_acc']:.1%}",
                     "test accuracy": f"{e['test_acc']:.1%}" if e.get("test_acc") is not None else "–",
                     "time (s)": round(e.get("elapsed", 0.0), 1)})
    return rows


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left..."
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"about {minutes} min {secs:02d} s left" if minutes else f"about {secs} s left"


def checkpoint_bytes(model, metadata: dict) -> bytes:
    """The model and its metadata as the bytes of a checkpoint file (for st.download_button)."""
    from cnnviz.checkpoint import save
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cnnviz-run.safetensors")
        save(path, model, metadata)
        with open(path, "rb") as f:
            return f.read()


def first_filters(weight) -> np.ndarray:
    """A conv weight [C, 1, k, k] as maps [C, k, k] for feature_grid."""
    return weight.detach().float().numpy()[:, 0]
