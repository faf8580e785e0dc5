"""Max and average pooling from scratch, one output cell at a time (NumPy; PyTorch is the test oracle).

Conventions, chosen to match torch.nn.functional.max_pool2d / avg_pool2d with their defaults:
- padding for max pooling is -inf, so a padded cell can never win;
- padding for average pooling counts as zeros in the divisor (count_include_pad=True): every
  window divides by kernel_size**2;
- windows are square and start at out_pos * stride - padding (ceil_mode=False).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

MODES = ("max", "avg")

# The chapter's 4x4 feature map; its 2x2 / stride-2 max pool is [[6, 4], [8, 6]].
CHAPTER_FEATURE_MAP = np.array([
    [1, 3, 2, 4],
    [5, 6, 1, 2],
    [7, 2, 3, 1],
    [4, 8, 5, 6],
], dtype=float)


def _as_int(name: str, value) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _check_window(k: int, s: int, p: int) -> None:
    """The window rules shared by output_size and pool2d: kernel and stride positive, padding not negative."""
    if k < 1:
        raise ValueError(f"kernel_size must be at least 1, got {k}")
    if s < 1:
        raise ValueError(f"stride must be at least 1, got {s}")
    if p < 0:
        raise ValueError(f"padding must be 0 or more, got {p}")


def output_size(input_size: int, kernel_size: int, stride: int, padding: int = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Length of one output side: floor((I + 2P - D(K-1) - 1) / S) + 1.

    With ceil_mode the division rounds up, but (as in PyTorch) the last window must still
    start inside the input or its left padding.
    """
    i, k, s = _as_int("input_size", input_size), _as_int("kernel_size", kernel_size), _as_int("stride", stride)
    p, d = _as_int("padding", padding), _as_int("dilation", dilation)
    if i < 1:
        raise ValueError(f"input_size must be at least 1, got {i}")
    _check_window(k, s, p)
    if d < 1:
        raise ValueError(f"dilation must be at least 1, got {d}")
    span = i + 2 * p - d * (k - 1) - 1  # how far the window's first cell can travel
    if span < 0:
        raise ValueError(f"the window (kernel_size {k}, dilation {d} -> {d * (k - 1) + 1} cells) is larger than "
                         f"the padded input ({i} + 2*{p} = {i + 2 * p}); use a smaller kernel or more padding")
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= i + p:  # the last window would start in the right padding
        out -= 1
    return out


@dataclass(frozen=True, eq=False)
class PoolStep:
    """One output cell of a pooling layer and the window it summarises.

    `rows` and `cols` are half-open input ranges; they may reach into the padding
    (negative, or past the last row/column). In `values` padding cells are NaN and
    `padded` marks them.
    """
    out_pos: tuple        # (i, j) in the output
    rows: tuple           # (r0, r1) input rows, half-open
    cols: tuple           # (c0, c1) input columns, half-open
    values: np.ndarray    # [k, k] window; NaN where padded
    padded: np.ndarray    # [k, k] bool, True for padding cells
    result: float
    argmax: tuple | None  # input (row, col) of the max; None for avg
    mode: str             # "max" or "avg"
    channel: int | None = None  # channel index for [C, H, W] input

    @property
    def formula(self) -> str:
        """The arithmetic as text, e.g. "max(1, 3, 5, 6) = 6". Padding shows as -inf (max) or 0 (avg)."""
        pad = "-inf" if self.mode == "max" else "0"
        terms = [pad if p else _fmt(v) for v, p in zip(self.values.ravel(), self.padded.ravel())]
        return f"{self.mode}({', '.join(terms)}) = {_fmt(self.result)}"


