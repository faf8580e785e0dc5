"""The convolution page's arithmetic written out: value·weight pairs, the products as they are added, the
sum, bias and ReLU, the taps table, and the same window max-pooled. Every total is the sum of the numbers
written above it (cnnviz.convolution.shown_sum, cnnviz.written)."""
from __future__ import annotations

import numpy as np

from cnnviz import convolution, written
from cnnviz_ui import visual
from cnnviz_ui.visual import number

CHANNEL_DIGITS = 4  # a multi-map unit's products are written to 4 decimals


def _factor(v: float, digits: int = 2) -> str:
    """A factor of a product, in parentheses when negative."""
    s = number(v, digits)
    return f"({s})" if s.startswith(visual.MINUS) else s


def dot_lines(step: convolution.ConvStep, channel: int = 0, digits: int = 2) -> list[str]:
    """One input channel's window·kernel pairs (value·weight), one line per kernel row."""
    values, weights = step.values[channel], step.weights[channel]
    return [("  " if a == 0 else "+ ") + " + ".join(f"{_factor(v, digits)}·{_factor(w, digits)}"
                                                    for v, w in zip(values[a], weights[a]))
            for a in range(values.shape[0])]


def channel_sum_text(step: convolution.ConvStep, channel: int) -> str:
    """One input map's share of a multi-map unit: value·weight pairs, then their products rounded to 4
    decimals and the sum of those products as written (so the written numbers add up: cnnviz.written)."""
    d = CHANNEL_DIGITS
    products = written.as_written(step.products[channel], d)  # [k, k]
    lines = dot_lines(step, channel)
    lines.append(f"products, rounded to {d} decimals:")
    lines += [("  " if a == 0 else "+ ") + " + ".join(_factor(p, d) for p in products[a])
              for a in range(products.shape[0])]
    lines.append(f"= {number(written.total(step.products[channel], digits=d), d)}")
    return "\n".join(lines)


def product_lines(step: convolution.ConvStep) -> list[str]:
    """The products as they are added up (convolution.shown_sum), one line per kernel row."""
    shown = convolution.shown_sum(step)
    products = shown.products[0]  # [k, k]
    return [("  " if a == 0 else "+ ") + " + ".join(_factor(p, shown.digits) for p in products[a])
            for a in range(products.shape[0])]


def arithmetic(step: convolution.ConvStep) -> str:
    """The products written out row by row, their sum, the bias, the output and the ReLU after it; every total
    is the sum of the numbers written above it (convolution.shown_sum)."""
    shown = convolution.shown_sum(step)
    d = shown.digits
    lines = [] if not shown.rounded else [f"products rounded to {d} decimals; totals add the numbers as written"]
    if shown.rounded:
        lines += product_lines(step)
    else:  # every product is exact: write the pairs, each factor with the decimals it needs
        lines += dot_lines(step, digits=convolution.decimals_needed(np.append(step.values, step.weights)))
    lines += [f"= {number(shown.total, d)}  (sum)",
              f"+ {_factor(shown.bias, d)}  (bias)",
              f"= {number(shown.result, d)}  → cell {step.out_pos}",
              f"ReLU: max(0, {number(shown.result, d)}) = {number(max(shown.result, 0.0), d)}"]
    return "\n".join(lines)


def taps_table(step: convolution.ConvStep, pixels: np.ndarray | None, padding: int) -> list[dict]:
    """One row per tap: where it reads, the raw pixel and the value the kernel multiplies (normalised when
    `pixels` is the raw image), the weight and the product as the arithmetic writes it."""
    shown = convolution.shown_sum(step)
    rows, cols = step.taps
    records = []
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            inside = not step.padded[a, b]
            record = {"Tap": f"({r}, {c})"}
            if pixels is not None:
                record["Pixel (0-1)"] = number(pixels[r, c]) if inside else "padding"
            record["Input to the kernel" if pixels is None else "Normalised"] = number(step.values[0, a, b], 4)
            record["Weight"] = number(step.weights[0, a, b], 4)
            record["Product"] = number(shown.products[0, a, b], shown.digits)
            records.append(record)
    return records


def window_max_text(step: convolution.ConvStep) -> str:
    """max(...) over the cells the window reads, padding left out (it is −∞ to a max pool)."""
    inside = step.values[0][~step.padded]
    if not inside.size:
        return "every tap lands in the padding: max() of nothing = −∞ (a pool pads with −∞, not 0)"
    return f"max({', '.join(number(v) for v in inside)}) = {number(step.window_max)}"
