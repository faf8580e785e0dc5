"""The design lab's presets: eight small CNNs that each teach one design decision, with their recorded runs.

A preset is a ModelConfig, a one-sentence lesson and a key. Each has a recorded run in checkpoints/designs/
(made by scripts/record_designs.py): `<key>.json` (config, curve, history, final numbers, images/s) and, for a
preset under WEIGHTS_LIMIT parameters, `<key>.safetensors` (its trained weights). The chapter's choices and
reasons for each design decision sit here as data too, in our own words.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, ConvBlock, ModelConfig

DESIGNS_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "designs"
WEIGHTS_LIMIT = 600_000   # presets with fewer parameters ship their float32 weights (keeps the folder small)
EVAL_EVERY = 250          # the lab's runs also measure the test accuracy every 250 steps (points for the chart)
RUN_KEYS = ("preset", "config", "model_config", "dataset", "final", "history", "curve", "device", "precision",
            "torch", "created", "command", "params", "images_per_sec", "weights")


@dataclass(frozen=True)
class Preset:
    key: str               # file stem in checkpoints/designs/, e.g. "tiny"
    title: str             # e.g. "Tiny (under 5,000 parameters)"
    config: ModelConfig
    lesson: str            # the one thing this design teaches, one sentence


@dataclass(frozen=True)
class Decision:
    title: str             # e.g. "Kernel size"
    choice: str            # the chapter's choice, e.g. "3 × 3"
    reason: str            # why, in our own words


# The chapter's Key Design Decisions (and the few it takes for granted), keyed like the lab's controls.
DECISIONS = {
    "blocks": Decision("Conv blocks", "2",
                       "Two rounds of filter-then-shrink take a 28×28 digit down to 7×7 maps: enough to see "
                       "whole strokes, cheap enough to train in seconds."),
    "channels": Decision("Channels", "1 → 16 → 32",
                         "Each pool throws away three quarters of the positions, so the next block gets twice "
                         "the channels to describe what is left (the VGG habit)."),
    "kernel_size": Decision("Kernel size", "3 × 3",
                            "The smallest window with a centre pixel: it catches local strokes, and stacking "
                            "layers widens the view with fewer weights than one big kernel."),
    "padding": Decision("Padding", "1 (same)",
                        "A one-pixel border of zeros keeps each map as large as its input, so only the pools "
                        "change the size."),
    "stride": Decision("Stride", "1",
                       "The filter is tried at every position; shrinking the map is left to the pools."),
    "activation": Decision("Activation", "ReLU",
                           "Cheap to compute, and its slope of 1 for positive inputs lets gradients reach the "
                           "first layer undiminished."),
    "batch_norm": Decision("Batch norm", "none",
                           "Two conv layers on MNIST train quickly without it; it earns its place in deeper "
                           "stacks."),
    "pool": Decision("Pooling", "max, 2 × 2, stride 2",
                     "Halves height and width, keeps each window's strongest response, and lets a stroke move "
                     "a pixel without changing the result."),
    "head": Decision("Head", "flatten + fully connected",
                     "Flattening keeps where each feature was found, and a hidden layer combines those "
                     "features before the ten scores."),
    "hidden": Decision("Hidden layer", "128",
                       "Wide enough to mix 1,568 features into ten classes, small enough not to memorise the "
                       "training digits."),
    "dropout": Decision("Dropout", "0.25",
                        "A light regulariser: MNIST is easy, so silencing a quarter of the hidden units while "
                        "training is plenty."),
    "output": Decision("Output", "raw scores (logits)",
                       "The cross-entropy loss applies the softmax itself, in a numerically safer way."),
}

PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset("chapter", "The chapter's design", CHAPTER_CONFIG,
           "The reference: two 3×3 conv blocks that each halve the map, then a hidden layer of 128 that holds "
           "almost all of its 206,922 parameters."),
    Preset("no_pooling", "No pooling",
           ModelConfig(blocks=(ConvBlock(16, pool="none"), ConvBlock(16, pool="none"), ConvBlock(32, pool="none"))),
           "Without pools the receptive field grows by only two pixels per 3×3 layer (3, 5, 7), and flattening "
           "full 28×28 maps makes the first fully connected layer sixteen times larger."),
    Preset("kernel5", "5×5 kernels", ModelConfig.uniform(kernel_size=5),
           "Bigger kernels see further in each layer for a few thousand more weights, while the big fully "
           "connected layer stays exactly as it was."),
    Preset("one_block", "One block", ModelConfig.uniform(channels=(16,)),
           "With one block the maps are still 14×14 when flattened, so the hidden layer needs twice the "
           "chapter's weights, and each feature sees only a 4×4 patch."),
    Preset("gap", "GAP head", GAP_CONFIG,
           "Averaging each of the 32 maps to one number replaces the 200,000-weight hidden layer with 330 "
           "weights and lets the GAP and CAM page show where the network looked, but so few weights learn "
           "slowly: three quick epochs are not enough."),
    Preset("wide", "Wide (32/64)", ModelConfig.uniform(channels=(32, 64)),
           "Twice the channels means four times conv2's weights and twice the hidden layer's: compare what "
           "that buys on a problem as easy as MNIST."),
    Preset("tiny", "Tiny (under 5,000 parameters)", ModelConfig.uniform(channels=(4, 8), hidden=(), dropout=0.0),
           "Four and eight filters and no hidden layer: fifty times fewer parameters than the chapter's "
           "design, and see how little accuracy that costs."),
    Preset("avg_pool", "Average pooling", ModelConfig.uniform(pool="avg"),
           "Averaging each 2×2 window instead of keeping its largest value changes no shape and no "
           "parameter: only what survives the shrinking differs."),
)}


def preset(key: str) -> Preset:
    """The named preset; ValueError naming the known ones otherwise."""
    if key not in PRESETS:
        raise ValueError(f"no preset {key!r}; the presets are {', '.join(PRESETS)}")
    return PRESETS[key]


def matching_preset(config: ModelConfig) -> str | None:
    """The key of the preset whose design is exactly `config`, if any."""
    return next((p.key for p in PRESETS.values() if p.config == config), None)


def parameter_count(config: ModelConfig) -> int:
    """Parameters of a design (the core's arithmetic; DigitCNN's modules hold exactly these)."""
    return sum(config.parameter_counts().values())


def ships_weights(config: ModelConfig) -> bool:
    """Whether a design's trained weights are small enough to ship with the app."""
    return parameter_count(config) < WEIGHTS_LIMIT


