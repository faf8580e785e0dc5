"""The network's own map of digits: the penultimate layer's features, flattened to 2-D by PCA.

The features of a digit are what the last linear layer reads (for DigitCNN's FC head: the 128 ReLU units of
FC1; for the GAP head: the 32 averaged maps). PCA keeps the two directions along which those features vary most
over a set of digits; the fitted projection (a mean and two directions) places any new digit on the same map,
so a drawing lands among the digits it resembles *as the network sees them*. Exact PCA by SVD (deterministic,
no random start), each direction's sign fixed so that its largest loading is positive.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.explain import SHIPPED_DIR, as_pixels, working_copy
from cnnviz.model import leaf_layers

SHIPPED_MAP = "digit_map.safetensors"
MAP_SIZE = 5000   # test digits in the shipped map
BATCH_SIZE = 256  # digits per forward pass: on one thread as fast as 1,000 or faster (bench.explain_core)


def penultimate_layer(model: nn.Module) -> str:
    """Name of the last Linear layer: its input is the penultimate layer's features."""
    linears = [name for name, module in leaf_layers(model) if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError("the model has no Linear layer: a digit map needs a classifier ending in nn.Linear")
    return linears[-1]


def _pixel_batch(images) -> torch.Tensor:
    """Pictures in [0, 1] [N, 1, H, W] from: a Split (its raw pixels), uint8 pixels as stored [N, H, W] (/ 255),
    or [N, H, W] / [N, 1, H, W] already in [0, 1] (array or tensor)."""
    if hasattr(images, "raw"):
        images = images.raw
    x = torch.as_tensor(np.asarray(images))
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    x = x[:, None] if x.dim() == 3 else x
    if x.dim() != 4 or x.min() < 0 or x.max() > 1:
        raise ValueError("pass pictures in [0, 1] shaped [N, 28, 28] (or a Split, or uint8 pixels as stored), "
                         "not normalised inputs")
    return x


def features(model: nn.Module, images, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Penultimate-layer features [N, D] (float32) of pictures (see `_pixel_batch`), `batch_size` at a time: the
    pictures are converted batch by batch too, so 60,000 uint8 digits never become one float copy."""
    forward = working_copy(model).to(memory_format=torch.channels_last)  # NHWC: ~1.7x faster convolutions on CPU
    last = dict(forward.model.named_modules())[penultimate_layer(model)]
    caught = []
    last.register_forward_pre_hook(lambda module, args: caught.append(args[0].detach().flatten(1)))  # on the copy
    pixels = images.raw if hasattr(images, "raw") else images
    with torch.no_grad():
        for start in range(0, len(pixels), batch_size):
            batch = _pixel_batch(pixels[start:start + batch_size])                # [b, 1, 28, 28]
            forward(batch.contiguous(memory_format=torch.channels_last))
    return torch.cat(caught).numpy()  # [N, D]


def digit_features(model: nn.Module, image) -> np.ndarray:
    """The features [D] of one 28x28 picture in [0, 1]."""
    return features(model, as_pixels(image))[0]


@dataclass(frozen=True, eq=False)
class Projection:
    mean: np.ndarray        # [D] the features' mean over the mapped digits
    components: np.ndarray  # [D, 2] the two principal directions (unit length, orthogonal)

    def place(self, features) -> np.ndarray:
        """Map coordinates: [D] -> [2], or [N, D] -> [N, 2]."""
        f = np.asarray(features, dtype=np.float64)
        return (f - self.mean) @ self.components


@dataclass(frozen=True, eq=False)
class DigitMap:
    coords: np.ndarray      # [N, 2] each digit's place
    labels: np.ndarray      # [N] true labels (int64)
    indices: np.ndarray     # [N] positions in the split the digits came from
    projection: Projection
    explained: np.ndarray   # [2] fraction of the features' variance along each direction
    features: np.ndarray    # [N, D] the features themselves (for the nearest digits)


def fit_projection(feats) -> tuple[Projection, np.ndarray]:
    """PCA of features [N, D] -> (projection onto the first two directions, their explained variance fractions)."""
    f = torch.as_tensor(np.asarray(feats), dtype=torch.float64)     # [N, D]
    if f.dim() != 2 or len(f) < 3 or f.shape[1] < 2:
        raise ValueError(f"need features [N, D] with N >= 3 digits and D >= 2, got shape {tuple(f.shape)}")
    mean = f.mean(0)                                                 # [D]
    _, s, vh = torch.linalg.svd(f - mean, full_matrices=False)       # vh: [min(N, D), D]
    components = vh[:2].T.clone()                                    # [D, 2]
    biggest = components.abs().argmax(0)                             # [2]
    components *= torch.sign(components[biggest, torch.arange(2)])   # largest loading positive
    variance = s ** 2
    explained = (variance[:2] / variance.sum()).numpy() if variance.sum() > 0 else np.zeros(2)
    return Projection(mean.numpy(), components.numpy()), explained


def fit_map(feats, labels, indices=None) -> DigitMap:
    """A map of digits from their features [N, D] and labels [N]."""
    feats = np.asarray(feats, dtype=np.float32)
    projection, explained = fit_projection(feats)
    indices = np.arange(len(feats)) if indices is None else np.asarray(indices, dtype=np.int64)
    return DigitMap(projection.place(feats).astype(np.float32), np.asarray(labels, dtype=np.int64), indices,
                    projection, explained, feats)


def sample_indices(total: int, count: int = MAP_SIZE, seed: int = 0) -> np.ndarray:
    """`count` positions out of `total`, drawn without replacement by a seeded generator, in increasing order."""
    if not 1 <= count <= total:
        raise ValueError(f"count must be 1..{total}, got {count}")
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:count]
    return order.sort().values.numpy()


def digit_map(model: nn.Module, split, count: int = MAP_SIZE, seed: int = 0) -> DigitMap:
    """The map of `count` digits of a Split (a seeded sample, in split order)."""
    indices = sample_indices(len(split), count, seed)
    chosen = split.subset(torch.as_tensor(indices))
    return fit_map(features(model, chosen), chosen.labels.numpy(), indices)


def nearest(feats, query, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of `feats` [N, D] closest to `query` [D] (Euclidean, in the feature space, not on the 2-D map):
    (row indices, distances), nearest first."""
    f = torch.as_tensor(np.asarray(feats), dtype=torch.float32)       # [N, D]
    q = torch.as_tensor(np.asarray(query), dtype=torch.float32).reshape(1, -1)  # [1, D]
    if f.dim() != 2 or q.shape[1] != f.shape[1]:
        raise ValueError(f"query has {q.shape[1]} features, the map's digits have {tuple(f.shape)}")
    distances = torch.cdist(q, f, compute_mode="donot_use_mm_for_euclid_dist")[0]  # [N], exact
    k = min(int(k), len(f))
    best = torch.topk(distances, k, largest=False, sorted=True)
    return best.indices.numpy(), best.values.double().numpy()


def save_map(path: str | Path, digits: DigitMap, metadata: dict | None = None) -> Path:
    """A map as one safetensors file (features in float16, the rest exact) with its metadata as JSON."""
    import json

    from safetensors.torch import save_file

    tensors = {"coords": torch.as_tensor(digits.coords, dtype=torch.float32),
               "labels": torch.as_tensor(digits.labels, dtype=torch.int64),
               "indices": torch.as_tensor(digits.indices, dtype=torch.int64),
               "mean": torch.as_tensor(digits.projection.mean, dtype=torch.float64),
               "components": torch.as_tensor(digits.projection.components, dtype=torch.float64),
               "explained": torch.as_tensor(digits.explained, dtype=torch.float64),
               "features": torch.as_tensor(digits.features, dtype=torch.float16)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"cnnviz": json.dumps(metadata or {})})
    return path


def load_map(path: str | Path) -> tuple[DigitMap, dict]:
    """(map, metadata) from a file save_map wrote; ValueError if it is not one."""
    import json

    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            t = {key: f.get_tensor(key) for key in f.keys()}
            metadata = json.loads((f.metadata() or {}).get("cnnviz", "{}"))
        projection = Projection(t["mean"].numpy(), t["components"].numpy())
        digits = DigitMap(t["coords"].numpy(), t["labels"].numpy(), t["indices"].numpy(), projection,
                          t["explained"].numpy(), t["features"].float().numpy())
    except Exception as exc:  # safetensors raises its own error types for a missing or malformed file
        raise ValueError(f"cannot read the digit map {Path(path).name}: {exc}; "
                         "run `python scripts/record_explain.py` to record it") from None
    n = len(digits.coords)
    if not (digits.coords.shape == (n, 2) and len(digits.labels) == len(digits.indices) == len(digits.features) == n
            and projection.components.shape == (digits.features.shape[1], 2)):
        raise ValueError(f"{Path(path).name}: the map's arrays do not fit together")
    return digits, metadata


def load_shipped_map(folder: str | Path = SHIPPED_DIR) -> tuple[DigitMap, dict]:
    """The recorded map of the shipped FC model (5,000 test digits); works without MNIST."""
    return load_map(Path(folder) / SHIPPED_MAP)
