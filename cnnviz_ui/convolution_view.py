"""Presentation helpers for the convolution page: inputs and kernels to choose from, the stepper's figures
and conv2's partial sums on the active model. No maths beyond picking numbers."""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cnnviz import convolution
from cnnviz.data import MEAN, STD, normalize_pixels
from cnnviz.filters import CLASSIC_KERNELS
from cnnviz.pooling import output_size, padded
from cnnviz_ui import charts, visual
from cnnviz_ui.shell import lecture_mode, prose

INPUTS = ("grid", "current", "example", "mnist")
INPUT_LABELS = {"grid": "A small grid you can edit", "current": "The current digit (your drawing, else MNIST #0)",
                "example": "The built-in example 7", "mnist": "An MNIST test digit"}
KERNEL_SOURCES = ("classic", "model", "typed")
KERNEL_LABELS = {"classic": "A classic kernel", "model": "One of the model's conv1 filters", "typed": "Typed by hand"}
CLASSIC_NAMES = ("Sobel X", "Sobel Y", "Prewitt X", "Prewitt Y", "Laplacian", "Box blur", "Identity")
SMALL = 12        # a padded input up to this side is drawn whole, every number written in
ZOOM = 7          # otherwise: a ZOOM x ZOOM neighbourhood of the window, enlarged
LECTURE_ZOOM = 5  # in lecture mode: fewer, larger cells


def default_grid(size: int) -> np.ndarray:
    """A size x size map of small integers with a bright vertical stroke: edges for Sobel X to find."""
    x = np.zeros((size, size))
    c = size // 3
    x[:, c] = np.clip(np.arange(size) + 5, 0, 9)      # the stroke's left side fades in down the rows
    x[:, min(c + 1, size - 1)] = 9
    if c + 2 < size:
        x[:, c + 2] = np.clip(np.arange(size) - 1, 0, 9)
    return x