def _fmt(v: float) -> str:
    v = float(v)
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def _check(x: np.ndarray, kernel_size, stride, padding, mode: str) -> tuple[int, int, int]:
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if x.ndim not in (2, 3):
        raise ValueError(f"expected a feature map [H, W] or [C, H, W], got shape {x.shape}; "
                         f"pool one image at a time (drop the batch dimension)")
    if x.size == 0:
        raise ValueError(f"the feature map is empty (shape {x.shape}); pass at least one channel and one pixel")
    k = _as_int("kernel_size", kernel_size)
    s = k if stride is None else _as_int("stride", stride)
    p = _as_int("padding", padding)
    _check_window(k, s, p)
    if p > k // 2:
        raise ValueError(f"padding {p} is more than half the kernel ({k} // 2 = {k // 2}); "
                         f"PyTorch forbids it because a window could hold only padding. Use padding <= {k // 2}")
    h, w = x.shape[-2:]
    if k > min(h, w) + 2 * p:
        raise ValueError(f"kernel_size {k} is larger than the padded input ({h}x{w} plus {p} padding "
                         f"on each side); use kernel_size <= {min(h, w) + 2 * p} or more padding")
    if not np.all(np.isfinite(x)):
        raise ValueError("the input holds NaN or infinite values; pooling needs finite numbers")
    return k, s, p


def _pool_cell(x: np.ndarray, i: int, j: int, k: int, s: int, p: int, mode: str, channel) -> PoolStep:
    """Pool one window of a 2-D map x [H, W]: the single computation behind pool2d and pool_steps."""
    h, w = x.shape
    r0, c0 = i * s - p, j * s - p
    values = np.full((k, k), np.nan)  # [k, k]
    for a in range(k):
        for b in range(k):
            r, c = r0 + a, c0 + b
            if 0 <= r < h and 0 <= c < w:
                values[a, b] = x[r, c]
    padded = np.isnan(values)
    if mode == "max":
        a, b = np.unravel_index(np.argmax(np.where(padded, -np.inf, values)), (k, k))  # first max, row-major
        result, argmax = float(values[a, b]), (int(r0 + a), int(c0 + b))
    else:
        result, argmax = float(np.where(padded, 0.0, values).sum() / (k * k)), None
    return PoolStep((i, j), (r0, r0 + k), (c0, c0 + k), values, padded, result, argmax, mode, channel)


def pool_steps(x, kernel_size: int = 2, stride: int | None = None, padding: int = 0,
               mode: str = "max") -> list[PoolStep]:
    """One PoolStep per output cell, row-major (channel by channel for [C, H, W] input)."""
    x = _to_numpy(x)
    k, s, p = _check(x, kernel_size, stride, padding, mode)
    h, w = x.shape[-2:]
    h_out, w_out = output_size(h, k, s, p), output_size(w, k, s, p)
    maps = [(None, x)] if x.ndim == 2 else list(enumerate(x))
    steps = []
    for channel, fmap in maps:
        for i in range(h_out):
            for j in range(w_out):
                steps.append(_pool_cell(fmap, i, j, k, s, p, mode, channel))
    return steps


def pool2d(x, kernel_size: int = 2, stride: int | None = None, padding: int = 0, mode: str = "max") -> np.ndarray:
    """Max or average pooling of [H, W] or [C, H, W]; stride defaults to kernel_size. Returns float64."""
    return output_grid(pool_steps(x, kernel_size, stride, padding, mode))


def output_grid(steps: list[PoolStep], upto: int | None = None) -> np.ndarray:
    """The output the steps fill in, [H_out, W_out] (or [C, H_out, W_out]); NaN in the cells after step `upto`."""
    last = steps[-1]  # the bottom-right cell (of the last channel)
    channels = 1 if last.channel is None else last.channel + 1
    out = np.full((channels, last.out_pos[0] + 1, last.out_pos[1] + 1), np.nan)  # [C, H_out, W_out]
    for step in steps[:upto]:
        i, j = step.out_pos
        out[step.channel or 0, i, j] = step.result
    return out[0] if last.channel is None else out


def padded(x, padding: int) -> np.ndarray:
    """The map [H, W] with its padding border, NaN in the border (as in PoolStep.values)."""
    p = _as_int("padding", padding)
    if p < 0:
        raise ValueError(f"padding must be 0 or more, got {p}")
    return np.pad(_to_numpy(x), p, constant_values=np.nan)  # [H + 2P, W + 2P]


def pooled_shape(shape: tuple[int, int, int, int], kernel_size: int, stride: int, padding: int = 0) -> tuple:
    """[N, C, H, W] after pooling: only the two spatial sides change."""
    n, c, h, w = shape
    return n, c, output_size(h, kernel_size, stride, padding), output_size(w, kernel_size, stride, padding)


