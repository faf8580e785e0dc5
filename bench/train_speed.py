"""Benchmark: the chapter's reference recipe vs cnnviz's default recipe, in one process.

(a) reference, as the chapter writes it: torchvision MNIST with ToTensor + Normalize, DataLoader batch 64
    with shuffle, Adam lr 1e-3, 3 epochs, test evaluation after each epoch.
(b) ours: TrainConfig() defaults through cnnviz.train.Trainer, for several seeds, timing the first
    evaluation that reaches the target accuracy (evaluation time counted). It is evaluated at each
    epoch end and every quarter epoch during the last epoch (--extra-from / --extra-every).

    python -m bench.train_speed --data ../shared/data            # full run (a few minutes)
    python -m bench.train_speed --data ../shared/data --quick    # dry run: a few hundred steps each
Not a test: timings depend on the machine and on what else runs on it (the load average is printed;
process CPU seconds are printed too: they move less than wall time when other programs share the cores).
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from cnnviz.data import MEAN, STD, data_root, load_split
from cnnviz.model import DigitCNN
from cnnviz.train import TrainConfig, Trainer, evaluate


def load_average() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def reference(root: Path, epochs: int, max_batches: int | None, target: float, seed: int) -> dict:
    """The chapter's training script, unchanged except for timing and the accuracy log."""
    from torch import nn, optim
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    started = time.perf_counter()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    train_data = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    test_data = datasets.MNIST(str(root), train=False, transform=transform)
    train_loader = DataLoader(train_data, batch_size=64, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=1000)
    model = DigitCNN()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    setup = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    train_time, seen, time_to_target, cpu_to_target, accuracies = 0.0, 0, None, None, []
    for epoch in range(epochs):
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        epoch_start = time.perf_counter()
        for batch, (images, labels) in enumerate(train_loader):
            if max_batches is not None and batch >= max_batches:
                break
            outputs = model(images)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            _, predicted = outputs.max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
        train_time += time.perf_counter() - epoch_start
        seen += total
        model.eval()
        test_correct, test_total = 0, 0
        with torch.no_grad():
            for images, labels in test_loader:
                _, predicted = model(images).max(1)
                test_total += labels.size(0)
                test_correct += predicted.eq(labels).sum().item()
        accuracy = test_correct / test_total
        accuracies.append(accuracy)
        wall = time.perf_counter() - started
        print(f"  reference epoch {epoch + 1}: Train={100 * correct / total:.1f}%  Test={100 * accuracy:.2f}%  "
              f"{wall:.1f}s  ({load_average()})", flush=True)
        if time_to_target is None and accuracy >= target:
            time_to_target, cpu_to_target = wall, time.process_time() - cpu_started
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu_started, "setup": setup,
            "time_to_target": time_to_target, "cpu_to_target": cpu_to_target,
            "images_per_sec": seen / train_time, "final_acc": accuracies[-1], "accuracies": accuracies}


