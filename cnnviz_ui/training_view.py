"""Helpers of the training page: the server's job manager, this session's owner id, data, tables."""
from __future__ import annotations

import os
import uuid

import numpy as np
import streamlit as st

from cnnviz.cpu_share import threads_setting
from cnnviz.jobs import JobManager
from cnnviz_ui import visual

OWNER_KEY = "owner_id"
MAX_JOBS = int(os.environ.get("CNNVIZ_MAX_JOBS", "2"))
# Torch threads of each training process: "auto" (the cores the rest of the machine leaves idle, asked again every
# half second: two on an idle two-core server, one beside a busy class; cnnviz/cpu_share.py) or a number.
JOB_THREADS = threads_setting(os.environ.get("CNNVIZ_JOB_THREADS", "auto"))
# Training processes run at niceness 10: on a busy server page reruns go first (bench/NOTES.md section 9); on an
# idle machine a run is as fast as before. 0 gives them the server's own priority.
JOB_NICE = int(os.environ.get("CNNVIZ_JOB_NICE", "10"))
# A standby worker (torch imported, MNIST loaded) waits for the next Start while a page that trains is open: a run
# starts at once, for one extra process per app process (~0.5 GB). 0 switches it off on a server short of memory.
STANDBY_WORKER = os.environ.get("CNNVIZ_STANDBY_WORKER", "1") != "0"


def warm_for_start(manager: JobManager) -> None:
    """Keep the server's standby worker ready for this page's Start (see STANDBY_WORKER)."""
    if STANDBY_WORKER:
        manager.warm()


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One manager per server: it holds every user's training job (shared, thread-safe); each job trains
    in its own process, which reads MNIST from this server's data root."""
    return JobManager(max_jobs=MAX_JOBS, threads=JOB_THREADS, nice=JOB_NICE)


