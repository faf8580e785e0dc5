"""Helpers of the training page: the server's job manager, this session's owner id, data, tables."""
from __future__ import annotations

import os
import uuid

import numpy as np
import streamlit as st

from cnnviz.jobs import JobManager

OWNER_KEY = "owner_id"
MAX_JOBS = int(os.environ.get("CNNVIZ_MAX_JOBS", "2"))
JOB_THREADS = int(os.environ.get("CNNVIZ_JOB_THREADS", "1"))  # torch threads of each training process
# Training processes run at niceness 10: on a busy server page reruns go first (bench/NOTES.md section 9); on an
# idle machine a run is as fast as before. 0 gives them the server's own priority.
JOB_NICE = int(os.environ.get("CNNVIZ_JOB_NICE", "10"))


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One manager per server: it holds every user's training job (shared, thread-safe); each job trains
    in its own process, which reads MNIST from this server's data root."""
    return JobManager(max_jobs=MAX_JOBS, threads=JOB_THREADS, nice=JOB_NICE)


def owner_id() -> str:
    """A random id for this browser session: the key of its training job."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


@st.cache_resource(show_spinner="Loading the MNIST training set...")
def splits():
    """(train, test, None) or (None, None, why MNIST is unavailable)."""
    try:
        from cnnviz.data import load_split
        from cnnviz_ui.digits import test_split
        test, reason = test_split()
        if test is None:
            return None, None, reason
        return load_split("train"), test, None
    except Exception as exc:  # MissingDataError, CorruptDataError: said on the page, the rest keeps working
        return None, None, str(exc)


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


def first_filters(weight) -> np.ndarray:
    """A conv weight [C, 1, k, k] as maps [C, k, k] for feature_grid."""
    return weight.detach().float().numpy()[:, 0]


# -- recipes: the form's controls and the chapter's published table ----------------------------------------

# widget key -> TrainConfig field: every hyperparameter the form shows (the step budget is not a recipe's)
CONTROLS = {"tr_epochs": "epochs", "tr_batch": "batch_size", "tr_lr": "lr", "tr_opt": "optimizer",
            "tr_momentum": "momentum", "tr_wd": "weight_decay", "tr_schedule": "schedule",
            "tr_smoothing": "label_smoothing", "tr_hard": "hard_fraction", "tr_dropout": "dropout",
            "tr_act": "activation", "tr_head": "head", "tr_seed": "seed"}
CONTROL_LABELS = {"epochs": "epochs", "batch_size": "batch size", "lr": "learning rate", "optimizer": "optimizer",
                  "momentum": "momentum", "weight_decay": "weight decay", "schedule": "schedule",
                  "label_smoothing": "label smoothing", "hard_fraction": "later epochs", "dropout": "dropout",
                  "activation": "activation", "head": "head", "seed": "seed"}
SCHEDULE_TITLES = {"constant": "constant", "onecycle": "one-cycle (warm up, then anneal)"}


def fill_controls(state, config) -> None:
    """Set every hyperparameter control to `config`'s value (choosing a recipe)."""
    for key, name in CONTROLS.items():
        state[key] = getattr(config, name)


def controls_config(state, **extra):
    """The TrainConfig the controls describe; `extra` adds fields the form does not show (device, budget)."""
    from cnnviz.train import TrainConfig
    values = {name: state[key] for key, name in CONTROLS.items()}
    for name in ("epochs", "batch_size", "seed"):
        values[name] = int(values[name])
    for name in ("lr", "momentum", "weight_decay", "label_smoothing", "hard_fraction", "dropout"):
        values[name] = float(values[name])
    return TrainConfig(**values, **extra)


def changed_from(state, config) -> list[str]:
    """'learning rate 0.003'-style notes for each control that differs from `config` (a recipe)."""
    return [f"{CONTROL_LABELS[name]} {_shown(state[key])}" for key, name in CONTROLS.items()
            if key in state and state[key] != getattr(config, name)]


def recipe_summary(config) -> str:
    """One line naming a config's hyperparameters, e.g. for a recorded run."""
    later = "every image every epoch" if config.hard_fraction >= 1 else \
        f"later epochs on the hardest {config.hard_fraction:.0%}"
    schedule = SCHEDULE_TITLES[config.schedule].split(" (")[0]
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    return (f"{config.optimizer.capitalize()}, learning rate {_shown(config.lr)} ({schedule}), "
            f"batch {config.batch_size}, {epochs}, {later}, "
            f"label smoothing {_shown(config.label_smoothing)}, dropout {_shown(config.dropout)}")


def chapter_rows() -> list[dict]:
    """The chapter's published per-epoch results, in the columns of epoch_rows."""
    from cnnviz.recipes import CHAPTER_TABLE
    return [{"epoch": str(e["epoch"]), "training loss": e["loss"], "train accuracy": f"{e['train_acc']:.1%}",
             "test accuracy": f"{e['test_acc']:.1%}"} for e in CHAPTER_TABLE]


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
