"""How many training images a recipe needs before a test pass first reaches a target accuracy.

    python -m bench.recipe_sweep --seeds 0 1 2 3 \\
        "today=" "short=lr=8e-3,max_steps=360" "wu=lr=1e-2,max_steps=360,warmup_fraction=0.2"

Each config is `label=field=value,field=value,...` on top of the fast recipe (TrainConfig's defaults): the fields
are TrainConfig's. Training is the core's own Trainer, one step() at a time, on one thread (steps to a target do
not depend on the machine's load, so this runs fine beside other work). The test set is measured with
cnnviz.evaluate.evaluate every `--test-every` images once `--test-from` images have been seen, at the end of each
epoch, and at the end of the run. Prints one row per (config, seed): the images at the first test >= target, the
test passes up to it, the accuracy of that pass, and the accuracy at the end of the run (the full recipe).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import fields, replace

import torch

from cnnviz.data import load_split
from cnnviz.evaluate import evaluate
from cnnviz.recipes import recipe
from cnnviz.train import TrainConfig, Trainer

TEST_IMAGES = 10_000   # the cost of one test pass, counted in images of inference


def parse_config(spec: str, base: TrainConfig) -> tuple[str, TrainConfig]:
    """'label=field=value,...' -> (label, TrainConfig); values are read with the field's own type."""
    label, _, body = spec.partition("=")
    types = {f.name: f.type for f in fields(TrainConfig)}
    changes = {}
    for item in filter(None, body.split(",")):
        name, _, text = item.partition("=")
        if name not in types:
            raise ValueError(f"{name!r} is not a TrainConfig field")
        kind = types[name] if isinstance(types[name], str) else types[name].__name__
        if text == "None":
            changes[name] = None
        elif kind.startswith("int"):
            changes[name] = int(float(text))
        elif kind.startswith("float"):
            changes[name] = float(text)
        elif kind.startswith("bool"):
            changes[name] = text.lower() in ("1", "true", "yes")
        else:
            changes[name] = text
    return label or body, replace(base, **changes)


def first_to_target(config: TrainConfig, train, test, target: float, test_from: int, test_every: int,
                    keep_testing: bool = False) -> dict:
    """Train `config` to its end; the images at the first test >= target, the passes it took, and the end."""
    trainer = Trainer(replace(config, eval_every=None), train)
    next_test, passes, hit, hit_acc, low_after, acc = test_from, 0, None, None, None, None
    while (record := trainer.step()) is not None:
        seen = record.step * config.batch_size                  # images counted as steps x batch
        due = seen >= next_test
        if due:
            next_test = seen + test_every
        epoch_end = record.epoch_progress == record.epoch
        if trainer.done or ((due or epoch_end) and (hit is None or keep_testing)):
            acc = evaluate(trainer.model, test)["accuracy"]
            if hit is None:
                passes += 1
                if acc >= target:
                    hit, hit_acc = seen, acc
            elif not trainer.done:
                low_after = acc if low_after is None else min(low_after, acc)
    return {"images": hit, "passes": passes, "hit_acc": hit_acc, "final": acc, "steps": trainer.step_count,
            "low_after": low_after}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.recipe_sweep", description=__doc__.split("\n")[0])
    p.add_argument("configs", nargs="+", help="label=field=value,field=value (TrainConfig fields)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--test-from", type=int, default=30_000, help="first test after this many images")
    p.add_argument("--test-every", type=int, default=2_560, help="then a test every this many images")
    p.add_argument("--keep-testing", action="store_true", help="keep testing after the target (low_after)")
    p.add_argument("--data", default=os.environ.get("CNNVIZ_DATA"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    train, test = load_split("train", args.data, download=False), load_split("test", args.data, download=False)
    base = recipe("fast")
    configs = [parse_config(spec, base) for spec in args.configs]
    print(f"target {args.target:.2%}; tests from {args.test_from:,} images, every {args.test_every:,}; "
          f"1 thread; torch {torch.__version__}", flush=True)
    print(f"{'config':<22} {'seed':>4} {'images@target':>13} {'passes':>6} {'+tests':>8} {'acc@hit':>8} "
          f"{'final':>7} {'low_after':>9} {'steps':>5} {'s':>5} {'load':>5}", flush=True)
    summary = []
    for label, config in configs:
        rows = []
        for seed in args.seeds:
            started = time.perf_counter()
            r = first_to_target(replace(config, seed=seed), train, test, args.target, args.test_from,
                                args.test_every, args.keep_testing)
            rows.append(r)
            cost = "-" if r["images"] is None else f"{r['images'] + r['passes'] * TEST_IMAGES:,}"
            print(f"{label:<22} {seed:>4} {_n(r['images']):>13} {r['passes']:>6} {cost:>8} "
                  f"{_pct(r['hit_acc']):>8} {_pct(r['final']):>7} {_pct(r['low_after']):>9} {r['steps']:>5} "
                  f"{time.perf_counter() - started:>5.1f} {os.getloadavg()[0]:>5.1f}", flush=True)
        hits = [r["images"] for r in rows if r["images"] is not None]
        summary.append((label, len(hits), len(rows), max(hits) if len(hits) == len(rows) else None,
                        statistics.median(hits) if hits else None, min(r["final"] for r in rows)))
    print("\nconfig                 reached  worst images  median images  lowest final")
    for label, n, total, worst, median, low in summary:
        print(f"{label:<22} {n:>3}/{total:<3} {_n(worst):>13} {_n(median):>14} {_pct(low):>13}")
    return 0


def _n(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2%}"


if __name__ == "__main__":
    raise SystemExit(main())