def owner_id() -> str:
    """A random id for this browser session: the key of its training job."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


@st.cache_resource(show_spinner=False)
def training_data_missing() -> str | None:
    """Why live training cannot start on this server (MNIST's files missing or damaged), or None.

    Only the files' headers and sizes are checked: a run's worker process reads the images itself, so the
    server never holds the 60,000 training images."""
    from cnnviz.data import check_split
    try:
        for split in ("train", "test"):
            check_split(split)
    except Exception as exc:  # MissingDataError, CorruptDataError: said on the page, the rest keeps working
        return str(exc) or type(exc).__name__
    return None




def curve_arrays(records) -> dict:
    """Columns for model_charts.training_curves from StepRecords."""
    evals = [r for r in records if r.test_acc is not None]
    return {"steps": [r.step for r in records], "batch_loss": [r.batch_loss for r in records],
            "train_acc": [r.train_acc for r in records],
            "test_steps": [r.step for r in evals], "test_acc": [r.test_acc for r in evals]}


def epoch_rows(epochs: list) -> tuple[list[dict], list[dict]]:
    """The chapter's epoch table, (as shown, as numbers for the CSV): epoch, images shown, training loss,
    train accuracy, test accuracy, time. Epochs after the first may show only the hardest images, so their
    training loss and accuracy are measured on harder images than the first epoch's."""
    shown, raw = [], []
    for e in epochs:
        partial = e.get("fraction", 1.0) < 0.999
        test = e.get("test_acc")
        raw.append({"epoch": e["epoch"], "fraction of the epoch": round(e.get("fraction", 1.0), 4),
                    "images": e.get("images"), "training loss": round(e["loss"], 4),
                    "train accuracy (%)": round(100 * e["train_acc"], 2),
                    "test accuracy (%)": round(100 * test, 2) if test is not None else None,
                    "time (s)": round(e.get("elapsed", 0.0), 1)})
        shown.append({"epoch": f"{e['epoch']}" + (f" ({e['fraction']:.0%})" if partial else ""),
                      "images": f"{e['images']:,}" if "images" in e else "–",
                      "training loss": visual.number(e["loss"], 4), "train accuracy": visual.percent(e["train_acc"]),
                      "test accuracy": visual.percent(test) if test is not None else "–",
                      "time (s)": visual.number(e.get("elapsed", 0.0), 1)})
    return shown, raw


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


def chapter_rows() -> tuple[list[dict], list[dict]]:
    """The chapter's published per-epoch results in the columns of epoch_rows: (as shown, as numbers)."""
    from cnnviz.recipes import CHAPTER_TABLE
    shown = [{"epoch": str(e["epoch"]), "training loss": visual.number(e["loss"], 4),
              "train accuracy": visual.percent(e["train_acc"]), "test accuracy": visual.percent(e["test_acc"])}
             for e in CHAPTER_TABLE]
    raw = [{"epoch": e["epoch"], "training loss": e["loss"], "train accuracy (%)": round(100 * e["train_acc"], 2),
            "test accuracy (%)": round(100 * e["test_acc"], 2)} for e in CHAPTER_TABLE]
    return shown, raw


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- drawing a run: the curves (the lesson), then its tables, filters and the two questions -----------------------

def curves(records, total_steps, key: str) -> None:
    """The batch loss and the accuracies of a run, so far."""
    from cnnviz_ui import model_charts
    from cnnviz_ui.shell import lecture_mode, show_chart
    data = curve_arrays(records)
    fig = model_charts.training_curves(data["steps"], data["batch_loss"], data["train_acc"], data["test_steps"],
                                       data["test_acc"], total_steps=total_steps, height=330 if lecture_mode() else 320)
    show_chart(fig, key=f"curves_{key}", name=f"training curves {key}")


def run_details(epochs, filters, key: str, config) -> None:
    """Below the curves: this run's epochs beside the chapter's, the conv1 filters now, the two questions.
    Static tables wrap their text, so no column is cut off on a projector; the CSVs hold numbers."""
    from cnnviz.recipes import loss_floor
    from cnnviz_ui.export import image_download, table_download
    from cnnviz_ui.images import feature_grid
    table, chapter = st.columns([1.4, 1])
    with table:
        st.markdown("**Per epoch: this run**")
        shown, raw = epoch_rows(epochs)
        if shown:
            st.table(shown, hide_index=True)
            table_download(shown, f"epochs {key}", key=f"epochs_csv_{key}", raw=raw)
            sizes = {e.get("images") for e in epochs if e.get("fraction", 1.0) >= 0.999}
            if len(sizes) > 1:
                st.caption("Epochs after the first trained only on the images the model found hardest "
                           "(the images column), so the batch loss steps up where they begin, and their "
                           "training loss and accuracy are measured on harder digits than a full pass. The "
                           "test accuracy is always measured on all 10,000 test digits.")
        else:
            st.caption("The first epoch is under way.")
    with chapter:
        st.markdown("**Per epoch: the chapter's run, as published**")
        shown, raw = chapter_rows()
        st.table(shown, hide_index=True)
        table_download(shown, "chapter epochs", key=f"chapter_csv_{key}", raw=raw)
        floor = loss_floor(config.label_smoothing)
        if floor > 0:
            st.caption(f"This run smooths its labels ({config.label_smoothing:g}), so its loss cannot go below "
                       f"{floor:.2f}: compare its accuracies with the chapter's, not its losses.")
    shown_col, asked = st.columns([1, 1.4]) if filters is not None else (None, st.container())
    if shown_col is not None:
        with shown_col:
            st.markdown("**conv1 filters now**")
            grid = feature_grid(first_filters(filters), cols=8, cell=36, gap=3)
            st.image(grid, width="stretch")
            image_download(grid, f"conv1 filters {key}", key=f"filters_png_{key}")
    with asked:
        for title, text in questions().items():
            with st.expander(title):
                st.markdown(text)


def questions() -> dict[str, str]:
    """The two questions students ask under a run, with their answers."""
    from cnnviz.recipes import loss_floor
    smoothing = (
        "Plain cross-entropy asks for probability 1 on the right digit, so its loss can shrink towards 0 "
        "(the chapter's run reaches 0.04). With label smoothing ε the target is softened: 1 − ε + ε/10 on "
        "the right digit and ε/10 on each of the nine others (0.91 and 0.01 for ε = 0.1). Even a model "
        "that answers exactly that target pays the target's own entropy, "
        f"**{loss_floor(0.1):.2f} for ε = 0.1**, so a smoothed run's loss levels off near that floor "
        "however well it classifies, and cannot be compared with the chapter's. What smoothing buys is "
        "a model that is less over-confident, which often helps its test accuracy a little.")
    train_vs_test = (
        "Because the two numbers are measured differently. The **train accuracy** is an average over "
        "every batch of the epoch, and the early batches were answered by a network that had only just "
        "started to learn: they pull the average down. The **test accuracy** is measured once, at the "
        "end of the epoch, by the network as it is by then. And while training, **dropout** switches "
        "off a random quarter of the FC1 outputs for every image, so each training answer comes from a "
        "weakened network; for the test, the model switches to evaluation mode and uses all of them. "
        "In later epochs the network changes little within an epoch and the two numbers draw closer.")
    return {"Why is the test accuracy higher than the train accuracy in epoch 1?": train_vs_test,
            "What does label smoothing do to the loss?": smoothing}
