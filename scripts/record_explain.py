"""Record what the "Why this answer?" page ships for the shipped FC model, so the page works without MNIST.

    CNNVIZ_DATA=/path/to/data python -m scripts.record_explain [--only curve,map,snapshots,fields] [--threads 1]

Writes into checkpoints/explain/:
- accuracy_curve.json: test accuracy under FGSM and PGD attacks at growing epsilon (the first CURVE_DIGITS test digits)
- digit_map.safetensors: the penultimate-layer map of 5,000 test digits (a seeded sample) and its projection
- snapshots.safetensors: ~20 weight snapshots of one seeded training run with the fast recipe (the recorded run
  checkpoints/digitcnn_fast.json; --recipe shipped repeats the shipped model's own 4-epoch recipe instead)
- effective_fields.safetensors: effective receptive fields at initialisation and after training
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from cnnviz import attack, checkpoint, effective_rf, embedding, snapshots
from cnnviz.data import load_split
from cnnviz.explain import SHIPPED_DIR
from cnnviz.recipes import recipe
from cnnviz.train import Trainer, TrainConfig

REPO = Path(__file__).resolve().parents[1]

CURVE_DIGITS = 2000                                    # test digits attacked for the accuracy curves
EPSILONS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3]
SNAPSHOT_EVAL_DIGITS = 2000                            # test digits each snapshot's accuracy is measured on
FIELD_DIGITS = 1000                                    # test digits the effective fields average over
PARTS = ("curve", "map", "snapshots", "fields")


def training_config(name: str, meta: dict, threads: int) -> TrainConfig:
    """The fast recipe (seed 0), or the config stored in the shipped checkpoint ("shipped"); on the CPU."""
    config = recipe("fast").to_dict() if name == "fast" else meta["config"]
    return TrainConfig.from_dict(dict(config, threads=threads, device="cpu", max_steps=None, eval_every=None))


def record_curve(model, test) -> dict:
    digits = test.subset(CURVE_DIGITS)
    curves = {"split": "test", "digits": f"the first {CURVE_DIGITS} of the test split", "count": CURVE_DIGITS}
    for method in attack.METHODS:
        started = time.perf_counter()
        curves[method] = attack.accuracy_curve(model, digits, EPSILONS, method=method)
        curves[method]["seconds"] = round(time.perf_counter() - started, 1)
    (SHIPPED_DIR / attack.SHIPPED_CURVE).write_text(json.dumps(curves, indent=1) + "\n")
    return {m: curves[m]["accuracy"] for m in attack.METHODS}


def record_map(model, test) -> dict:
    started = time.perf_counter()
    digits = embedding.digit_map(model, test, embedding.MAP_SIZE, seed=0)
    seconds = time.perf_counter() - started
    embedding.save_map(SHIPPED_DIR / embedding.SHIPPED_MAP, digits,
                       {"model": "checkpoints/digitcnn.safetensors", "split": "test", "seed": 0,
                        "layer": embedding.penultimate_layer(model), "seconds": round(seconds, 1)})
    return {"explained": digits.explained.tolist(), "seconds": round(seconds, 1)}


def record_snapshots(meta, train, test, threads, recipe_name) -> dict:
    config = training_config(recipe_name, meta, threads)
    trainer = Trainer(config, train)
    started = time.perf_counter()

    def report(step, total):
        if step % 100 == 0 or step == total:
            print(f"  step {step}/{total} ({time.perf_counter() - started:.0f} s)", flush=True)

    kept = snapshots.record(trainer, count=20, evaluation=test.subset(SNAPSHOT_EVAL_DIGITS), progress=report)
    kept.metadata.update(recipe=recipe_name, evaluation=f"the first {SNAPSHOT_EVAL_DIGITS} test digits",
                         seconds=round(time.perf_counter() - started, 1), precision=trainer.precision)
    snapshots.save(SHIPPED_DIR / snapshots.SHIPPED_SNAPSHOTS, kept, storage="int8")
    return {"steps": kept.steps, "accuracy": kept.accuracy}


def record_fields(model, meta, train, test, threads) -> dict:
    initial = Trainer(training_config("fast", meta, threads), train.subset(1)).model.eval()  # seed 0's start
    digits = test.subset(FIELD_DIGITS)
    fields = {"initial": effective_rf.effective_fields(initial, digits),
              "trained": effective_rf.effective_fields(model, digits)}
    effective_rf.save_fields(SHIPPED_DIR / effective_rf.SHIPPED_FIELDS, fields,
                             {"digits": FIELD_DIGITS, "split": "test", "initial": "seed 0 (snapshot 0)",
                              "trained": "checkpoints/digitcnn.safetensors"})
    return {state: [round(f.mass_inside(1), 3) for f in items] for state, items in fields.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS}")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--recipe", choices=("fast", "shipped"), default="fast", help="the snapshots' training run")
    args = parser.parse_args(argv)
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    torch.set_num_threads(args.threads)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    model, meta = checkpoint.load(checkpoint.shipped_path("fc"))
    test = load_split("test")
    train = load_split("train") if {"snapshots", "fields"} & set(parts) else None
    print(f"torch {torch.__version__}, {args.threads} thread(s), {platform.processor() or platform.machine()}")
    for part in parts:
        started = time.perf_counter()
        if part == "curve":
            result = record_curve(model, test)
        elif part == "map":
            result = record_map(model, test)
        elif part == "snapshots":
            result = record_snapshots(meta, train, test, args.threads, args.recipe)
        else:
            result = record_fields(model, meta, train, test, args.threads)
        print(f"{part}: {time.perf_counter() - started:.1f} s  {result}", flush=True)


if __name__ == "__main__":
    main()
