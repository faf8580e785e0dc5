"""The training engine: a Trainer that advances one optimizer step per call, for a TrainConfig (cnnviz/train/config.py).

The UI (in a background thread), the CLI (python -m cnnviz.train, see cnnviz/train/__main__.py) and the tests
all drive the same Trainer.step(). Accuracies are fractions in [0, 1] everywhere.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.data import Split
from cnnviz.device import resolve_device, resolve_precision
from cnnviz.evaluate import evaluate
from cnnviz.heap import keep_freed_memory
from cnnviz.model import DigitCNN, ModelConfig
from cnnviz.torch_internals import SGD, Adam, compile_free_optimizers
from cnnviz.train.config import (  # noqa: F401 - the package's API
    DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULES, TrainConfig)

CURVE_POINTS = 150   # records kept in checkpoint metadata for replaying the training curve


@dataclass(frozen=True)
class StepRecord:
    step: int                         # optimizer steps done so far (1 for the first)
    epoch: int                        # the epoch this step belongs to (1-based)
    epoch_progress: float             # epochs completed as a fraction, e.g. 1.25 = a quarter into epoch 2
    batch_loss: float                 # cross-entropy of this step's batch
    train_acc: float                  # running accuracy on this epoch's batches so far
    lr: float                         # learning rate used for this step
    images_per_sec: float             # training throughput this epoch (evaluation excluded)
    elapsed: float                    # seconds spent inside step() so far, evaluation included
    test_acc: float | None = None     # set on records where an evaluation ran
    test_loss: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def init_parameters(model: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Conv2d/Linear initialisation, drawn from `generator` instead of the global RNG;
    batch norms start as PyTorch starts them (scale 1, shift 0, running mean 0 and variance 1)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                if module.bias is not None:
                    bound = 1 / math.sqrt(module.weight[0].numel())  # 1 / sqrt(fan_in)
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()


class Trainer:
    """Trains a fresh DigitCNN on `train`; each step() does one optimizer step and returns its StepRecord."""

    def __init__(self, config: TrainConfig, train: Split, test: Split | None = None,
                 model_config: ModelConfig | None = None):
        if len(train) == 0:
            raise ValueError("the training split is empty")
        self.config = config
        self.train_split, self.test_split = train, test
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        design = model_config or config.model_config()
        _check_fits(design, train)
        generator = torch.Generator().manual_seed(config.seed)
        with torch.device("meta"):  # build without drawing from (or seeding) the global RNG
            model = DigitCNN(design)
        self.model = model.to_empty(device="cpu")
        init_parameters(self.model, generator)
        self.model.to(self.device, memory_format=self.memory_format)
        self._shuffle = generator                     # epoch permutations continue the same stream
        self._dropout_rng = torch.Generator().manual_seed(config.seed + 1).get_state()
        self._images = train.images.to(self.device)   # [N, 1, 28, 28]
        self._labels = train.labels.to(self.device)   # [N]
        n = len(train)
        self.hard_count = max(1, math.ceil(config.hard_fraction * n))  # images in each epoch after the first
        self.steps_per_epoch = math.ceil(n / config.batch_size)         # steps of the first epoch
        self.total_steps = self.steps_per_epoch + (config.epochs - 1) * math.ceil(self.hard_count / config.batch_size)
        self._last_loss = torch.full((n,), math.inf)  # each image's loss when last seen (inf: not seen yet)
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.optimizer = self._make_optimizer()
        self.cycle_end = min(config.cycle_steps or self.total_steps, self.total_steps)  # the first cycle's last step
        self.scheduler = self._one_cycle(self.cycle_end) if config.schedule == "onecycle" else None
        self.records: list[StepRecord] = []
        self.epochs: list[dict] = []
        self.done = False
        self.step_count = 0
        self._tested = 0             # the step of the last test pass (eval_every counts from it)
        self.elapsed = 0.0
        self._epoch = 0           # 1-based index of the epoch in progress (0 before the first step)
        self._perm = None
        self._position = 0        # index into this epoch's order of images
        self._epoch_stats = {}

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """torch's Adam or SGD, as subclasses whose step never imports the compiler (cnnviz.torch_internals)."""
        c = self.config
        if c.optimizer == "sgd":
            return SGD(self.model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        return Adam(self.model.parameters(), lr=c.lr, betas=(0.9, c.beta2), weight_decay=c.weight_decay)

    def _one_cycle(self, steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
        """Warm up to the peak rate over warmup_fraction of `steps`, then anneal towards 0 by their end."""
        return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=self.config.lr, total_steps=steps,
                                                   pct_start=self.config.warmup_fraction)

    def stop(self) -> None:
        """Finish now: later step() calls return None. The model keeps the weights it has."""
        self.done = True

    def step(self) -> StepRecord | None:
        if self.done or self.step_count >= self.total_steps:
            self.done = True
            return None
        started = time.perf_counter()
        if self._perm is None or self._position >= len(self._perm):
            self._start_epoch()
        n = len(self._perm)
        batch = self._perm[self._position:self._position + self.config.batch_size]
        x = self._images[batch].contiguous(memory_format=self.memory_format)  # [B, 1, 28, 28]
        y = self._labels[batch]                                               # [B]
        lr = self.optimizer.param_groups[0]["lr"]
        losses, correct = self._optimize(x, y)
        self._last_loss[batch.cpu()] = losses.cpu()
        loss = float(losses.mean())
        self.step_count += 1
        if self.scheduler is not None and self.step_count == self.cycle_end < self.total_steps:
            self.scheduler = self._one_cycle(self.total_steps - self.step_count)  # the second cycle
        self._position += len(batch)
        stats = self._epoch_stats
        stats["loss_sum"] += loss * len(batch)
        stats["correct"] += correct
        stats["seen"] += len(batch)
        stats["train_time"] += time.perf_counter() - started
        epoch_end = self._position >= n
        finished = self.step_count >= self.total_steps
        evaluation = None
        every = self.config.eval_every
        due = every is not None and self.step_count - self._tested >= every
        if self.test_split is not None and (epoch_end or finished or due):
            evaluation = evaluate(self.model, self.test_split, self.config.eval_batch_size)
            self._tested = self.step_count
        self.elapsed += time.perf_counter() - started
        record = StepRecord(
            step=self.step_count, epoch=self._epoch,
            epoch_progress=self._epoch - 1 + self._position / n,
            batch_loss=loss, train_acc=stats["correct"] / stats["seen"], lr=lr,
            images_per_sec=stats["seen"] / max(stats["train_time"], 1e-9), elapsed=self.elapsed,
            test_acc=evaluation["accuracy"] if evaluation else None,
            test_loss=evaluation["loss"] if evaluation else None)
        self.records.append(record)
        if epoch_end or finished:
            self.epochs.append({"epoch": self._epoch, "fraction": self._position / n, "images": stats["seen"],
                                "loss": stats["loss_sum"] / stats["seen"], "train_acc": record.train_acc,
                                "test_acc": record.test_acc, "test_loss": record.test_loss,
                                "elapsed": self.elapsed, "steps": self.step_count})
        self.done = finished
        return record

    def _start_epoch(self) -> None:
        """The first epoch shows every image; later ones the `hard_count` images with the highest last loss.
        Either way in an order drawn from this trainer's own random stream."""
        self._epoch += 1
        self._position = 0
        if self._epoch == 1 or self.hard_count >= len(self._labels):
            order = torch.randperm(len(self._labels), generator=self._shuffle)
        else:
            hardest = torch.topk(self._last_loss, self.hard_count, sorted=False).indices.sort().values
            order = hardest[torch.randperm(self.hard_count, generator=self._shuffle)]
        self._perm = order.to(self.device)
        self._epoch_stats = {"loss_sum": 0.0, "correct": 0, "seen": 0, "train_time": 0.0}

    def _optimize(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """One forward/backward/update; the per-image losses [B] and how many were right.
        Dropout draws from this trainer's own random stream."""
        self.model.train()
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._dropout_rng)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.precision == "bfloat16"):
                logits = self.model.forward_pooling_first(x)  # [B, 10], as self.model(x) gives them
                losses = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing, reduction="none")
            self.optimizer.zero_grad(set_to_none=True)
            losses.mean().backward()
            self.optimizer.step()
            self._dropout_rng = torch.get_rng_state()
        if self.scheduler is not None:
            self.scheduler.step()
        return losses.detach().float(), int((logits.argmax(1) == y).sum())

    def run(self) -> list[StepRecord]:
        """Step until done (what the CLI does, minus the printing)."""
        while self.step() is not None:
            pass
        return self.records

    def final_metrics(self) -> dict:
        last_eval = next((r for r in reversed(self.records) if r.test_acc is not None), None)
        last_epoch = self.epochs[-1] if self.epochs else {}
        return {"test_acc": last_eval.test_acc if last_eval else None,
                "test_loss": last_eval.test_loss if last_eval else None,
                "train_acc": last_epoch.get("train_acc"), "train_loss": last_epoch.get("loss"),
                "steps": self.step_count,
                "epochs": self.records[-1].epoch_progress if self.records else 0.0,
                "elapsed": self.elapsed}

    def metadata(self) -> dict:
        """What a checkpoint stores beside the weights: enough to rebuild, judge and replay this run."""
        split = self.train_split
        return {"config": self.config.to_dict(), "model_config": self.model.config.to_dict(),
                "dataset": {"name": split.dataset, "train_size": len(split),
                            "test_size": len(self.test_split) if self.test_split is not None else 0},
                "final": self.final_metrics(), "history": list(self.epochs),
                "curve": [_rounded(r.to_dict()) for r in downsample(self.records, CURVE_POINTS)],
                "device": str(self.device), "precision": self.precision, "torch": torch.__version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def prepare_training_process() -> None:
    """What a process that trains (the CLI, a training worker) sets once, before its first step: glibc keeps the
    memory each step frees for the next (cnnviz.heap), and torch.optim does not import the compiler
    (cnnviz.torch_internals). Both hold for the whole process: not for the server, which gives memory back."""
    keep_freed_memory()
    compile_free_optimizers()


def warm_up(config: TrainConfig, steps: int = 3) -> None:
    """A few throwaway steps of `config`'s recipe on blank images: the thread pool starts and the kernels for
    these shapes are chosen, so the first steps of a real run do not pay for that. Trainer draws from its own
    generators, so a later run's numbers do not depend on this."""
    design = config.model_config()
    n, size = config.batch_size * steps, design.image_size
    images = torch.zeros(n, design.in_channels, size, size)                # [n, C, H, W]
    raw = torch.zeros(n, size, size, dtype=torch.uint8)                    # [n, H, W]
    blank = Split(images, torch.zeros(n, dtype=torch.int64), raw)
    Trainer(replace(config, max_steps=steps, eval_every=None), blank).run()


def _check_fits(design: ModelConfig, split: Split) -> None:
    """A ValueError when the design cannot read the split's images or name all of its labels."""
    shape = (design.in_channels, design.image_size, design.image_size)
    if tuple(split.images.shape[1:]) != shape:
        raise ValueError(f"this design reads images of shape {list(shape)}, the data holds "
                         f"{list(split.images.shape[1:])}: set in_channels and image_size to match")
    if len(split) and int(split.labels.max()) >= design.num_classes:
        raise ValueError(f"this design has {design.num_classes} classes, the data has labels up to "
                         f"{int(split.labels.max())}: set num_classes to at least {int(split.labels.max()) + 1}")


def downsample(records: list[StepRecord], points: int) -> list[StepRecord]:
    """About `points` evenly spaced records plus every record that carries an evaluation, in order."""
    if len(records) <= points:
        return list(records)
    stride = len(records) / points
    keep = {min(len(records) - 1, round(i * stride)) for i in range(points)} | {len(records) - 1}
    keep |= {i for i, r in enumerate(records) if r.test_acc is not None}
    return [records[i] for i in sorted(keep)]


def _rounded(record: dict, digits: int = 5) -> dict:
    """Floats to `digits` significant digits: keeps checkpoint metadata small."""
    return {k: float(f"{v:.{digits}g}") if isinstance(v, float) else v for k, v in record.items()}


def replay(metadata: dict) -> list[StepRecord]:
    """The stored training curve of a checkpoint as StepRecords (for the training page)."""
    return [StepRecord(**record) for record in metadata.get("curve", [])]
