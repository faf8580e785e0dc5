"""Record the design lab's presets: train each with the lab's recipe and write checkpoints/designs/.

    CNNVIZ_DATA=path/to/data python -m scripts.record_designs [--only tiny gap] [--threads 1] [--seed 0]

For every preset (cnnviz/presets.py) it trains a fresh model with `presets.lab_recipe` (the fast recipe, a test
every 250 steps) and writes `<key>.json`, the recorded run (config, curve, history, final numbers, images/s),
and, for a preset under presets.WEIGHTS_LIMIT parameters, `<key>.safetensors` (weights and metadata, no curve:
the JSON holds it). Timings depend on the machine and its load; the JSON says which device and threads.
"""
from __future__ import annotations

import argparse
import time

import torch


from cnnviz import checkpoint, presets
from cnnviz.data import load_split
from cnnviz.train import Trainer


def record(key: str, train, test, threads: int, seed: int) -> dict:
    """Train one preset and write its files; the run record."""
    design = presets.preset(key).config
    config = presets.lab_recipe(design, threads=threads, seed=seed, device="cpu")
    trainer = Trainer(config, train, test)
    started = time.perf_counter()
    while (record := trainer.step()) is not None:
        if record.test_acc is not None:
            print(f"  {key}: step {record.step}/{trainer.total_steps}  test {100 * record.test_acc:.2f}%  "
                  f"{record.images_per_sec:,.0f} img/s  {record.elapsed:.1f} s", flush=True)
    command = f"python -m scripts.record_designs --only {key} --threads {threads} --seed {seed}"
    metadata = dict(trainer.metadata(), command=command)
    run = presets.run_record(key, metadata, command)
    if presets.ships_weights(design):
        checkpoint.save(presets.weights_path(key), trainer.model, {k: v for k, v in metadata.items() if k != "curve"})
    else:
        presets.weights_path(key).unlink(missing_ok=True)
    presets.write_run(key, run)
    print(f"{key}: {run['params']:,} parameters, test {100 * run['final']['test_acc']:.2f}%, "
          f"{time.perf_counter() - started:.1f} s wall, weights {'shipped' if run['weights'] else 'not shipped'}",
          flush=True)
    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(presets.PRESETS), default=list(presets.PRESETS))
    p.add_argument("--threads", type=int, default=1, help="torch threads (a shared machine: keep it small)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="data root holding MNIST/raw (default: $CNNVIZ_DATA)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    train, test = load_split("train", args.data, download=False), load_split("test", args.data, download=False)
    for key in args.only:
        record(key, train, test, args.threads, args.seed)
    total = sum(f.stat().st_size for f in presets.DESIGNS_DIR.iterdir())
    print(f"checkpoints/designs/: {total / 2**20:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
