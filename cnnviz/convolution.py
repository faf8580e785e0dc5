"""2-D convolution from scratch, one output cell at a time (NumPy; PyTorch is the test oracle).

Conventions match torch.nn.functional.conv2d: the kernel is not flipped (a cross-correlation, as every
deep-learning library computes it), padding is zeros, and the window of output cell (i, j) starts at
input (i * stride - padding, j * stride - padding), its taps `dilation` cells apart.
The output-size formula is shared with pooling (cnnviz.pooling.output_size).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz import written
from cnnviz.pooling import output_size
from cnnviz.written import decimals_needed


@dataclass(frozen=True, eq=False)
class ConvStep:
    """One output cell of one output channel and the arithmetic behind it.

    `rows` and `cols` are the half-open input range the (dilated) window spans; they may reach into
    the padding. The taps are every `dilation`-th row and column of that range.
    """
    out_pos: tuple              # (i, j) in the output
    out_channel: int            # 0 for a single [k, k] kernel
    rows: tuple                 # (r0, r1) input rows, half-open
    cols: tuple                 # (c0, c1) input columns, half-open
    dilation: int
    values: np.ndarray          # [C_in, k, k] the input under the taps, padding as 0
    padded: np.ndarray          # [k, k] bool, True where a tap lands in the padding
    weights: np.ndarray         # [C_in, k, k] the kernel of this output channel
    products: np.ndarray        # [C_in, k, k] values * weights
    partial_sums: np.ndarray    # [C_in] one dot product per input channel
    bias: float
    result: float               # sum(partial_sums) + bias

    @property
    def taps(self) -> tuple[list[int], list[int]]:
        """Input rows and columns the kernel's cells read (padding indices included)."""
        return list(range(*self.rows, self.dilation)), list(range(*self.cols, self.dilation))

    @property
    def window_max(self) -> float:
        """The largest input value under the taps, padding excluded: what a max pool of this window gives
        (-inf where every tap lands in the padding, as a max pool pads with -inf)."""
        inside = self.values[:, ~self.padded]  # [C_in, taps inside the input]
        return float(inside.max()) if inside.size else float("-inf")