def ours(config: TrainConfig, train, test, target: float, extra_from: float, extra_every: float) -> dict:
    """Run the Trainer to the end; note the first evaluation at or above the target. Besides the Trainer's
    epoch-end evaluations, evaluate every `extra_every` epochs once `extra_from` epochs are done."""
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer = Trainer(config, train, test)
    time_to_target, cpu_to_target, at_epoch, evals = None, None, None, []
    next_extra = extra_from + extra_every
    while (record := trainer.step()) is not None:
        accuracy = record.test_acc
        if record.epoch_progress >= next_extra - 1e-9:
            next_extra += extra_every
            if accuracy is None:
                accuracy = evaluate(trainer.model, test, config.eval_batch_size)["accuracy"]
        if accuracy is None:
            continue
        evals.append((round(record.epoch_progress, 2), accuracy))
        if time_to_target is None and accuracy >= target:
            time_to_target, at_epoch = time.perf_counter() - started, record.epoch_progress
            cpu_to_target = time.process_time() - cpu_started
    # each epoch's last record holds that epoch's training throughput (evaluation time excluded)
    speeds = [r.images_per_sec for r, nxt in zip(trainer.records, trainer.records[1:] + [None])
              if nxt is None or nxt.epoch != r.epoch]
    return {"wall": time.perf_counter() - started, "time_to_target": time_to_target, "at_epoch": at_epoch,
            "cpu_to_target": cpu_to_target,
            "images_per_sec": sum(speeds) / len(speeds),
            "final_acc": trainer.final_metrics()["test_acc"],
            "precision": trainer.precision, "evals": evals}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="data root holding MNIST/raw")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--eval-every", type=int, default=None, help="our recipe: also evaluate every N steps")
    p.add_argument("--extra-from", type=float, default=2.0,
                   help="our recipe: after this many epochs also evaluate every --extra-every epochs")
    p.add_argument("--extra-every", type=float, default=0.25)
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--quick", action="store_true", help="dry run: 1 short reference epoch, 60 steps of ours")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override TrainConfig fields of our recipe, e.g. --set batch_size=128 lr=0.003")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    root = data_root(args.data)
    config = TrainConfig(threads=args.threads, eval_every=args.eval_every)
    for item in args.set:
        field, value = item.split("=", 1)
        kind = type(getattr(config, field))
        config = replace(config, **{field: value if kind is str else kind(float(value)) if kind is int
                                    else kind(value)})
    if args.quick:
        config = replace(config, max_steps=60)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; {load_average()}")
    print(f"our recipe: {config.to_dict()}")
    ref = None
    if not args.skip_reference:
        print("(a) reference recipe", flush=True)
        ref = reference(root, 1 if args.quick else 3, 100 if args.quick else None, args.target, seed=0)
        reached = "not reached" if ref["time_to_target"] is None else f"{ref['time_to_target']:.1f}s"
        print(f"(a) reference: {len(ref['accuracies'])}-epoch wall {ref['wall']:.1f}s, CPU {ref['cpu']:.1f}s "
              f"(setup {ref['setup']:.1f}s not counted), "
              f"time to {100 * args.target:.1f}%: {reached}, "
              f"{ref['images_per_sec']:.0f} img/s, final {100 * ref['final_acc']:.2f}%  ({load_average()})",
              flush=True)
    started = time.perf_counter()
    train, test = load_split("train", root, download=False), load_split("test", root, download=False)
    print(f"(b) loaded MNIST into memory in {time.perf_counter() - started:.1f}s (not counted)")
    rows = []
    for seed in args.seeds:
        result = ours(replace(config, seed=seed), train, test, args.target, args.extra_from, args.extra_every)
        rows.append(result)
        reached = result["time_to_target"]
        ratio = (f"{ref['wall'] / reached:.2f} (CPU time: {ref['cpu'] / result['cpu_to_target']:.2f})"
                 if ref and reached else "n/a")
        when = ("not reached" if reached is None else
                f"{reached:.1f}s, CPU {result['cpu_to_target']:.1f}s (epoch {result['at_epoch']:.2f})")
        print(f"(b) ours seed {seed}: time to {100 * args.target:.1f}%: {when}, "
              f"{result['images_per_sec']:.0f} img/s, final {100 * result['final_acc']:.2f}%, "
              f"wall {result['wall']:.1f}s, ratio {ratio}  ({load_average()})", flush=True)
        print(f"    {result['precision']}; evaluations (epoch, test %): "
              f"{[(e, round(100 * a, 2)) for e, a in result['evals']]}")
    if ref:
        ratios = [ref["wall"] / r["time_to_target"] if r["time_to_target"] else 0.0 for r in rows]
        cpu_ratios = [ref["cpu"] / r["cpu_to_target"] if r["cpu_to_target"] else 0.0 for r in rows]
        print(f"ratios (a) 3-epoch wall / (b) time to target: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"min {min(ratios):.2f} (target >= 5)")
        print(f"same with process CPU seconds (less sensitive to other load): "
              f"{', '.join(f'{x:.2f}' for x in cpu_ratios)}; min {min(cpu_ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
