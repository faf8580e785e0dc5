"""Effective receptive fields (Luo et al. 2016): how strongly each pixel actually moves a unit, next to the box of
pixels that can move it at all (the theoretical field of `cnnviz.receptive_field`).

For the centre unit of each conv layer: the gradient of that unit (summed over the layer's channels, before the
activation) with respect to the [0, 1] input pixels, in absolute value, averaged over digits and scaled so its
largest value is 1. The gradient is zero outside the theoretical box; inside, it is usually concentrated near the
centre and fades towards the box's edges, the more so the deeper the layer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.explain import SHIPPED_DIR, working_copy
from cnnviz.model import leaf_layers
from cnnviz.receptive_field import field_rows, unit_window

SHIPPED_FIELDS = "effective_fields.safetensors"


@dataclass(frozen=True, eq=False)
class EffectiveField:
    layer: str                 # the conv layer's name
    unit: tuple                # (y, x) of the centre unit in the layer's output
    gradient: np.ndarray       # [H, W] mean |d unit / d pixel| over the digits, largest value 1 (all 0 if flat)
    box: tuple                 # (y0, y1, x0, x1) the theoretical field of that unit, half-open
    size: int                  # side of the theoretical field on an unbounded input (RFRow.size)

    def mass_inside(self, margin: int = 0) -> float:
        """Fraction of the gradient's total inside the box shrunk by `margin` pixels on each side."""
        y0, y1, x0, x1 = self.box
        total = float(self.gradient.sum())
        inside = float(self.gradient[y0 + margin:y1 - margin, x0 + margin:x1 - margin].sum())
        return inside / total if total > 0 else 0.0


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's Conv2d layers, in execution order."""
    names = [name for name, module in leaf_layers(model) if isinstance(module, nn.Conv2d)]
    if not names:
        raise ValueError("the model has no Conv2d layer: effective receptive fields are those of conv units")
    return names


def _pixels(images) -> torch.Tensor:
    if hasattr(images, "raw"):
        return images.raw.float()[:, None] / 255.0           # [N, 1, H, W]
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    x = x[:, None] if x.dim() == 3 else x
    if x.dim() != 4 or len(x) == 0 or x.min() < 0 or x.max() > 1:
        raise ValueError("pass digits in [0, 1] shaped [N, 28, 28] (or a Split)")
    return x


def effective_fields(model: nn.Module, images, layers: list[str] | None = None) -> list[EffectiveField]:
    """The effective field of the centre unit of each conv layer (default: all), averaged over `images`."""
    pixels = _pixels(images)                                  # [N, 1, H, W]
    size = pixels.shape[-1]
    rows = field_rows(model, size)
    fields = []
    for name in layers or conv_layers(model):
        if name not in rows:
            raise ValueError(f"{name!r} is not a conv or pooling layer of this model; choose from {conv_layers(model)}")
        forward = working_copy(model)                         # a fresh copy per layer: the hook stays on it
        caught = []
        dict(forward.model.named_modules())[name].register_forward_hook(lambda m, i, out: caught.append(out))
        x = pixels.clone().requires_grad_()
        forward(x)
        out = caught[0]                                       # [N, C, h, w]
        cy, cx = out.shape[-2] // 2, out.shape[-1] // 2
        (grad,) = torch.autograd.grad(out[:, :, cy, cx].sum(), x)  # digits are independent in eval mode
        mean = grad.abs().mean(0)[0].double()                 # [H, W]
        peak = float(mean.max())
        gradient = (mean / peak if peak > 0 else mean).numpy()
        fields.append(EffectiveField(name, (cy, cx), gradient, unit_window(model, name, cy, cx, size),
                                     rows[name].size))
    return fields


def save_fields(path: str | Path, fields: dict[str, list[EffectiveField]], metadata: dict | None = None) -> Path:
    """Sets of fields by state ("initial", "trained") in one safetensors file, gradients as float16."""
    from safetensors.torch import save_file

    tensors, header = {}, {"metadata": metadata or {}, "states": {}}
    for state, items in fields.items():
        header["states"][state] = [{"layer": f.layer, "unit": list(f.unit), "box": list(f.box), "size": f.size}
                                   for f in items]
        for f in items:
            tensors[f"{state}/{f.layer}"] = torch.as_tensor(f.gradient, dtype=torch.float16)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"cnnviz": json.dumps(header)})
    return path


def load_fields(path: str | Path) -> tuple[dict[str, list[EffectiveField]], dict]:
    """({state: [EffectiveField]}, metadata) from a file save_fields wrote; ValueError if it is not one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            header = json.loads(f.metadata()["cnnviz"])
            fields = {state: [EffectiveField(d["layer"], tuple(d["unit"]),
                                             f.get_tensor(f"{state}/{d['layer']}").double().numpy(),
                                             tuple(d["box"]), d["size"]) for d in items]
                      for state, items in header["states"].items()}
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"cannot read the effective receptive fields {Path(path).name}: {exc}; "
                         "run `python scripts/record_explain.py` to record them") from None
    return fields, header["metadata"]


def load_shipped_fields(folder: str | Path = SHIPPED_DIR) -> tuple[dict[str, list[EffectiveField]], dict]:
    """The recorded fields of the shipped FC model: {"initial": [...], "trained": [...]}; works without MNIST."""
    return load_fields(Path(folder) / SHIPPED_FIELDS)
