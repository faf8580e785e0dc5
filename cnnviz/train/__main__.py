"""python -m cnnviz.train: train DigitCNN from the command line with a progress bar per epoch.

This file is the package's __main__, so the CLI imports the trainer and never the other way round.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import fields

import torch

from cnnviz.model import ACTIVATIONS, HEADS, POOLS, ModelConfig
from cnnviz.train import (DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULES, StepRecord, TrainConfig, Trainer,
                          prepare_training_process, warm_up)

BAR_WIDTH = 30


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m cnnviz.train",
                                description="Train the chapter's DigitCNN, or a design of your own, on MNIST. "
                                            "With no flags: the chapter's design and the fast default recipe.")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--hard-fraction", type=float, default=d.hard_fraction,
                   help="epochs after the first show only this fraction of the images, those with the "
                   "highest loss when last seen (1 = all images every epoch)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak (one-cycle) or constant learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    p.add_argument("--beta2", type=float, default=d.beta2, help="Adam's decay of its mean squared gradient")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--warmup-fraction", type=float, default=d.warmup_fraction,
                   help="one-cycle: the share of the cycle spent rising to the peak rate")
    p.add_argument("--cycle-steps", type=int, default=d.cycle_steps,
                   help="one-cycle: anneal over the first N steps, then a second cycle over the rest")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--activation", choices=tuple(ACTIVATIONS), default=d.activation)
    p.add_argument("--head", choices=HEADS, default=d.head)
    design = p.add_argument_group("the design (one conv block per --channels number, all alike)")
    design.add_argument("--channels", type=int, nargs="+", default=[16, 32], metavar="N",
                        help="output channels of each conv block (default: 16 32)")
    design.add_argument("--kernel-size", type=int, default=3)
    design.add_argument("--padding", type=_padding, default="same", help="same | valid | a number of pixels")
    design.add_argument("--stride", type=int, default=1, help="the convolutions' stride")
    design.add_argument("--batch-norm", action="store_true", help="batch norm after each convolution")
    design.add_argument("--pool", choices=POOLS, default="max")
    design.add_argument("--pool-size", type=int, default=2)
    design.add_argument("--pool-stride", type=int, default=None, help="default: the pool size")
    design.add_argument("--hidden", type=int, nargs="*", default=None, metavar="N",
                        help="hidden layer widths of the FC head, zero to two (default: 128; none with --head gap)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads,
                   help="torch threads (default: torch's choice, or 1 when other programs keep every core busy)")
    p.add_argument("--device", choices=DEVICES, default=d.device)
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="stop after this many steps")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help="also evaluate N steps after the last test")
    p.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size)
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   help="keep the NCHW memory layout")
    p.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help="bfloat16 autocasts the training steps; auto picks it where the hardware has "
                   "fast bf16 units")
    p.add_argument("--dataset", choices=("mnist", "fashion"), default=d.dataset)
    p.add_argument("--train-size", type=int, default=None, help="train on the first N images only")
    p.add_argument("--data", default=None, help="data root holding MNIST/raw "
                   "(default: $CNNVIZ_DATA, else ~/.cache/cnnviz)")
    p.add_argument("--download", action="store_true", help="download MNIST if it is missing")
    p.add_argument("--out", default=None, help="write the trained model here (.safetensors)")
    return p


def _padding(text: str) -> str | int:
    if text in ("same", "valid"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"padding is 'same', 'valid' or a number, got {text!r}") from None


def design_from_args(args: argparse.Namespace) -> ModelConfig:
    """The design the flags describe; ValueError (saying what to change) for one that cannot work."""
    return ModelConfig.uniform(channels=tuple(args.channels), kernel_size=args.kernel_size, padding=args.padding,
                               stride=args.stride, activation=args.activation, batch_norm=args.batch_norm,
                               pool=args.pool, pool_size=args.pool_size, pool_stride=args.pool_stride,
                               head=args.head, hidden=None if args.hidden is None else tuple(args.hidden),
                               dropout=args.dropout)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)} - {"model"}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    design = design_from_args(args)
    return config if design == config.model_config() else TrainConfig(**{**vars(config), "model": design})


def default_threads(load: float, cores: int, torch_default: int) -> int:
    """Torch threads when --threads is not given: torch's own choice, unless other programs already keep every
    core busy (1-minute load average >= cores); then 1, as two OpenMP threads that the system keeps
    descheduling mostly wait for each other (bench/NOTES.md section 1)."""
    return 1 if load >= cores else torch_default


def warm_up_while(config: TrainConfig) -> threading.Thread:
    """Start warm_up(config) in a thread: its kernels run while the main thread reads the data (mostly Python:
    torchvision's import, the files), so on two cores the two overlap. Its failures are left to the real run."""
    def run():
        try:
            warm_up(config)
        except Exception:  # noqa: BLE001 -- e.g. no such device: the Trainer below says so properly
            pass

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def progress_bar(record: StepRecord, epochs: int) -> str:
    fraction = record.epoch_progress - (record.epoch - 1)
    filled = int(BAR_WIDTH * fraction)
    return (f"\rEpoch {record.epoch}/{epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * fraction:5.1f}%"
            f"  loss {record.batch_loss:.4f}  train {100 * record.train_acc:5.1f}%"
            f"  {record.images_per_sec:6.0f} img/s  {record.elapsed:5.1f}s")


def evaluation_line(record: StepRecord, epoch_end: bool, loss: float) -> str:
    where = f"Epoch {record.epoch}" if epoch_end else f"Epoch {record.epoch_progress:.2f} (step {record.step})"
    return (f"{where}: Loss={loss:.4f}  Train={100 * record.train_acc:.1f}%  "
            f"Test={100 * record.test_acc:.2f}%  ({record.elapsed:.1f}s)")


def recorded_command(argv: list[str]) -> str:
    """The command line as stored in a checkpoint: without --data (where MNIST lies is this machine's
    business, not the recipe's) and with any other absolute path cut to its file name."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--data":
            skip = True
        elif not arg.startswith("--data="):
            flag, eq, value = arg.rpartition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
            kept.append(flag + eq + (os.path.basename(value) if os.path.isabs(value) else value))
    return " ".join(["python -m cnnviz.train", *kept])


def main(argv=None) -> int:
    from cnnviz.data import CorruptDataError, MissingDataError, load_split

    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    prepare_training_process()
    torch.set_num_threads(config.threads or default_threads(os.getloadavg()[0], os.cpu_count() or 1,
                                                            torch.get_num_threads()))
    warming = warm_up_while(config)
    download = True if args.download else False
    try:
        train = load_split("train", args.data, config.dataset, download=download)
        test = load_split("test", args.data, config.dataset, download=download)
    except (MissingDataError, CorruptDataError) as exc:
        print(f"error: {exc}")
        return 2
    finally:
        warming.join()
    if args.train_size:
        train = train.subset(args.train_size)
    trainer = Trainer(config, train, test)
    design = trainer.model.config
    print(f"Training DigitCNN (blocks of {'/'.join(map(str, design.channels))} channels, {config.head} head, "
          f"{sum(design.parameter_counts().values()):,} parameters) on {len(train)} {config.dataset} images, "
          f"{trainer.total_steps} steps "
          f"on {trainer.device} ({torch.get_num_threads()} threads, {trainer.precision}); "
          f"config: {config.to_dict()}")
    if config.epochs > 1 and trainer.hard_count < len(train):
        print(f"Epochs 2-{config.epochs} each revisit the {trainer.hard_count} images with the highest loss "
              f"when last seen ({config.hard_fraction:.0%}; --hard-fraction 1 shows every image every epoch)")
    tty = sys.stdout.isatty()
    try:
        while (record := trainer.step()) is not None:
            if tty and (record.step % 10 == 0 or record.test_acc is not None):
                print(progress_bar(record, config.epochs), end="", flush=True)
            if record.test_acc is not None:
                closes_epoch = bool(trainer.epochs) and trainer.epochs[-1]["steps"] == record.step
                loss = trainer.epochs[-1]["loss"] if closes_epoch else record.batch_loss
                epoch_end = closes_epoch and trainer.epochs[-1]["fraction"] >= 1
                print(("\n" if tty else "") + evaluation_line(record, epoch_end, loss), flush=True)
    except KeyboardInterrupt:
        trainer.stop()
        print("\nStopped early; the model keeps the weights it had reached.")
    final = trainer.final_metrics()
    print(f"Done: {final['steps']} steps, {final['elapsed']:.1f}s, "
          f"test accuracy {100 * (final['test_acc'] or 0):.2f}%")
    if args.out:
        from cnnviz.checkpoint import save
        from cnnviz.evaluate import evaluation_report

        metadata = trainer.metadata()
        metadata["evaluation"] = evaluation_report(trainer.model, test)
        metadata["command"] = recorded_command(sys.argv[1:] if argv is None else argv)
        path = save(args.out, trainer.model, metadata)
        print(f"Saved {path}")
    else:
        print("Not saved (pass --out PATH.safetensors to keep the model).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
