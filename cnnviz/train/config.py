"""What a training run is asked to do: the frozen TrainConfig (hyperparameters, design, device, precision), checked
when it is made. cnnviz.train's Trainer runs it; checkpoints keep it (to_dict / from_dict).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from cnnviz.evaluate import EVAL_BATCH_SIZE
from cnnviz.model import ModelConfig

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "onecycle")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3                  # passes over the training set (the first is always over every image)
    hard_fraction: float = 0.3       # each later epoch revisits only this fraction of the images: those with the
                                     # highest loss when last seen (1.0 = every image every epoch; bench/NOTES.md §6)
    batch_size: int = 128            # images per optimizer step
    lr: float = 3e-3                 # the peak rate for one-cycle, else the constant rate
    optimizer: str = "adam"          # adam | sgd (SGD uses `momentum`)
    momentum: float = 0.9            # SGD momentum
    beta2: float = 0.999             # Adam's decay of its running mean of squared gradients
    weight_decay: float = 0.0        # L2 penalty added by the optimizer
    schedule: str = "onecycle"       # constant | onecycle (warm up to lr, then anneal towards 0)
    warmup_fraction: float = 0.3     # one-cycle: the share of its steps spent rising to lr (PyTorch's pct_start)
    cycle_steps: int | None = None   # one-cycle: anneal over the first cycle_steps steps, then run a second cycle
                                     # over the rest (None = one cycle over the whole run)
    label_smoothing: float = 0.1     # cross-entropy against (1 - e) one-hot + e / 10 uniform targets
    dropout: float = 0.25            # dropout before the last layer (FC head)
    activation: str = "relu"         # relu | leaky_relu | tanh | sigmoid
    head: str = "fc"                 # fc (the chapter's DigitCNN) | gap (global average pooling)
    seed: int = 0                    # weight init, shuffling and dropout; same seed on CPU = same run
    threads: int | None = None       # torch.set_num_threads in the CLI; None leaves torch's default
    device: str = "auto"             # auto (cuda, then mps, then cpu) | cpu | cuda | mps
    max_steps: int | None = None     # budget: stop after this many optimizer steps (None = all epochs)
    eval_every: int | None = None    # also evaluate N steps after the last test (None = at each epoch end only)
    eval_batch_size: int = EVAL_BATCH_SIZE  # test images per forward pass during evaluation
    channels_last: bool = True       # NHWC memory layout: faster convolutions on CPU
    precision: str = "auto"          # float32 | bfloat16 (autocast the training steps; weights stay float32) |
                                     # auto: bfloat16 where the CPU/GPU has fast bf16 units, else float32
    dataset: str = "mnist"           # mnist | fashion (which files the CLI loads)
    model: ModelConfig | None = None  # the design to train (a dict is read with ModelConfig.from_dict); None:
                                     # the chapter's design with the dropout / activation / head above. When set,
                                     # those three fields are copied from it.

    def __post_init__(self):
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        if self.model is not None:
            if not isinstance(self.model, ModelConfig):
                raise ValueError(f"model must be a ModelConfig (or its dict), got {type(self.model).__name__}")
            for name in ("dropout", "activation", "head"):
                object.__setattr__(self, name, getattr(self.model, name))
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "eval_batch_size": self.eval_batch_size}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("max_steps", "eval_every", "threads", "cycle_steps"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise ValueError(f"{name} must be None or a whole number >= 1, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not 0 < self.beta2 < 1:
            raise ValueError(f"beta2 must be in (0, 1), got {self.beta2!r}")
        if not 0 <= self.momentum < 1 or self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise ValueError("momentum and label_smoothing must be in [0, 1), weight_decay >= 0")
        if not 0 < self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in (0, 1), got {self.warmup_fraction!r}")
        if not 0 < self.hard_fraction <= 1:
            raise ValueError(f"hard_fraction must be in (0, 1], got {self.hard_fraction!r}")
        for name, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("device", DEVICES),
                              ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        self.model_config()  # raises ValueError for a bad dropout / activation / head

    def model_config(self) -> ModelConfig:
        """The design this config trains."""
        if self.model is not None:
            return self.model
        return ModelConfig.uniform(dropout=self.dropout, activation=self.activation, head=self.head)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = None if self.model is None else self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in d.items() if k in names}
        known.setdefault("hard_fraction", 1.0)  # saved before the field existed: every image, every epoch
        return cls(**known)