def run_path(key: str) -> Path:
    return DESIGNS_DIR / f"{preset(key).key}.json"


def weights_path(key: str) -> Path:
    return DESIGNS_DIR / f"{preset(key).key}.safetensors"


def recorded_run(key: str) -> dict:
    """A preset's recorded run (no weights): ValueError when its file is missing or is not a run."""
    from cnnviz.recipes import load_run
    path = run_path(key)
    if not path.exists():
        raise ValueError(f"no recorded run for the preset {key!r} (make it with scripts/record_designs.py)")
    run = load_run(path)
    if ModelConfig.from_dict(run.get("model_config") or {}) != preset(key).config:
        raise ValueError(f"{path.name} records another design than the preset {key!r}: record it again")
    return run


def has_weights(key: str) -> bool:
    return weights_path(key).exists()


def recorded_model(key: str):
    """(model in eval mode, metadata) of a preset's recorded run; ValueError when its weights are not shipped."""
    from cnnviz.checkpoint import load
    if not has_weights(key):
        raise ValueError(f"the weights of {preset(key).title!r} are not shipped "
                         f"({parameter_count(preset(key).config):,} parameters, over {WEIGHTS_LIMIT:,}); "
                         "train it on the page, or with scripts/record_designs.py")
    model, metadata = load(weights_path(key))
    if model.config != preset(key).config:
        raise ValueError(f"{weights_path(key).name} holds another design than the preset {key!r}")
    return model, metadata


def lab_recipe(config: ModelConfig, **extra):
    """The TrainConfig the lab trains a design with: the fast recipe, a test every EVAL_EVERY steps, `extra`
    fields (device, threads, max_steps) on top."""
    from cnnviz.recipes import recipe
    return replace(recipe("fast"), model=config, eval_every=EVAL_EVERY, **extra)


# ---- the numbers a run is compared by ------------------------------------------------------------------------

def epoch_speeds(curve: list[dict]) -> list[float]:
    """Training images/s of each epoch: the last curve record of each epoch carries that epoch's figure."""
    speeds = {}
    for record in curve:
        speeds[record["epoch"]] = record["images_per_sec"]
    return list(speeds.values())


def run_numbers(metadata: dict) -> dict:
    """test_acc, seconds (training time, evaluations included), images_per_sec, steps and the test curve
    [(seconds, accuracy)] of a run, from a recorded run or a training run's metadata."""
    final = metadata.get("final") or {}
    curve = metadata.get("curve") or []
    speeds = epoch_speeds(curve)
    tested = [(r["elapsed"], r["test_acc"]) for r in curve if r.get("test_acc") is not None]
    if metadata.get("tested_after_stop") and final.get("test_acc") is not None:  # measured once it had stopped
        tested.append((final.get("elapsed") or 0.0, final["test_acc"]))
    return {"test_acc": final.get("test_acc"), "seconds": final.get("elapsed"), "steps": final.get("steps"),
            "images_per_sec": metadata.get("images_per_sec") or (sum(speeds) / len(speeds) if speeds else None),
            "test_curve": tested}


def run_record(key: str, metadata: dict, command: str) -> dict:
    """What a preset's recorded-run JSON holds: the replayable run, its design's size, images/s, the weights'
    file name (None when they are not shipped) and the command that made it."""
    config = preset(key).config
    run = dict(metadata, preset=key, params=parameter_count(config), command=command,
               weights=weights_path(key).name if ships_weights(config) else None)
    run["images_per_sec"] = run_numbers(run)["images_per_sec"]
    return {k: run[k] for k in RUN_KEYS if k in run}


def write_run(key: str, run: dict) -> Path:
    """Write a recorded run compactly (one curve record per line)."""
    path = run_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in run.items() if k != "curve"}
    lines = [json.dumps(r, allow_nan=False) for r in run.get("curve", [])]
    text = json.dumps(head, allow_nan=False, indent=1)[:-2] + ',\n "curve": [\n' + ",\n".join(lines) + "\n ]\n}\n"
    json.loads(text)  # the file must read back
    path.write_text(text)
    return path
