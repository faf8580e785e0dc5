"""Presentation helpers for the pooling page: inputs to choose from, the grids as shown, the formula as text.

Everything the page computes and every grid it draws depends only on the view (input, kernel, stride, padding,
step, move), never on who looks, and a class following its instructor asks for the same view all at once. So
that work is cached across sessions (st.cache_data, keyed by the view) and a grid is kept as its plain spec:
each run gets its own copy and builds its own Figure from it (`_figure`), so no session can change another's.
"""
from __future__ import annotations

import inspect

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz import pooling
from cnnviz_ui import charts, links, visual
from cnnviz_ui.shell import error_box, lecture_mode, prose, show_chart

INPUTS = ("chapter", "random", "real")
INPUT_LABELS = {"chapter": "The chapter's 4×4 map", "random": "A random map", "real": "A real conv1 map (MNIST)"}


@st.cache_data(show_spinner=False, max_entries=64)
def real_feature_map(digit_index: int, channel: int):
    """(relu1 map of one channel [28, 28], label) of a test digit through the shipped model; None without MNIST."""
    from cnnviz.trace import trace
    from cnnviz_ui.digits import test_digit
    from cnnviz_ui.models import shipped_model

    digit = test_digit(digit_index)
    if digit is None:
        return None
    image, _, label = digit
    model = shipped_model("fc").model
    maps = trace(model, image)["relu1"]  # [1, 16, 28, 28]: conv1 after its ReLU, what pool1 receives
    return np.round(maps[0, channel].numpy().astype(float), 2), label


