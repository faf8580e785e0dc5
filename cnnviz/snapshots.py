"""Snapshots of a model's weights through one training run, for replaying a digit's fate across training.

`record` drives a `cnnviz.train.Trainer` step by step and copies the weights at ~20 roughly log-spaced steps
(early training changes the most), from the initialisation (step 0) to the last step, with each snapshot's
accuracy on a fixed set of test digits. They are saved in one safetensors file: weight matrices and kernels as
int8 with one float32 scale per output row or filter (max |w| / 127), everything else float16; so 20 snapshots of
DigitCNN take ~4 MB instead of 16 MB in float32. A run in the training worker keeps its own snapshots as it goes
(`Keeper`), so a student's run can be replayed like the recorded one.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.evaluate import evaluate
from cnnviz.explain import SHIPPED_DIR
from cnnviz.model import DigitCNN, ModelConfig

SHIPPED_SNAPSHOTS = "snapshots.safetensors"
BUDGET_BYTES = 10 * 2**20  # the most a training run's kept snapshots hold in memory (Keeper)
STORAGE = ("int8", "float16", "float32")


def snapshot_steps(total_steps: int, count: int = 20) -> list[int]:
    """Step 0 (the initialisation), then about count - 1 log-spaced steps from 1 to total_steps, the last included."""
    if total_steps < 1 or count < 2:
        raise ValueError(f"need total_steps >= 1 and count >= 2, got {total_steps} and {count}")
    want, points = min(count - 1, total_steps), count - 1
    while True:  # rounding merges the first few log-spaced steps; space more points until enough stay distinct
        steps = sorted({int(round(s)) for s in np.geomspace(1, total_steps, points)})
        if len(steps) >= want:
            return [0] + steps
        points += 1


@dataclass(frozen=True, eq=False)
class Snapshots:
    steps: list                # optimizer steps done at each snapshot (0: the initialisation)
    accuracy: list             # accuracy on the evaluation digits at each snapshot (fractions)
    epoch_progress: list       # epochs completed at each snapshot
    model_config: dict         # ModelConfig.to_dict() of the trained model
    states: list               # [state_dict] float32, one per snapshot
    metadata: dict = field(default_factory=dict)  # the training config, the evaluation set, the storage

    def __len__(self) -> int:
        return len(self.steps)

    def model(self, i: int) -> nn.Module:
        """The model as it was at snapshot i, in eval mode."""
        if not -len(self) <= i < len(self):
            raise ValueError(f"snapshot index must be 0..{len(self) - 1}, got {i}")
        model = DigitCNN(ModelConfig.from_dict(self.model_config))
        model.load_state_dict(self.states[i])
        return model.eval()


def probabilities(snapshots: Snapshots, image) -> np.ndarray:
    """Softmax of one 28x28 picture in [0, 1] at every snapshot: [S, num_classes] (a digit's fate in training)."""
    from cnnviz.explain import as_pixels, working_copy

    pixels = as_pixels(image)  # [1, 1, H, W]
    with torch.no_grad():
        rows = [torch.softmax(working_copy(snapshots.model(i))(pixels), 1)[0] for i in range(len(snapshots))]
    return torch.stack(rows).double().numpy()


def _state(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in model.state_dict().items()}


class Keeper:
    """Keeps a training run's snapshots as it goes: the weights at `snapshot_steps(total_steps, count)`, in
    float16 (half the memory; a model loads them back into float32), and fewer of them when `count` copies would
    pass `budget_bytes` (a big design keeps at least its start and its end).

    The training worker offers it every step (`offer`), and once more with `last=True` for a run stopped early,
    so the replay ends on the step it reached; `snapshots` gives the Snapshots to replay.
    """

    def __init__(self, model: nn.Module, total_steps: int, count: int = 20, budget_bytes: int = BUDGET_BYTES):
        size = sum(t.numel() for t in model.state_dict().values()) * 2                  # bytes per float16 copy
        count = max(2, min(count, budget_bytes // max(size, 1)))
        self.wanted = set(snapshot_steps(total_steps, count))
        self.steps, self.accuracy, self.epoch_progress, self.states = [], [], [], []
        self.model_config = model.config.to_dict()
        self.offer(0, 0.0, model)

    def offer(self, step: int, epoch_progress: float, model: nn.Module, accuracy: float | None = None,
              last: bool = False) -> None:
        """Keep the weights after `step` when it is a wanted step (or the `last` one and not yet kept)."""
        if (step in self.wanted or last) and step not in self.steps:
            self.steps.append(int(step))
            self.epoch_progress.append(round(float(epoch_progress), 4))
            self.accuracy.append(None if accuracy is None else float(accuracy))
            self.states.append({k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype).clone()
                                for k, v in model.state_dict().items()})

    def snapshots(self, metadata: dict | None = None) -> Snapshots:
        return Snapshots(list(self.steps), list(self.accuracy), list(self.epoch_progress), self.model_config,
                         list(self.states), dict(metadata or {}, storage="float16"))


def record(trainer, count: int = 20, evaluation=None, progress=None) -> Snapshots:
    """Run `trainer` to the end, keeping `count` snapshots (see `snapshot_steps`); `evaluation` (a Split) gives
    each snapshot's accuracy (None: not measured). `progress(step, total)` is called after every step."""
    steps = snapshot_steps(trainer.total_steps, count)
    wanted = set(steps)
    kept = {"steps": [], "accuracy": [], "epoch_progress": [], "states": []}

    def keep(step: int, epochs: float) -> None:
        kept["steps"].append(step)
        kept["epoch_progress"].append(round(epochs, 4))
        kept["states"].append(_state(trainer.model))
        acc = evaluate(trainer.model, evaluation)["accuracy"] if evaluation is not None else None
        kept["accuracy"].append(acc)

    keep(0, 0.0)
    while (step := trainer.step()) is not None:
        if progress is not None:
            progress(step.step, trainer.total_steps)
        if step.step in wanted:
            keep(step.step, step.epoch_progress)
    meta = {"train_config": trainer.config.to_dict(), "total_steps": trainer.total_steps,
            "evaluation_size": len(evaluation) if evaluation is not None else 0}
    return Snapshots(kept["steps"], kept["accuracy"], kept["epoch_progress"], trainer.model.config.to_dict(),
                     kept["states"], meta)


def _pack(name: str, tensor: torch.Tensor, storage: str) -> dict:
    tensor = tensor.float()  # a Keeper's float16 copies are packed from float32 like any other
    if storage == "float32":
        return {name: tensor}
    if storage == "int8" and tensor.dim() >= 2:
        rows = tensor.flatten(1)                                          # [out, rest]
        scale = (rows.abs().amax(1) / 127).clamp_min(1e-12)               # [out]
        q = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(tensor.shape)
        return {name: q, f"{name}.scale": scale.float()}
    return {name: tensor.to(torch.float16)}


def _unpack(tensors: dict, name: str) -> torch.Tensor:
    t = tensors[name]
    if t.dtype == torch.int8:
        scale = tensors[f"{name}.scale"]                                  # [out]
        return (t.flatten(1).float() * scale[:, None]).reshape(t.shape)
    return t.float()


def save(path: str | Path, snapshots: Snapshots, storage: str = "int8") -> Path:
    """One safetensors file: snapshot i's tensor `w` as `{i}/w` (int8 + `{i}/w.scale`, float16 or float32)."""
    from safetensors.torch import save_file

    if storage not in STORAGE:
        raise ValueError(f"storage must be one of {STORAGE}, got {storage!r}")
    tensors = {}
    for i, state in enumerate(snapshots.states):
        for key, value in state.items():
            tensors.update(_pack(f"{i}/{key}", value, storage))
    header = {"steps": snapshots.steps, "accuracy": snapshots.accuracy,
              "epoch_progress": snapshots.epoch_progress, "model_config": snapshots.model_config,
              "metadata": dict(snapshots.metadata, storage=storage)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"cnnviz": json.dumps(header, allow_nan=False)})
    return path


def load(path: str | Path) -> Snapshots:
    """Snapshots from a file `save` wrote (weights back in float32); ValueError if it is not one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            header = json.loads(f.metadata()["cnnviz"])
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        names = sorted({k.split("/", 1)[1] for k in tensors if not k.endswith(".scale")})
        states = [{n: _unpack(tensors, f"{i}/{n}") for n in names} for i in range(len(header["steps"]))]
        snapshots = Snapshots(header["steps"], header["accuracy"], header["epoch_progress"],
                              header["model_config"], states, header.get("metadata", {}))
        snapshots.model(0)  # the weights fit the model the config describes
    except Exception as exc:  # safetensors and load_state_dict raise their own error types
        raise ValueError(f"cannot read the training snapshots {Path(path).name}: {exc}; "
                         "run `python scripts/record_explain.py` to record them") from None
    if not all(math.isfinite(v) for s in states for t in s.values() for v in (float(t.abs().max()),)):
        raise ValueError(f"{Path(path).name}: a snapshot holds NaN or infinite weights")
    return snapshots


def load_shipped_snapshots(folder: str | Path = SHIPPED_DIR) -> Snapshots:
    """The recorded snapshots of one training run with the shipped FC model's recipe; works without MNIST."""
    return load(Path(folder) / SHIPPED_SNAPSHOTS)
