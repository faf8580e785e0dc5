"""Named training recipes, the chapter's published results, and recorded runs stored as small JSON files.

A recipe is a TrainConfig: the UI fills its controls from one, the CLI's flags can spell one out, and a
recorded run (the metadata a training run writes, without the weights) replays the run offline.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from cnnviz.train import StepRecord, TrainConfig

RECIPES = {
    # The chapter's training loop: Adam at a constant 1e-3, batches of 64, plain cross-entropy, three full
    # passes over the 60,000 images (dropout 0.25 is part of the model, as in the chapter).
    "chapter": TrainConfig(epochs=3, hard_fraction=1.0, batch_size=64, lr=1e-3, optimizer="adam",
                           weight_decay=0.0, schedule="constant", label_smoothing=0.0, dropout=0.25,
                           activation="relu", head="fc"),
    # Today's defaults: one-cycle at a higher peak rate, label smoothing, later epochs on the hardest images.
    "fast": TrainConfig(),
}
RECIPE_TITLES = {"chapter": "The chapter's recipe", "fast": "Fast default"}

# The per-epoch results the chapter prints for its run (training loss, train and test accuracy as fractions).
CHAPTER_TABLE = (
    {"epoch": 1, "loss": 0.1842, "train_acc": 0.943, "test_acc": 0.982},
    {"epoch": 2, "loss": 0.0571, "train_acc": 0.982, "test_acc": 0.988},
    {"epoch": 3, "loss": 0.0392, "train_acc": 0.987, "test_acc": 0.990},
)

RUNS_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
RECORDED_RUNS = {"chapter": "digitcnn_chapter.json", "fast": "digitcnn_fast.json"}
RUN_KEYS = ("config", "model_config", "dataset", "final", "history", "curve", "device", "precision", "torch",
            "created", "command")


def recipe(name: str) -> TrainConfig:
    """The named recipe's TrainConfig ('chapter' or 'fast')."""
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {name!r}")
    return RECIPES[name]


def loss_floor(label_smoothing: float, num_classes: int = 10) -> float:
    """The smallest cross-entropy a model can reach against smoothed targets: the targets' own entropy.

    With smoothing e the target puts 1 - e + e/K on the true class and e/K on each other one; a perfect
    model predicts exactly that and still pays its entropy. 0 for plain cross-entropy, about 0.50 for e = 0.1.
    """
    if not 0 <= label_smoothing < 1 or num_classes < 2:
        raise ValueError("label_smoothing must be in [0, 1) and num_classes >= 2")
    other = label_smoothing / num_classes
    true = 1 - label_smoothing + other
    return -sum(p * math.log(p) for p in [true] + [other] * (num_classes - 1) if p > 0)


def recorded_run(metadata: dict) -> dict:
    """The replayable part of a checkpoint's metadata (no weights, no evaluation): what a run JSON holds."""
    missing = [k for k in ("config", "history", "curve") if k not in metadata]
    if missing:
        raise ValueError(f"the metadata lacks {missing}: it is not from a cnnviz training run")
    return {k: metadata[k] for k in RUN_KEYS if k in metadata}


def save_run(path: str | os.PathLike, metadata: dict) -> Path:
    """Write a recorded run as JSON (one curve record per line keeps diffs readable)."""
    path = Path(path)
    run = recorded_run(metadata)
    path.write_text(json.dumps(run, indent=1, allow_nan=False) + "\n")
    return path


def load_run(path: str | os.PathLike) -> dict:
    """A recorded run from its JSON file; ValueError when it is not one (bad JSON, config or curve)."""
    path = Path(path)
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the recorded run {path.name}: {exc}") from None
    if not isinstance(run, dict) or not isinstance(run.get("curve"), list) or not isinstance(run.get("history"), list):
        raise ValueError(f"{path.name} is not a recorded run (it needs a curve and a history)")
    try:
        TrainConfig.from_dict(run.get("config") or {})
        [StepRecord(**r) for r in run["curve"]]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path.name} holds an invalid config or curve: {exc}") from None
    return run


def shipped_run(name: str = "chapter") -> dict:
    """The recorded run shipped in checkpoints/ for a recipe."""
    if name not in RECORDED_RUNS:
        raise ValueError(f"no recorded run is shipped for {name!r}; there is one for {sorted(RECORDED_RUNS)}")
    return load_run(RUNS_DIR / RECORDED_RUNS[name])
