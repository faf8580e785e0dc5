"""Compare learned 3x3 filters with classic hand-designed image-processing kernels; a filter's own response.

One score everywhere: the cosine similarity of the two kernels' nine weights, as they are (1 = the same
pattern up to scale, 0 = unrelated, -1 = the same pattern with its sign flipped). It ignores scale but
not the sign of any weight and not the kernel's average, so a blur (all weights positive) is only close
to a filter whose weights mostly share one sign, and an edge detector only to a filter whose weights
roughly cancel. A match may flip the sign (a dark-to-light edge detector is a light-to-dark one,
negated) and turn the classic kernel by a multiple of 90 degrees. Below `CLOSE` no classic kernel is
close, and `label` says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CLASSIC_KERNELS: dict[str, np.ndarray] = {
    name: np.array(k, dtype=float) for name, k in {
        "Sobel X": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],               # vertical edges
        "Sobel Y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],               # horizontal edges
        "Prewitt X": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
        "Prewitt Y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
        "Diagonal edge ↗": [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],
        "Diagonal edge ↘": [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]],
        "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],               # blobs and corners
        "Centre-surround": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],  # a bright dot on a dark ground
        "Gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
        "Box blur": [[1 / 9] * 3] * 3,
        "Sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "Identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    }.items()
}
ROTATIONS = (0, 90, 180, 270)  # counter-clockwise, applied to the classic kernel (np.rot90)
CLOSE = 0.7  # the least score called a match: an angle under about 45 degrees between the two kernels
NO_MATCH = "no close classic kernel"


@dataclass(frozen=True)
class FilterMatch:
    """How closely learned filter `index` matches a classic kernel: filter ≈ sign * rot(kernel, rotation)."""
    index: int
    kernel_name: str
    score: float              # |signed_similarity|, in [0, 1]
    sign: int                 # +1 or -1
    rotation: int             # 0, 90, 180 or 270 degrees counter-clockwise
    signed_similarity: float  # in [-1, 1]

    @property
    def close(self) -> bool:
        """True when the score reaches `CLOSE`: only then does the page name the kernel."""
        return self.score >= CLOSE

    @property
    def kernel(self) -> np.ndarray:
        """The classic kernel as matched: sign * rot(kernel, rotation), [3, 3]."""
        return oriented_kernel(self.kernel_name, self.rotation, self.sign)


def oriented_kernel(name: str, rotation: int = 0, sign: int = 1) -> np.ndarray:
    """sign * the classic kernel `name` turned `rotation` degrees counter-clockwise, [3, 3]."""
    if name not in CLASSIC_KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {list(CLASSIC_KERNELS)}")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {ROTATIONS} degrees, got {rotation!r}")
    return sign * np.rot90(CLASSIC_KERNELS[name], rotation // 90)


def _vector(k) -> np.ndarray:
    if hasattr(k, "detach"):  # a torch tensor
        k = k.detach().cpu().numpy()
    return np.asarray(k, dtype=float).ravel()


def similarity(a, b) -> float:
    """Cosine similarity of two same-shape kernels' weights as they are, in [-1, 1] (0 for an all-zero one).

    Sign-aware: the average is kept, so an all-positive blur and a zero-sum edge detector are far apart."""
    a, b = _vector(a), _vector(b)
    if a.shape != b.shape:
        raise ValueError(f"kernels must have the same number of weights, got {a.size} and {b.size}")
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0.0:
        return 0.0
    return float(np.clip(a @ b / norm, -1.0, 1.0))


def label(match: FilterMatch) -> str:
    """What a match is called: "−Sobel Y, turned 90°" (sign and turn included), or `NO_MATCH` below `CLOSE`."""
    if not match.close:
        return NO_MATCH
    turn = f", turned {match.rotation}°" if match.rotation else ""
    return f"{'−' if match.sign < 0 else ''}{match.kernel_name}{turn}"


def _filters(weights) -> np.ndarray:
    if hasattr(weights, "detach"):
        weights = weights.detach().cpu().numpy()
    w = np.asarray(weights, dtype=float)
    if w.ndim == 4:
        if w.shape[1] != 1:
            raise ValueError(f"expected one input channel per filter [N, 1, 3, 3], got shape {w.shape}; "
                             f"pass first-layer weights or pick one input channel")
        w = w[:, 0]
    if w.ndim != 3 or w.shape[1:] != (3, 3):
        raise ValueError(f"expected 3x3 filters shaped [N, 1, 3, 3] or [N, 3, 3], got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("the filters hold NaN or infinite weights")
    return w  # [N, 3, 3]


def _best(index: int, f: np.ndarray, names, rotations) -> FilterMatch:
    best = None
    for rotation in rotations:  # rotation outermost: an unrotated match wins a tie
        for name in names:
            s = similarity(f, oriented_kernel(name, rotation))
            if best is None or abs(s) > best.score + 1e-9:
                best = FilterMatch(index, name, abs(s), 1 if s >= 0 else -1, rotation, s)
    return best


def match_filters(weights, allow_rotation: bool = True) -> list[FilterMatch]:
    """The closest classic kernel for each 3x3 filter in `weights` ([N, 1, 3, 3] or [N, 3, 3])."""
    w = _filters(weights)
    rotations = ROTATIONS if allow_rotation else (0,)
    return [_best(i, f, CLASSIC_KERNELS, rotations) for i, f in enumerate(w)]


def _closest_to(weights, kernel_name: str, allow_rotation: bool = False) -> FilterMatch:
    """The learned filter most like one classic kernel (sign flips allowed; rotations only if asked)."""
    if kernel_name not in CLASSIC_KERNELS:
        raise ValueError(f"unknown kernel {kernel_name!r}; choose one of {list(CLASSIC_KERNELS)}")
    w = _filters(weights)
    if len(w) == 0:
        raise ValueError("no filters given")
    rotations = ROTATIONS if allow_rotation else (0,)
    matches = [_best(i, f, [kernel_name], rotations) for i, f in enumerate(w)]
    return max(matches, key=lambda m: m.score)


EDGE_KERNELS = {"vertical": ("Sobel X", "Prewitt X"), "horizontal": ("Sobel Y", "Prewitt Y")}


def edge_direction(match: FilterMatch) -> str | None:
    """"vertical" or "horizontal" when a match is a Sobel/Prewitt edge kernel (a quarter turn swaps the two);
    None for every other kernel (diagonals, blurs, Laplacian...)."""
    for direction, names in EDGE_KERNELS.items():
        if match.kernel_name in names:
            turned = match.rotation in (90, 270)
            return ({"vertical": "horizontal", "horizontal": "vertical"}[direction] if turned else direction)
    return None


def best_edge_filter(matches: list[FilterMatch], direction: str) -> FilterMatch | None:
    """Of the filters `match_filters` closely matches to a `direction` edge kernel, the closest; None if none is."""
    if direction not in EDGE_KERNELS:
        raise ValueError(f"direction must be one of {list(EDGE_KERNELS)}, got {direction!r}")
    found = [m for m in matches if m.close and edge_direction(m) == direction]
    return max(found, key=lambda m: m.score, default=None)


def nearest_edge_filter(weights, direction: str) -> FilterMatch:
    """The filter closest to a `direction` edge kernel (Sobel or Prewitt, either sign), close or not: what the
    page shows when `best_edge_filter` finds none."""
    if direction not in EDGE_KERNELS:
        raise ValueError(f"direction must be one of {list(EDGE_KERNELS)}, got {direction!r}")
    return max((_closest_to(weights, name) for name in EDGE_KERNELS[direction]), key=lambda m: m.score)


def learned_response(conv: nn.Conv2d, x: torch.Tensor, index: int) -> torch.Tensor:
    """What filter `index` of `conv` makes of its input x [1, C_in, H, W], with the layer's own stride, padding and
    dilation and before the bias: the map [h, w] the filter adds to its channel."""
    if not 0 <= index < conv.out_channels:
        raise ValueError(f"filter index must be in 0..{conv.out_channels - 1}, got {index}")
    with torch.no_grad():
        w = conv.weight[index:index + 1]                                    # [1, C_in, k, k]
        return F.conv2d(x, w, None, conv.stride, conv.padding, conv.dilation)[0, 0]   # [h, w]
