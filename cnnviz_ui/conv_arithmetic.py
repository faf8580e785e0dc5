"""The convolution page's arithmetic written out: value·weight pairs, the products as they are added, the
sum, bias and ReLU, the taps table, and the same window max-pooled. Every total is the sum of the numbers
written above it (cnnviz.convolution.shown_sum, cnnviz.written)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import convolution, written
from cnnviz.unit import agrees
from cnnviz_ui import convolution_view as view, visual
from cnnviz_ui.shell import error_box, prose, show_chart
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


def second_conv():
    """The active model's second conv layer on the current digit: (input maps [C_in, H, W], its own output
    [C_out, H_out, W_out], layer, layer name, input name). Its input is what the layer before it produced."""
    from cnnviz.trace import trace
    from cnnviz_ui.current_digit import current_digit
    from cnnviz_ui.models import active_model, conv_layers

    model = active_model().model
    layers = conv_layers(model)
    if len(layers) < 2:
        raise ValueError("this model has a single conv layer; the multi-channel view needs a second one")
    name, layer = layers[1]
    tensors = trace(model, current_digit().x)
    names = list(tensors)
    before = names[names.index(name) - 1]
    return tensors[before][0].numpy(), tensors[name][0].numpy(), layer, name, before


def unit_step(x_in: np.ndarray, layer, out_channel: int, i: int, j: int) -> convolution.ConvStep:
    """The from-scratch computation of one unit of a torch Conv2d layer on input maps x_in [C_in, H, W]."""
    return convolution.conv_step(x_in, layer.weight, layer.bias, (i, j), out_channel, layer.stride[0],
                                 layer.padding[0], layer.dilation[0])


def pooled_instead(step: convolution.ConvStep, kernel: np.ndarray, trained: bool) -> None:
    """The same window twice: convolved (learned weights, its parameter count) beside max-pooled (none)."""
    st.subheader("The same window, pooled instead")
    shown = convolution.shown_sum(step)
    k = kernel.shape[0]
    c_conv, c_pool = st.columns(2)
    set_by = ", trained by gradient descent." if trained else " in a network, where training would set them."
    c_conv.markdown(f"**Convolution**: a weighted sum with learned weights → **{number(shown.result, shown.digits)}**"
                    f"  \n{k}×{k} weights + 1 bias = **{convolution.parameter_count(kernel)} parameters**{set_by}")
    c_pool.markdown(f"**Max pooling** ({k}×{k} window): the largest value → **{number(step.window_max)}**  \n"
                    "**0 parameters**: nothing to learn, it only picks.")
    c_pool.code(window_max_text(step), language=None, wrap_lines=True)


def conv2_section() -> None:
    """One unit of the model's second conv layer opened: the sum of one small dot product per input map, each
    map's share chosen by the student, checked against the model's own output."""
    try:
        x_in, model_out, layer, name, before = second_conv()
    except ValueError as exc:
        error_box(exc)
        return
    c_in, (c_out, h_out, w_out) = x_in.shape[0], model_out.shape
    kh, kw = layer.kernel_size
    prose(f"The second conv layer reads **{c_in} maps** at once ({before}, {x_in.shape[1]}×{x_in.shape[2]} "
          f"each). Each of its kernels is {c_in}×{kh}×{kw}: one {kh}×{kw} slice per input map. A unit's value "
          f"is the sum of {c_in} small dot products, one per map, plus a single bias.")
    c_ch, c_row, c_col, c_map = st.columns(4)
    out_channel = c_ch.number_input(f"{name} channel", 0, c_out - 1, 0, key="conv2_channel")
    row = c_row.number_input("Row", 0, h_out - 1, h_out // 2, key="conv2_row")
    col = c_col.number_input("Column", 0, w_out - 1, w_out // 2, key="conv2_col")
    opened = c_map.number_input(f"Open {before} map", 0, c_in - 1, 0, key="conv2_map")
    unit = unit_step(x_in, layer, out_channel, row, col)
    own = float(model_out[out_channel, row, col])
    show_chart(view.partial_sums_chart(unit, before), key="conv2_partials", height=380)
    (st.success if agrees(unit.result, own) else st.error)(
        f"Sum of the {c_in} partial sums + bias = {unit.result:.5f}; the model's own {name} output at channel "
        f"{out_channel}, row {row}, column {col} = {own:.5f} (difference {abs(unit.result - own):.1g}). "
        f"After ReLU: {max(unit.result, 0.0):.5f}.")
    st.markdown(f"Map {opened}'s share: its {kh}×{kw} patch × its kernel slice")
    st.code(channel_sum_text(unit, opened), language=None, wrap_lines=True)
    st.caption(f"This one kernel has {c_in}·{kh * kw} weights + 1 bias = "
               f"{convolution.parameter_count(layer.weight[out_channel:out_channel + 1])} parameters; {name} has "
               f"{c_out} such kernels.")