def typed_default(kernel_size: int) -> np.ndarray:
    """The kernel a student starts typing from: Sobel X when 3x3, else a single 1 in the middle (identity)."""
    if kernel_size == 3:
        return CLASSIC_KERNELS["Sobel X"].copy()
    kernel = np.zeros((kernel_size, kernel_size))
    kernel[kernel_size // 2, kernel_size // 2] = 1
    return kernel


def table(values: np.ndarray) -> pd.DataFrame:
    """A 2-D array as the table st.data_editor edits (columns named 0, 1, ...)."""
    return pd.DataFrame(np.asarray(values, dtype=float), columns=[str(c) for c in range(values.shape[1])])


def from_table(df: pd.DataFrame) -> np.ndarray:
    """The numbers of an edited table; an emptied cell counts as 0."""
    values = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(values, nan=0.0)


def digit_image(source: str, index: int):
    """(image [28, 28] in [0, 1] rounded to 2 decimals, caption), or None when an MNIST digit is unavailable."""
    from cnnviz_ui.current_digit import current_digit, example_digit, mnist_digit
    digit = {"current": current_digit, "example": example_digit}.get(source, lambda: mnist_digit(index))()
    if digit is None:
        return None
    return np.round(np.asarray(digit.image28, dtype=float), 2), f"{digit.source[:1].upper()}{digit.source[1:]}."


def classic_kernel(name: str) -> np.ndarray:
    """A hand-designed 3x3 kernel from cnnviz.filters (Sobel, Prewitt, Laplacian, box blur, identity)."""
    return CLASSIC_KERNELS[name]


def first_conv():
    """(name, layer) of the active model's first Conv2d."""
    from cnnviz_ui.models import active_model, conv_layers
    return conv_layers(active_model().model)[0]


def model_filter(index: int) -> tuple[np.ndarray, float, str]:
    """(kernel [k, k], bias, description) of filter `index` of the active model's first conv layer."""
    name, layer = first_conv()
    weight = layer.weight.detach().numpy().astype(float)  # [C_out, 1, k, k]
    bias = float(layer.bias[index]) if layer.bias is not None else 0.0
    return weight[index, 0], bias, f"filter {index} of {name} ({weight.shape[0]} filters)"


def choose_input(column, source: str, size: int, digit_index: int, normalised: bool):
    """The input the kernel reads: (values, raw pixels or None, caption), or None without MNIST. A grid is
    edited in an expander in `column`; a digit is read normalised (pixels kept) when `normalised`."""
    if source == "grid":
        with column.expander("Edit the input grid", icon=":material/edit:"):
            x = from_table(st.data_editor(table(default_grid(size)), key=f"conv_grid_{size}", hide_index=True,
                                          num_rows="fixed"))
        return x, None, f"Your {size}×{size} grid."
    found = digit_image(source, digit_index)
    if found is None:
        return None
    x, caption = found
    caption += " Pixel values from 0 (background) to 1 (ink)."
    if not normalised:
        return x, None, caption
    # the model's filters were learned on normalised pixels: give them what they know
    return normalize_pixels(x), x, (caption + f" The filter reads them normalised, (pixel − {MEAN}) / {STD}: "
                                    f"background {visual.number(normalize_pixels(0.0))}, full ink "
                                    f"{visual.number(normalize_pixels(1.0))}.")


def choose_kernel(column, kind: str, classic: str | None, filter_index: int, kernel_size: int, bias: float):
    """The kernel, its bias and a note on where it comes from: a classic kernel, one of the model's filters
    (with its own bias), or one typed in an expander in `column`."""
    if kind == "classic":
        return classic_kernel(classic), bias, f"{classic}, a hand-designed kernel."
    if kind == "model":
        kernel, bias, note = model_filter(filter_index)
        return kernel, bias, f"The model's {note}, with its learned bias {bias:.3f}."
    with column.expander(f"Edit the {kernel_size}×{kernel_size} kernel", expanded=True, icon=":material/edit:"):
        kernel = from_table(st.data_editor(table(typed_default(kernel_size)), key=f"conv_kernel_{kernel_size}",
                                           hide_index=True, num_rows="fixed"))
    return kernel, bias, f"Your {kernel_size}×{kernel_size} kernel."


def size_formula(size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> str:
    """The output-size formula with the numbers put in (markdown); raises ValueError when invalid."""
    out = output_size(size, kernel_size, stride, padding, dilation)
    top = size + 2 * padding - dilation * (kernel_size - 1) - 1
    return (f"O = ⌊(I + 2P − D·(K − 1) − 1) / S⌋ + 1 = ⌊({size} + 2·{padding} − {dilation}·{kernel_size - 1} − 1)"
            f" / {stride}⌋ + 1 = ⌊{top} / {stride}⌋ + 1 = **{out}**")


def _padded(x: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray]:
    values = padded(x, padding)  # [H + 2P, W + 2P], NaN in the border
    return values, np.vectorize(lambda v: "0" if np.isnan(v) else visual.number(v), otypes=[object])(values)


def _mark_taps(fig: go.Figure, step: convolution.ConvStep) -> None:
    """With dilation the window skips cells: outline each cell the kernel reads."""
    if step.dilation == 1:
        return
    rows, cols = step.taps
    for r in rows:
        for c in cols:
            fig.add_shape(type="rect", x0=c - 0.45, x1=c + 0.45, y0=r - 0.45, y1=r + 0.45,
                          line={"color": visual.HIGHLIGHT, "width": 2},
                          fillcolor=visual.with_alpha(visual.HIGHLIGHT, 0.15))


def is_small(x: np.ndarray, padding: int) -> bool:
    return max(x.shape) + 2 * padding <= SMALL


def input_figures(x: np.ndarray, padding: int, step: convolution.ConvStep, title: str = "Input",
                  zoom: int = ZOOM) -> list[tuple[str, go.Figure]]:
    """(key, figure) to draw for the input, in grey (the pixel scale): the whole padded grid when small,
    else an enlarged zoom x zoom neighbourhood of the window and a small overview of the whole input."""
    values, text = _padded(x, padding)
    box = (*step.rows, *step.cols)
    zrange = (min(float(np.min(x)), 0.0), max(float(np.max(x)), 1.0))
    if is_small(x, padding):
        fig = charts.grid(values, text=text, highlight=box, origin=(-padding, -padding), title=title,
                          colorscale="pixels", zrange=zrange)
        _mark_taps(fig, step)
        return [("conv_in", fig)]
    side = max(zoom, step.rows[1] - step.rows[0] + 2)
    n = values.shape[0]
    top = int(np.clip((step.rows[0] + step.rows[1]) // 2 - side // 2 + padding, 0, max(n - side, 0)))
    left = int(np.clip((step.cols[0] + step.cols[1]) // 2 - side // 2 + padding, 0, max(n - side, 0)))
    crop = (slice(top, top + side), slice(left, left + side))
    origin = (top - padding, left - padding)
    zoomed = charts.grid(values[crop], text=text[crop], highlight=box, origin=origin, colorscale="pixels",
                         zrange=zrange, show_text=True,
                         title=title)  # its axes number the rows and columns of the zoom
    _mark_taps(zoomed, step)
    overview = charts.grid(values, highlight=box, origin=(-padding, -padding), colorscale="pixels", zrange=zrange,
                           show_text=False, title="Whole input", legend=False)
    overview.add_shape(type="rect", x0=origin[1] - 0.5, x1=origin[1] + side - 0.5, y0=origin[0] - 0.5,
                       y1=origin[0] + side - 0.5, line={"color": visual.HIGHLIGHT, "width": 2, "dash": "dot"})
    overview.update_xaxes(showticklabels=False)
    overview.update_yaxes(showticklabels=False)
    return [("conv_in", zoomed), ("conv_overview", overview)]


def step_note(steps: list, n: int) -> str:
    """Where window n is and the cell it fills, short enough to sit beside the stepper's buttons."""
    step = steps[n - 1]
    return f"**Step {n}/{len(steps)}** → output cell {step.out_pos}"


def symmetric_range(values: np.ndarray) -> tuple[float, float]:
    return visual.signed_range(values)


def kernel_figure(kernel: np.ndarray) -> go.Figure:
    """The kernel's weights on the diverging scale (red +, blue −), with its colour bar."""
    return charts.grid(kernel, title="Kernel", colorscale="diverging", show_text=True)


def products_figure(step: convolution.ConvStep) -> go.Figure:
    """The window's products, each written as the arithmetic below writes it (convolution.shown_sum)."""
    shown = convolution.shown_sum(step)
    products = step.products[0]  # [k, k]
    text = np.vectorize(lambda v: visual.number(v, min(shown.digits, 2)), otypes=[object])(shown.products[0])
    return charts.grid(products, title="Window × kernel", colorscale="diverging", text=text, show_text=True)


def output_figure(steps: list, upto: int, zrange) -> go.Figure:
    """The output with the first `upto` cells filled in ("?" for the rest), the current cell boxed."""
    values = convolution.output_grid(steps, upto)[0]  # [H_out, W_out]
    text = np.vectorize(lambda v: "?" if np.isnan(v) else visual.number(v), otypes=[object])(values)
    i, j = steps[upto - 1].out_pos
    return charts.grid(values, text=text, highlight=(i, i + 1, j, j + 1), title="Output (before ReLU)",
                       colorscale="diverging", zrange=zrange)


def core_source() -> str:
    """The real source of the from-scratch convolution: one cell, and the loop over cells."""
    return "\n\n".join(inspect.getsource(f) for f in (convolution._conv_cell, convolution.conv_steps))


# ---- conv2: many input maps into one value ----------------------------------------------------------------

def partial_sums_chart(step: convolution.ConvStep, input_name: str) -> go.Figure:
    """A waterfall: one bar per input map's 3x3 dot product, then the bias, ending at the unit's value."""
    n = len(step.partial_sums)
    labels = [f"{input_name} #{c}" for c in range(n)] + ["bias", "output"]
    fig = go.Figure(go.Waterfall(
        x=labels, y=[*step.partial_sums, step.bias, step.result], measure=["relative"] * (n + 1) + ["total"],
        text=[visual.number(v) for v in (*step.partial_sums, step.bias, step.result)], textposition="outside",
        **visual.waterfall_colors(), connector={"line": {"color": visual.MUTED, "width": 1}},
        cliponaxis=False))
    fig.update_yaxes(title="running sum", zeroline=True)
    fig.update_xaxes(tickangle=-45)
    title = f"{n} partial sums + bias = {visual.number(step.result)} (bar labels rounded)"
    fig.update_layout(title={"text": title, "x": 0.0}, height=380,
                      showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def torch_check(x: np.ndarray, kernel: np.ndarray, bias: float, stride: int, padding: int, dilation: int) -> None:
    """The from-scratch convolution against PyTorch's F.conv2d on the same input, and the code that computed it."""
    theirs, diff = convolution.compare_with_torch(x, kernel, [bias], stride, padding, dilation)
    same = diff < 1e-9
    (st.success if same else st.error)(
        f"`conv2d` {'equals' if same else 'differs from'} PyTorch's `F.conv2d(stride={stride}, padding={padding}, "
        f"dilation={dilation})` on this input: largest difference {diff:.2g}, output {theirs.shape[0]}×"
        f"{theirs.shape[1]}.")
    prose("Like PyTorch, the code does not flip the kernel (strictly, a cross-correlation) and pads with zeros.")
    with st.expander("The code that computed every step (cnnviz/convolution.py)", expanded=not lecture_mode()):
        st.code(core_source(), language="python", wrap_lines=True)
