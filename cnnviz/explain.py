"""Attributions: which pixels of a digit pushed one class's score up, four ways, and a test of their honesty.

Conventions: an image is a 28x28 picture in [0, 1] (NumPy or torch, what `preprocess` gives); every map explains
the target class's logit with respect to those [0, 1] pixels (the normalisation the model expects is part of the
function explained, so integrated gradients add up in pixel space) and comes back as a 28x28 NumPy float array.
The caller's model is never changed: each function works on a private copy in eval mode (Captum's hooks and the
re-initialised weights of `randomized` land on that copy). Captum (Kokhlikyan et al. 2020) does the work.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.data import MEAN, STD
from cnnviz.model import leaf_layers

# Modules that end the spatial part of a network: Grad-CAM's default layer is the last module before one of them.
_SPATIAL_END = (nn.Flatten, nn.Linear, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
MODES = ("cascading", "independent")
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "explain"  # recorded by scripts/record_explain.py


class PixelModel(nn.Module):
    """model((x - mean) / std): the network as a function of [0, 1] pixels."""

    def __init__(self, model: nn.Module, mean: float = MEAN, std: float = STD):
        super().__init__()
        self.model, self.mean, self.std = model, mean, std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model((pixels - self.mean) / self.std)  # [B, num_classes] logits


def working_copy(model: nn.Module, mean: float = MEAN, std: float = STD) -> PixelModel:
    """A private copy of `model` in eval mode, wrapped to read [0, 1] pixels (the caller's model is untouched)."""
    return PixelModel(copy.deepcopy(model).eval(), mean, std).eval()


def as_pixels(image) -> torch.Tensor:
    """A 28x28 picture in [0, 1] (array or tensor, [H, W], [1, H, W] or [1, 1, H, W]) -> float32 [1, 1, H, W]."""
    x = torch.as_tensor(np.asarray(image.detach().cpu() if torch.is_tensor(image) else image), dtype=torch.float32)
    if x.dim() == 4 and x.shape[:2] == (1, 1):
        x = x[0, 0]
    elif x.dim() == 3 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 2:
        raise ValueError(f"expected one picture of shape [28, 28] (or [1, 28, 28]), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all() or x.min() < -1e-6 or x.max() > 1 + 1e-6:
        raise ValueError("the picture's pixels must lie in [0, 1]: pass the 28x28 picture preprocess returns, "
                         "not the normalised model input")
    return x.clamp(0, 1).clone()[None, None]  # [1, 1, H, W]


def _class(forward: nn.Module, pixels: torch.Tensor, target) -> int:
    """`target` checked against the number of classes; None means the predicted class."""
    with torch.no_grad():
        logits = forward(pixels)[0]  # [num_classes]
    if target is None:
        return int(logits.argmax())
    if isinstance(target, bool) or not float(target).is_integer() or not 0 <= int(target) < logits.numel():
        raise ValueError(f"target must be a class index in 0..{logits.numel() - 1}, got {target!r}")
    return int(target)


def _map(attribution: torch.Tensor) -> np.ndarray:
    return attribution.detach()[0, 0].to(torch.float64).numpy()  # [H, W]


def logit(model: nn.Module, image, target: int) -> float:
    """The target class's logit for a [0, 1] picture (what every map here explains)."""
    forward = working_copy(model)
    pixels = as_pixels(image)
    with torch.no_grad():
        return float(forward(pixels)[0, _class(forward, pixels, target)])


def saliency(model: nn.Module, image, target: int | None = None, absolute: bool = True) -> np.ndarray:
    """|d logit_target / d pixel| (Simonyan et al. 2014); absolute=False keeps the gradient's sign."""
    from captum.attr import Saliency

    forward = working_copy(model)
    pixels = as_pixels(image)
    c = _class(forward, pixels, target)
    return _map(Saliency(forward).attribute(pixels.requires_grad_(), target=c, abs=absolute))  # [H, W]


def integrated_gradients(model: nn.Module, image, target: int | None = None, baseline=None,
                         steps: int = 64) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) from `baseline` (default: a blank, all-zero picture).

    Completeness: the map sums to logit(image) - logit(baseline), up to the `steps`-point quadrature.
    """
    from captum.attr import IntegratedGradients

    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    forward = working_copy(model)
    pixels = as_pixels(image)
    start = torch.zeros_like(pixels) if baseline is None else as_pixels(baseline)
    c = _class(forward, pixels, target)
    ig = IntegratedGradients(forward)
    return _map(ig.attribute(pixels, baselines=start, target=c, n_steps=int(steps)))  # [H, W]


def spatial_layers(model: nn.Module) -> list[str]:
    """Names of the leaf layers before the first Flatten / Linear / adaptive pool (the conv blocks)."""
    names = []
    for name, module in leaf_layers(model):
        if isinstance(module, _SPATIAL_END):
            break
        names.append(name)
    if not any(isinstance(dict(model.named_modules())[n], nn.Conv2d) for n in names):
        raise ValueError("Grad-CAM needs a model with a Conv2d layer before its first Flatten/Linear")
    return names


def _layer_name(model: nn.Module, layer) -> str:
    if layer is None:
        return spatial_layers(model)[-1]  # the output of the last conv block (after its pooling, if any)
    named = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        found = [n for n, m in named.items() if m is layer and n]
        if not found:
            raise ValueError("the layer given is not a module of this model; pass one of its layers or its name")
        return found[0]
    if layer not in named or not layer:
        raise ValueError(f"no layer named {layer!r}; choose one of {spatial_layers(model)}")
    return layer


def grad_cam(model: nn.Module, image, target: int | None = None, layer=None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): ReLU(sum_k alpha_k A_k), alpha_k the mean gradient of the logit over
    feature map A_k, upsampled bilinearly to the picture's size. Non-negative.

    `layer` (a name or a module of `model`): default, the output of the last conv block (for DigitCNN pool2, the
    maps a GAP head averages, so there Grad-CAM is the class activation map up to a positive scale).
    """
    from captum.attr import LayerAttribution, LayerGradCam

    name = _layer_name(model, layer)
    forward = working_copy(model)
    pixels = as_pixels(image)
    c = _class(forward, pixels, target)
    inner = dict(forward.model.named_modules())[name]
    cam = LayerGradCam(forward, inner).attribute(pixels, target=c, relu_attributions=True)  # [1, 1, h, w]
    if cam.dim() != 4:
        raise ValueError(f"layer {name!r} does not give feature maps [B, C, h, w]; choose a conv-block layer")
    up = LayerAttribution.interpolate(cam, tuple(pixels.shape[-2:]), interpolate_mode="bilinear")  # [1, 1, H, W]
    return np.maximum(_map(up), 0.0)


def occlusion(model: nn.Module, image, target: int | None = None, window: int = 4, stride: int = 2) -> np.ndarray:
    """Occlusion (Zeiler & Fergus 2014): blank a window x window square (pixels to 0) at every `stride`; each pixel
    gets the mean drop of the logit over the windows that cover it (positive: the ink there supported the class)."""
    from captum.attr import Occlusion

    pixels = as_pixels(image)
    size = min(pixels.shape[-2:])
    if not 1 <= int(window) <= size or not 1 <= int(stride) <= int(window):
        raise ValueError(f"window must be 1..{size} and stride 1..window, got window={window}, stride={stride}")
    forward = working_copy(model)
    c = _class(forward, pixels, target)
    windows = math.prod((n - int(window)) // int(stride) + 1 for n in pixels.shape[-2:])
    with torch.no_grad():
        attribution = Occlusion(forward).attribute(
            pixels, sliding_window_shapes=(1, int(window), int(window)), strides=(1, int(stride), int(stride)),
            baselines=0.0, target=c, perturbations_per_eval=min(windows, 256))  # [1, 1, H, W]
    return _map(attribution)


def randomizable_layers(model: nn.Module) -> list[str]:
    """Names of the layers that own parameters, from the output down (the order of the cascading check)."""
    names = [n for n, m in leaf_layers(model) if any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def _reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default initialisation for the module, drawn from `generator` (never the global RNG)."""
    with torch.no_grad():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                bound = 1 / math.sqrt(module.weight[0].numel())
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        else:  # batch norm and other layers: weights drawn like a Linear's, a fresh bias from the same bound
            for p in module.parameters(recurse=False):
                bound = 1 / math.sqrt(max(p.numel(), 1))
                nn.init.uniform_(p, -bound, bound, generator=generator)


def randomized(model: nn.Module, seed: int = 0, mode: str = "cascading", depth: int | None = None) -> nn.Module:
    """A copy of `model` (eval mode) with weights re-initialised, for the sanity check of Adebayo et al. (2018).

    cascading: the top `depth` parameterised layers, from the output down (None: all of them).
    independent: only the `depth`-th layer from the top (None: every layer at once).
    The original model is untouched.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    layers = randomizable_layers(model)
    if depth is not None and (isinstance(depth, bool) or int(depth) != depth or not 0 <= depth <= len(layers)):
        raise ValueError(f"depth must be None or 0..{len(layers)} (the model has {len(layers)} layers with "
                         f"weights), got {depth!r}")
    if mode == "cascading":
        chosen = layers if depth is None else layers[:int(depth)]
    else:
        chosen = layers if depth is None else layers[int(depth) - 1:int(depth)] if depth else []
    twin = copy.deepcopy(model).eval()
    generator = torch.Generator().manual_seed(int(seed))
    modules = dict(twin.named_modules())
    for name in chosen:
        _reinitialise(modules[name], generator)
    return twin


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def rank_correlation(a, b, absolute: bool = True) -> float:
    """Spearman rank correlation of two maps (of |values| by default, as in Adebayo et al.); NaN if one is flat."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the two maps must have the same size, got {a.size} and {b.size} values")
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / denominator) if denominator > 0 else math.nan


ATTRIBUTIONS = {"saliency": saliency, "integrated gradients": integrated_gradients, "Grad-CAM": grad_cam,
                "occlusion": occlusion}


@dataclass(frozen=True, eq=False)
class HonestyRow:
    method: str                # a key of ATTRIBUTIONS
    original: np.ndarray       # [H, W] the map on the trained network
    randomized: np.ndarray     # [H, W] the same map on the randomised copy
    correlation: float         # rank_correlation(original, randomized): near 1 = the map ignored the weights


def honesty_check(model: nn.Module, image, target: int | None = None, depth: int | None = None, seed: int = 0,
                  mode: str = "cascading", methods=tuple(ATTRIBUTIONS)) -> list[HonestyRow]:
    """Each map on `model` and on `randomized(model, seed, mode, depth)`, for the same class (default: the trained
    network's answer), with their rank correlation (Adebayo et al. 2018)."""
    unknown = [m for m in methods if m not in ATTRIBUTIONS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(ATTRIBUTIONS)}")
    forward = working_copy(model)
    c = _class(forward, as_pixels(image), target)
    twin = randomized(model, seed, mode, depth)
    rows = []
    for method in methods:
        a, b = ATTRIBUTIONS[method](model, image, c), ATTRIBUTIONS[method](twin, image, c)
        rows.append(HonestyRow(method, a, b, rank_correlation(a, b)))
    return rows