def padded_input(x: np.ndarray, padding: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The input with its padding border: values (NaN in the border) and the text each cell shows."""
    values = pooling.padded(x, padding)
    pad_text = "-inf" if mode == "max" else "0"  # as the formula writes it (PoolStep.formula)
    text = np.vectorize(lambda v: pad_text if np.isnan(v) else visual.number(v), otypes=[object])(values)
    return values, text


def output_so_far(steps: list, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """The output grid with the first `upto` cells filled in and "?" for the rest."""
    values = pooling.output_grid(steps, upto)
    text = np.vectorize(lambda v: "?" if np.isnan(v) else visual.number(v), otypes=[object])(values)
    return values, text


def step_note(steps: list, n: int) -> str:
    """Where window n is, short enough to sit beside the stepper's buttons (markdown)."""
    step = steps[n - 1]
    return f"**Step {n}/{len(steps)}**: rows {step.rows[0]}:{step.rows[1]}, cols {step.cols[0]}:{step.cols[1]}"


ARROWS = (("←", 0, -1), ("↑", -1, 0), ("↓", 1, 0), ("→", 0, 1))  # (label, dy, dx)


def direction(dy: int, dx: int) -> str:
    """A shift in words: "1 px right", "2 px up and 1 px left", "not moved"."""
    parts = [f"{abs(n)} px {word}" for n, word in ((dy, "down" if dy > 0 else "up"),
                                                   (dx, "right" if dx > 0 else "left")) if n]
    return " and ".join(parts) if parts else "not moved"


def shift_summary(dy: int, dx: int, same: np.ndarray) -> str:
    """How many pooled values a shift left alone (markdown)."""
    if dy == 0 and dx == 0:
        return "Not moved yet: press an arrow."
    return f"Moved {direction(dy, dx)}: **{int(same.sum())} of {same.size}** pooled values unchanged."


def marked(values: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Each pooled value's text, with ✓ where the shift left it unchanged."""
    return np.vectorize(lambda v, s: f"{visual.number(v)} ✓" if s else visual.number(v), otypes=[object])(values, same)


def shifted_text(moved: np.ndarray, windows: list) -> np.ndarray:
    """The moved input's text: each window's old maximum marked where it now sits, ✓ when it stayed inside
    its window, ✗ when it crossed the window's edge."""
    text = np.vectorize(visual.number, otypes=[object])(moved)
    for w in windows:
        r, c = w.moved_to
        if 0 <= r < moved.shape[0] and 0 <= c < moved.shape[1]:
            text[r, c] = f"{text[r, c]} {'✗' if w.crossed else '✓'}"
    return text


def shift_lines(windows: list) -> str:
    """One markdown line per pooled value: before → after, and why (its maximum stayed, crossed an edge, or a
    larger value came in)."""
    lines = []
    for w in windows:
        mark = "✓" if w.same else "✗"
        lines.append(f"- {mark} window {w.out_pos}: {visual.number(w.before)} → {visual.number(w.after)}: {w.reason}")
    return "\n".join(lines)


def shift_text(dy: int, dx: int) -> str:
    """A shift as URL text: "dy,dx"."""
    return f"{dy},{dx}"


def shift_parser(limit: int):
    """A parser for links.restore: "dy,dx" with each part within ±limit."""
    def parse(text: str) -> tuple[int, int]:
        dy, dx = (int(part) for part in text.split(","))
        if max(abs(dy), abs(dx)) > limit:
            raise ValueError(f"a shift of ({dy}, {dx}) moves the map out of view")
        return dy, dx
    return parse


# ---- the view's work, cached across sessions -----------------------------------------------------------------
CACHE = dict(show_spinner=False, max_entries=128)  # a grid's spec: 4 kB (4×4) to 20 kB (a padded 28×28 map)


def _figure(spec: dict) -> go.Figure:
    """This run's own Figure from a cached spec (st.cache_data hands out a fresh copy). Plotly checked the spec
    when it was built, so it is not validated again: that check costs as much as building the grid."""
    return go.Figure(spec, _validate=False)


@st.cache_data(show_spinner=False, max_entries=32)  # up to 210 kB each (a 28×28 map, kernel 1, stride 1)
def pool_steps(x: np.ndarray, kernel_size: int, stride: int, padding: int) -> dict:
    """{mode: [PoolStep, ...]} for max and average pooling (raises ValueError for a geometry that does not fit)."""
    return {mode: pooling.pool_steps(x, kernel_size, stride, padding, mode) for mode in pooling.MODES}


@st.cache_data(**CACHE)
def _input_spec(x, padding, window, value_range) -> dict:
    values, text = padded_input(x, padding, "max")
    return charts.grid(values, text=text, highlight=window, origin=(-padding, -padding), title="Input",
                       colorscale="sequential", zrange=value_range).to_dict()


def input_figure(x: np.ndarray, padding: int, window: tuple, value_range: tuple) -> go.Figure:
    """The input with its padding border and the current window (r0, r1, c0, c1, half-open) outlined."""
    return _figure(_input_spec(x, padding, tuple(window), tuple(value_range)))


@st.cache_data(**CACHE)
def _output_spec(x, kernel_size, stride, padding, mode, upto, value_range, title) -> dict:
    steps = pool_steps(x, kernel_size, stride, padding)[mode]
    values, text = output_so_far(steps, upto)
    i, j = steps[upto - 1].out_pos
    return charts.grid(values, text=text, highlight=(i, i + 1, j, j + 1), title=title, colorscale="sequential",
                       zrange=value_range).to_dict()


def output_figure(x: np.ndarray, kernel_size: int, stride: int, padding: int, mode: str, upto: int,
                  value_range: tuple, title: str) -> go.Figure:
    """The `mode` pooled output after `upto` windows, the cell just written outlined, "?" where none came yet."""
    return _figure(_output_spec(x, kernel_size, stride, padding, mode, upto, tuple(value_range), title))


kindest_shift = st.cache_data(**CACHE)(pooling.kindest_shift)  # once per input and geometry


@st.cache_data(**CACHE)
def _shift_parts(x, dy, dx, kernel_size, stride, padding, value_range) -> tuple:
    before, after, same = pooling.shift_invariance(x, dy, dx, kernel_size, stride, padding, "max")
    windows = pooling.shift_windows(x, dy, dx, kernel_size, stride, padding)
    moved = pooling.shift(x, dy, dx)
    specs = (charts.grid(moved, text=shifted_text(moved, windows), title=f"Input moved {direction(dy, dx)}",
                         colorscale="sequential", zrange=value_range).to_dict(),
             charts.grid(before, title="Max pooled, before", colorscale="sequential", zrange=value_range).to_dict(),
             charts.grid(after, text=marked(after, same), title="Max pooled, after", colorscale="sequential",
                         zrange=value_range).to_dict())
    return same, windows, specs


def shift_figures(x: np.ndarray, dy: int, dx: int, kernel_size: int, stride: int, padding: int,
                  value_range: tuple) -> tuple[np.ndarray, list, tuple[go.Figure, go.Figure, go.Figure]]:
    """(True where the pooled value stayed, pooling.shift_windows, figures: the moved input with each window's
    old maximum marked, the max-pooled map before and after) for a move of the input by (dy, dx)."""
    same, windows, specs = _shift_parts(x, dy, dx, kernel_size, stride, padding, tuple(value_range))
    return same, windows, tuple(_figure(spec) for spec in specs)


@st.cache_data(**CACHE)
def torch_comparison(x: np.ndarray, kernel_size: int, stride: int, padding: int) -> dict:
    """{mode: (PyTorch's output, its largest difference from pool2d)} for max and average pooling."""
    return {mode: pooling.compare_with_torch(x, kernel_size, stride, padding, mode) for mode in pooling.MODES}


def size_formula(input_size: int, kernel_size: int, stride: int, padding: int) -> str:
    """The output-size formula with the user's numbers put in (markdown); raises ValueError when invalid."""
    out = pooling.output_size(input_size, kernel_size, stride, padding)
    return (f"O = ⌊(I + 2P − K) / S⌋ + 1 = ⌊({input_size} + 2·{padding} − {kernel_size}) / {stride}⌋ + 1 "
            f"= ⌊{input_size + 2 * padding - kernel_size} / {stride}⌋ + 1 = **{out}**")


@st.cache_data(show_spinner=False, max_entries=1)
def core_source() -> str:
    """The real source of the from-scratch pooling: the per-window computation and the loops over windows."""
    functions = [getattr(pooling, name, None) for name in ("_pool_cell", "pool_steps", "pool2d", "output_grid")]
    return "\n\n".join(inspect.getsource(f) for f in functions if f is not None)


def one_pixel_shift(x: np.ndarray, shape_key: tuple, value_range: tuple[float, float]) -> None:
    """The arrows that move the input one pixel (the move kept in the URL), the moved input with each window's
    fate marked, and the max-pooled map before and after. `shape_key` (input and geometry) names the setting:
    a new one starts with the move that keeps the most maxima."""
    _, _, kernel_size, stride, padding = shape_key
    limit = x.shape[0] - 1
    if st.session_state.get("pool_shift_for") != shape_key:
        st.session_state.pool_shift_for = shape_key
        st.session_state.pool_shift = kindest_shift(x, kernel_size, stride, padding)
    if (linked_shift := links.restore("pool_shift", shift_parser(limit))) is not None:
        st.session_state.pool_shift = linked_shift

    def nudge(dy: int, dx: int) -> None:
        y, x_ = st.session_state.pool_shift
        st.session_state.pool_shift = (min(max(y + dy, -limit), limit), min(max(x_ + dx, -limit), limit))

    arrows = st.columns([1, 1, 1, 1, 1.4, 4], vertical_alignment="center")
    for col, (label, dy, dx) in zip(arrows, ARROWS):
        col.button(label, on_click=nudge, args=(dy, dx), key=f"pool_shift_{label}", width="stretch",
                   help=f"Move the input one pixel {direction(dy, dx)}")
    arrows[4].button("Reset", on_click=lambda: st.session_state.update(pool_shift=(0, 0)), key="pool_shift_reset",
                     width="stretch")
    dy, dx = st.session_state.pool_shift
    links.write("pool_shift", shift_text(dy, dx))
    same, windows, (shifted, before, after) = shift_figures(x, dy, dx, kernel_size, stride, padding, value_range)
    arrows[5].markdown(shift_summary(dy, dx, same))
    c_shifted, c_before, c_after = st.columns([3, 2, 2])
    with c_shifted:
        show_chart(shifted, key="pool_shifted", height=330)
    with c_before:
        show_chart(before, key="pool_before", height=260)
    with c_after:
        show_chart(after, key="pool_after", height=260)
    if (dy, dx) != (0, 0):
        st.markdown(shift_lines(windows))
        st.caption("On the moved input, ✓ marks a window's old maximum that stayed inside its window and ✗ one "
                   "that crossed the window's edge; on the pooled map, ✓ marks a value the move left unchanged.")


def torch_check(x: np.ndarray, kernel_size: int, stride: int, padding: int) -> None:
    """The from-scratch max and average pooling against PyTorch's on the same input, and the code behind them."""
    compared = torch_comparison(x, kernel_size, stride, padding)
    for mode, layer in (("max", "nn.MaxPool2d"), ("avg", "nn.AvgPool2d")):
        theirs, diff = compared[mode]
        same = diff < 1e-9
        (st.success if same else st.error)(
            f"`pool2d(mode={mode!r})` {'equals' if same else 'differs from'} PyTorch's "
            f"`{layer}({kernel_size}, {stride}, {padding})` on this input: largest difference {diff:.2g}, "
            f"output {theirs.shape[0]}×{theirs.shape[1]}.")
    prose("Padding counts as −∞ for max pooling (a padded cell never wins) and as 0 for average pooling, "
          "which always divides by the full window, as PyTorch does by default (`count_include_pad=True`).")
    with st.expander("The code that computed every step above (cnnviz/pooling.py)", expanded=not lecture_mode()):
        st.code(core_source(), language="python", wrap_lines=True)


def shape_calculator(kernel_size: int, stride: int, padding: int) -> None:
    """A batch shape [N, C, H, W] typed in, and the shape the page's pooling layer gives it."""
    st.markdown(f"A batch of feature maps through `MaxPool2d({kernel_size}, {stride}"
                f"{f', padding={padding}' if padding else ''})`: batch and channels pass through unchanged.")
    cols = st.columns(4)
    shape = tuple(col.number_input(dim, 1, 4096, default, key=f"pool_shape_{dim}")
                  for col, dim, default in zip(cols, "NCHW", (8, 32, 14, 14)))
    try:
        out = pooling.pooled_shape(shape, kernel_size, stride, padding)
        st.markdown(f"#### `{list(shape)}` → `{list(out)}`")
    except ValueError as exc:
        error_box(exc)