def shift(x, dy: int, dx: int) -> np.ndarray:
    """The map [H, W] moved dy rows down and dx columns right (negative: up, left); what moves in is 0."""
    x = _to_numpy(x)
    h, w = x.shape
    dy, dx = _as_int("dy", dy), _as_int("dx", dx)
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"a shift of ({dy}, {dx}) moves the whole {h}×{w} map out of view; shift by less")
    out = np.zeros_like(x)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[max(-dy, 0):h - max(dy, 0),
                                                                  max(-dx, 0):w - max(dx, 0)]
    return out


def shift_invariance(x, dy: int, dx: int, kernel_size: int = 2, stride: int | None = None, padding: int = 0,
                     mode: str = "max") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pooled map, pooled shifted map, True where the pooled value stayed the same): which outputs a
    shift of the input by (dy, dx) leaves unchanged."""
    before = pool2d(x, kernel_size, stride, padding, mode)            # [H_out, W_out]
    after = pool2d(shift(x, dy, dx), kernel_size, stride, padding, mode)
    return before, after, before == after


@dataclass(frozen=True)
class ShiftedWindow:
    """What a shift of the input did to one max-pooled output cell."""
    out_pos: tuple        # (i, j) in the output
    before: float         # the pooled value before the shift
    after: float          # ... and after it
    argmax: tuple         # input (row, col) of the window's maximum before the shift
    moved_to: tuple       # where that maximum sits after the shift (may be off the map)
    crossed: bool         # True when the shift carried that maximum out of this window (across its edge)

    @property
    def same(self) -> bool:
        return self.before == self.after

    @property
    def reason(self) -> str:
        """Why the value stayed or changed, in a few words."""
        if self.same:
            return "its maximum crossed an edge, but an equal value took its place" if self.crossed else \
                "its maximum stayed inside the window"
        if self.crossed:
            return "its maximum crossed the window's edge"
        return "a larger value moved in from next door"


def shift_windows(x, dy: int, dx: int, kernel_size: int = 2, stride: int | None = None,
                  padding: int = 0) -> list[ShiftedWindow]:
    """For each max-pooled output cell (row-major), whether a shift of the input by (dy, dx) changed it, and
    whether the window's maximum crossed the window's edge."""
    before = pool_steps(x, kernel_size, stride, padding, "max")
    after = pool_steps(shift(x, dy, dx), kernel_size, stride, padding, "max")
    records = []
    for b, a in zip(before, after):
        r, c = b.argmax
        moved = (r + dy, c + dx)
        inside = b.rows[0] <= moved[0] < b.rows[1] and b.cols[0] <= moved[1] < b.cols[1]
        records.append(ShiftedWindow(b.out_pos, b.result, a.result, b.argmax, moved, not inside))
    return records


ONE_PIXEL_SHIFTS = ((0, -1), (-1, 0), (1, 0), (0, 1))  # left, up, down, right


def kindest_shift(x, kernel_size: int = 2, stride: int | None = None, padding: int = 0) -> tuple[int, int]:
    """Of the four one-pixel shifts, the one that leaves the most max-pooled values unchanged (the first of
    left, up, down, right on a tie): a shift that shows invariance at work."""
    def kept(move):
        return sum(w.same for w in shift_windows(x, *move, kernel_size, stride, padding))
    return max(ONE_PIXEL_SHIFTS, key=kept)


def random_feature_map(size: int, seed: int) -> np.ndarray:
    """A size x size map of small integers 0-9 (easy to pool by eye)."""
    return np.random.default_rng(seed).integers(0, 10, size=(size, size)).astype(float)


def compare_with_torch(x, kernel_size: int, stride: int, padding: int, mode: str) -> tuple[np.ndarray, float]:
    """PyTorch's nn.MaxPool2d / nn.AvgPool2d on a map [H, W], and its largest difference from pool2d."""
    import torch  # only this check needs PyTorch
    from torch import nn

    ours = pool2d(x, kernel_size, stride, padding, mode)  # validates every argument first
    layer = (nn.MaxPool2d if mode == "max" else nn.AvgPool2d)(kernel_size, stride, padding)
    theirs = layer(torch.as_tensor(_to_numpy(x), dtype=torch.float64)[None, None])[0, 0].numpy()  # [H_out, W_out]
    return theirs, float(np.max(np.abs(theirs - ours)))