def _to_numpy(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None


def _prepare(x, weight, bias):
    """Validate shapes; return x [C_in, H, W], weight [C_out, C_in, k, k], bias [C_out], single (2-D case)."""
    x, weight = _to_numpy(x, "x"), _to_numpy(weight, "weight")
    single = x.ndim == 2
    if single:
        if weight.ndim != 2:
            raise ValueError(f"a map [H, W] takes one kernel [k, k], got weight of shape {weight.shape}; "
                             f"pass x as [C_in, H, W] to use weights [C_out, C_in, k, k]")
        x, weight = x[None], weight[None, None]  # [1, H, W], [1, 1, k, k]
    elif x.ndim == 3:
        if weight.ndim != 4:
            raise ValueError(f"an input [C_in, H, W] takes weights [C_out, C_in, k, k], got shape {weight.shape}")
    else:
        raise ValueError(f"expected x as [H, W] or [C_in, H, W], got shape {x.shape}; "
                         f"convolve one image at a time (drop the batch dimension)")
    if x.size == 0 or weight.size == 0:
        raise ValueError(f"x {x.shape} and weight {weight.shape} must not be empty")
    c_out, c_in, kh, kw = weight.shape
    if kh != kw:
        raise ValueError(f"only square kernels are supported, got {kh}x{kw}")
    if c_in != x.shape[0]:
        raise ValueError(f"the weights expect {c_in} input channel(s) but x has {x.shape[0]}; "
                         f"give x {c_in} channels or weights of shape [C_out, {x.shape[0]}, k, k]")
    if bias is None:
        b = np.zeros(c_out)
    else:
        b = _to_numpy(bias, "bias").reshape(-1)  # [C_out]
        if b.shape != (c_out,):
            raise ValueError(f"bias needs one value per output channel ({c_out}), got {b.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(weight)) and np.all(np.isfinite(b))):
        raise ValueError("x, weight and bias must hold finite numbers (no NaN or infinity)")
    return x, weight, b, single


def _sizes(x: np.ndarray, k: int, stride, padding, dilation) -> tuple[int, int, int, int, int]:
    """(H_out, W_out, stride, padding, dilation), validated by the shared output-size formula."""
    h, w = x.shape[-2:]
    h_out = output_size(h, k, stride, padding, dilation)  # raises ValueError on a bad configuration
    w_out = output_size(w, k, stride, padding, dilation)
    return h_out, w_out, int(stride), int(padding), int(dilation)


def _conv_cell(xp: np.ndarray, weight: np.ndarray, bias: float, i: int, j: int, s: int, p: int, d: int,
               out_channel: int) -> ConvStep:
    """One output cell: xp [C_in, H + 2P, W + 2P] (the input with its zero border), weight [C_in, k, k].
    The single computation behind conv2d."""
    k = weight.shape[-1]
    span = d * (k - 1) + 1
    r0, c0 = i * s - p, j * s - p  # the window's first input row and column (negative in the padding)
    values = xp[:, r0 + p: r0 + p + span: d, c0 + p: c0 + p + span: d]  # [C_in, k, k]
    taps_r, taps_c = r0 + d * np.arange(k), c0 + d * np.arange(k)  # [k] input indices of the taps
    h, w = xp.shape[1] - 2 * p, xp.shape[2] - 2 * p
    padded = ~(((taps_r >= 0) & (taps_r < h))[:, None] & ((taps_c >= 0) & (taps_c < w))[None, :])  # [k, k]
    products = values * weight  # [C_in, k, k]
    partial_sums = products.sum(axis=(1, 2))  # [C_in]
    result = float(partial_sums.sum() + bias)
    return ConvStep((i, j), out_channel, (r0, r0 + span), (c0, c0 + span), d, values, padded, weight, products,
                    partial_sums, float(bias), result)


def _zero_border(x: np.ndarray, p: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (p, p), (p, p)))  # [C_in, H + 2P, W + 2P]


def conv_steps(x, weight, bias=None, stride: int = 1, padding: int = 0, dilation: int = 1) -> list[ConvStep]:
    """One ConvStep per output cell, row-major, output channel by output channel."""
    x, weight, b, _ = _prepare(x, weight, bias)
    h_out, w_out, s, p, d = _sizes(x, weight.shape[-1], stride, padding, dilation)
    xp = _zero_border(x, p)  # [C_in, H + 2P, W + 2P]
    return [_conv_cell(xp, weight[o], b[o], i, j, s, p, d, o)
            for o in range(weight.shape[0]) for i in range(h_out) for j in range(w_out)]


def conv_step(x, weight, bias=None, out_pos: tuple = (0, 0), out_channel: int = 0, stride: int = 1,
              padding: int = 0, dilation: int = 1) -> ConvStep:
    """The ConvStep of one output cell, without computing the others (e.g. one unit of conv2)."""
    x, weight, b, _ = _prepare(x, weight, bias)
    h_out, w_out, s, p, d = _sizes(x, weight.shape[-1], stride, padding, dilation)
    i, j = out_pos
    if not (0 <= out_channel < weight.shape[0] and 0 <= i < h_out and 0 <= j < w_out):
        raise ValueError(f"output cell {out_pos} of channel {out_channel} is outside the output "
                         f"[{weight.shape[0]}, {h_out}, {w_out}]")
    return _conv_cell(_zero_border(x, p), weight[out_channel], b[out_channel], i, j, s, p, d, out_channel)


def output_grid(steps: list[ConvStep], upto: int | None = None) -> np.ndarray:
    """The output the steps fill in, [C_out, H_out, W_out]; NaN in the cells after step `upto`."""
    last = steps[-1]  # the bottom-right cell of the last channel
    out = np.full((last.out_channel + 1, last.out_pos[0] + 1, last.out_pos[1] + 1), np.nan)  # [C_out, H_out, W_out]
    for step in steps[:upto]:
        out[(step.out_channel, *step.out_pos)] = step.result
    return out


def conv2d(x, weight, bias=None, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """[H, W] with a [k, k] kernel -> [H_out, W_out]; [C_in, H, W] with [C_out, C_in, k, k] -> [C_out, H_out, W_out]."""
    single = _to_numpy(x, "x").ndim == 2
    out = output_grid(conv_steps(x, weight, bias, stride, padding, dilation))  # [C_out, H_out, W_out]
    return out[0] if single else out


def torch_conv2d(x, weight, bias=None, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """PyTorch's F.conv2d on the same arguments (float64), shaped like conv2d's output."""
    import torch  # only this check needs PyTorch
    import torch.nn.functional as F

    xs, ws, b, single = _prepare(x, weight, bias)
    _sizes(xs, ws.shape[-1], stride, padding, dilation)
    out = F.conv2d(torch.as_tensor(xs)[None], torch.as_tensor(ws), torch.as_tensor(b), int(stride), int(padding),
                   int(dilation))[0].numpy()  # [C_out, H_out, W_out]
    return out[0] if single else out


def first_step_with_input(steps: list[ConvStep], background: float = 0.0) -> int:
    """The 1-based number of the first step whose window reads an input other than `background` (padding
    aside; 1 if none does): on a digit, the first window that touches ink (on a normalised digit the
    background is (0 - mean) / std)."""
    return next((n for n, step in enumerate(steps, start=1)
                 if np.any(~np.isclose(step.values[:, ~step.padded], background))), 1)


@dataclass(frozen=True, eq=False)
class ShownSum:
    """A step's arithmetic as it is written on the page, where the numbers shown add up exactly.

    Each product is rounded to `digits` decimals (`rounded` says whether any needed it); the sum is the sum
    of those rounded products, and the result that sum plus the bias rounded the same way, so a reader who
    adds the written numbers gets the written totals. `result` differs from the step's exact result by at
    most half a unit in the last place per term.
    """
    products: np.ndarray  # [C_in, k, k] each product rounded to `digits`
    total: float          # sum of the rounded products
    bias: float           # the bias rounded to `digits`
    result: float         # total + bias
    digits: int
    rounded: bool         # True when some product or the bias is not exact at `digits`


def shown_sum(step: ConvStep, most_digits: int = 4) -> ShownSum:
    """The step's products, sum, bias and result as the page writes them (see ShownSum)."""
    digits = decimals_needed(np.append(step.products.ravel(), step.bias), most_digits)
    exact = written.is_exact(step.products, digits) and written.is_exact(step.bias, digits)
    return ShownSum(written.as_written(step.products, digits), written.total(step.products, digits=digits),
                    written.as_written(step.bias, digits), written.total(step.products, step.bias, digits=digits),
                    digits, not exact)


def compare_with_torch(x, weight, bias=None, stride: int = 1, padding: int = 0,
                       dilation: int = 1) -> tuple[np.ndarray, float]:
    """PyTorch's F.conv2d on the same arguments, and its largest difference from conv2d."""
    ours = conv2d(x, weight, bias, stride, padding, dilation)  # validates every argument first
    theirs = torch_conv2d(x, weight, bias, stride, padding, dilation)
    return theirs, float(np.max(np.abs(theirs - ours)))


def parameter_count(weight) -> int:
    """Learned numbers of a conv layer with these weights: every weight plus one bias per output channel."""
    w = _to_numpy(weight, "weight")
    return int(w.size + (1 if w.ndim == 2 else w.shape[0]))
