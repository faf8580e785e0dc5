"""Chart builders: data in, Plotly figure out (no Streamlit here, so tests need no browser)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from cnnviz_ui import visual

ACTIVATION_COLORS = {"relu": visual.CATEGORICAL[0], "tanh": visual.CATEGORICAL[4], "sigmoid": visual.CATEGORICAL[2],
                     "leaky_relu": visual.CATEGORICAL[6]}
HIGHLIGHT = visual.HIGHLIGHT
TITLE_WRAP = 24  # characters: a longer grid title is broken onto lines, so a narrow column never cuts it


def wrap_title(title: str, width: int = TITLE_WRAP) -> str:
    """The title broken at spaces into lines of at most `width` characters (Plotly's <br>; the space before
    each break is kept, so the text without tags reads as before)."""
    lines: list[str] = []
    for word in title.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return " <br>".join(lines)


def _layout(fig: go.Figure, title: str = "", height: int | None = None, **kwargs) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), margin=dict(l=10, r=10, t=40 if title else 10,
                      b=10), height=height, **kwargs)
    return fig


def grid(values: np.ndarray, *, text: np.ndarray | None = None, title: str = "", highlight=None,
         origin: tuple[int, int] = (0, 0), colorscale: str | None = None, zrange=None, height: int | None = None,
         show_text: bool | None = None, legend: bool | str = True, legend_title: str = "",
         title_wrap: int | None = TITLE_WRAP) -> go.Figure:
    """A 2-D map as a heatmap with its numbers written in (by visual.number) and its colour bar as legend.

    `colorscale` names a scale of visual.py ("diverging", "sequential", "pixels"); by default signed data is
    diverging (symmetric about 0), the rest sequential. `values` may hold NaN (drawn blank, e.g. padding).
    `origin` is the index of values[0, 0] (negative for a padded border), so `highlight=(r0, r1, c0, c1)`
    (half-open) is in the same indices. The colour bar is slim and on the right (it takes width, which a
    grid in a wide column has to spare, never height); `legend="h"` puts it under the grid, `legend=False`
    leaves it out. The title is wrapped at `title_wrap` characters.
    """
    values = np.asarray(values, dtype=float)
    h, w = values.shape
    ys, xs = np.arange(h) + origin[0], np.arange(w) + origin[1]
    if show_text is None:
        show_text = max(h, w) <= 12
    if text is None:
        text = np.vectorize(_cell_text, otypes=[object])(values) if values.size else values.astype(str)
    if colorscale is None or colorscale in visual.SCALES:
        colors = visual.heatmap_colors(values, colorscale, zrange, legend_title, bool(legend),
                                       orientation="h" if legend == "h" else "v")
    else:  # a scale given as a Plotly list (or an old name): passed on as it is
        finite = values[np.isfinite(values)]
        lo, hi = zrange if zrange is not None else ((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
        colors = dict(colorscale=colorscale, zmin=lo, zmax=hi if hi > lo else lo + 1, showscale=False)
    fig = go.Figure(go.Heatmap(
        z=values, x=xs, y=ys, text=text, texttemplate="%{text}" if show_text else None, xgap=2, ygap=2,
        hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>", **colors,
    ))
    if highlight is not None:
        r0, r1, c0, c1 = highlight
        fig.add_shape(type="rect", x0=c0 - 0.5, x1=c1 - 0.5, y0=r0 - 0.5, y1=r1 - 0.5,
                      line=dict(color=HIGHLIGHT, width=4), name="highlight")
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, zeroline=False,
                     dtick=1 if h <= 12 else None, automargin=True)
    fig.update_xaxes(showgrid=False, zeroline=False, side="top", constrain="domain", dtick=1 if w <= 12 else None,
                     automargin=True)
    shown = wrap_title(title, title_wrap) if title and title_wrap else title
    fig = _layout(fig, shown, height, plot_bgcolor=visual.BLANK)  # blank (NaN) cells show as grey
    # The title sits on the plot's top edge and pushes the margin until it clears the tick labels above the
    # grid, however many lines it has and however large lecture mode makes the type.
    fig.update_layout(margin_t=10, title=dict(yref="paper", y=1.0, yanchor="bottom", automargin=True,
                                              pad=dict(b=34)))  # b: the tick labels above the grid
    return fig


def _cell_text(v: float) -> str:
    return visual.number(v) if np.isfinite(v) else ""


def activation_curves(x: np.ndarray, curves: dict, at_x: float | None = None, title: str = "",
                      height: int | None = 380, labels: dict | None = None, y_range=None) -> go.Figure:
    """f (solid) and f' (dashed) for each activation; `curves` maps name -> (f(x), f'(x))."""
    fig = go.Figure()
    for name, (f, df) in curves.items():
        color, label = ACTIVATION_COLORS.get(name), (labels or {}).get(name, name)
        fig.add_trace(go.Scatter(x=x, y=f, name=f"{label}(x)", line=dict(color=color, width=3)))
        fig.add_trace(go.Scatter(x=x, y=df, name=f"{label}′(x)", line=dict(color=color, width=2, dash="dash")))
    if at_x is not None:
        fig.add_vline(x=at_x, line=dict(color=visual.MUTED, width=1, dash="dot"))
    fig.update_xaxes(title="x (pre-activation)", zeroline=True)
    fig.update_yaxes(zeroline=True, range=y_range)
    return _layout(fig, title, height, legend=dict(orientation="h", y=-0.2))


def relu_and_leaky(x: np.ndarray, relu: np.ndarray, leaky: np.ndarray, slope: float, title: str = "",
                   height: int | None = 340) -> go.Figure:
    """ReLU and Leaky ReLU side by side: the full view (Leaky dashed over ReLU, so both show) and a zoom on
    x < 0 whose y-axis is stretched until Leaky's small slope is visible next to ReLU's flat zero."""
    from plotly.subplots import make_subplots

    x, relu, leaky = (np.asarray(a, dtype=float) for a in (x, relu, leaky))
    below = x <= 0
    reach = slope * float(x.min())  # Leaky ReLU's value at the left edge (negative)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        "Full view", "Zoom on x < 0 <br>(y-axis magnified)"))  # two short lines: fits its half in lecture mode
    for col, xs, r, lk in ((1, x, relu, leaky), (2, x[below], relu[below], leaky[below])):
        fig.add_trace(go.Scatter(x=xs, y=r, name="ReLU(x)", legendgroup="relu", showlegend=col == 1,
                                 line=dict(color=ACTIVATION_COLORS["relu"], width=5)), row=1, col=col)
        fig.add_trace(go.Scatter(x=xs, y=lk, name=f"Leaky ReLU(x) = max({slope:g}x, x)", legendgroup="leaky",
                                 showlegend=col == 1,
                                 line=dict(color=ACTIVATION_COLORS["leaky_relu"], width=3, dash="dash")),
                      row=1, col=col)
    fig.add_annotation(x=float(x.min()) / 2, y=reach / 2, text=f"slope {slope:g}", showarrow=True, ax=30, ay=30,
                       row=1, col=2, font=dict(color=ACTIVATION_COLORS["leaky_relu"]))
    fig.add_annotation(x=float(x.min()) / 2, y=0, text="ReLU: flat at 0", showarrow=False, yshift=12,
                       row=1, col=2, font=dict(color=ACTIVATION_COLORS["relu"]))
    fig.update_xaxes(title="x (pre-activation)", zeroline=True)
    fig.update_xaxes(range=[float(x.min()), 0.0], row=1, col=2)
    fig.update_yaxes(zeroline=True, row=1, col=1)
    fig.update_yaxes(range=[1.25 * reach, -0.5 * reach], zeroline=True, row=1, col=2)
    fig = _layout(fig, title, height, legend=dict(orientation="h", y=-0.25))
    fig.update_layout(margin_t=95 if title else 65)  # room for the two-line panel title
    return fig


def gradient_decay(products: dict, title: str = "", height: int | None = 380, labels: dict | None = None) -> go.Figure:
    """The backward signal after each layer, log scale; `products` maps name -> n + 1 values."""
    fig = go.Figure()
    for name, values in products.items():
        values = np.asarray(values, dtype=float)
        shown = np.where(values > 0, values, np.nan)  # exact zeros cannot sit on a log axis
        fig.add_trace(go.Scatter(x=np.arange(len(values)), y=shown, name=(labels or {}).get(name, name),
                                 mode="lines+markers",
                                 line=dict(color=ACTIVATION_COLORS.get(name), width=3)))
    fig.update_yaxes(type="log", title="gradient reaching this layer", exponentformat="power")
    fig.update_xaxes(title="layers the gradient has passed through", dtick=1)
    return _layout(fig, title, height, legend=dict(orientation="h", y=-0.25))


def parameter_share(names: list[str], params: list[int], title: str = "", height: int | None = 300) -> go.Figure:
    """Where the parameters live: one horizontal bar per layer that has any, labelled with its share."""
    total = sum(params)
    kept = [(n, p) for n, p in zip(names, params) if p > 0]
    labels = [f"{p:,} ({p / total:.1%})" for _, p in kept]
    fig = go.Figure(go.Bar(x=[p for _, p in kept], y=[n for n, _ in kept], orientation="h", text=labels,
                           textposition="auto", marker_color=visual.KIND_COLORS["Linear"], cliponaxis=False))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="parameters", range=[0, total * 1.05] if total else None)
    return _layout(fig, title or f"{total:,} parameters", height)


def shape_flow(names: list[str], kinds: list[str], shapes: list[tuple], selected: str | None = None,
               height: int | None = 260) -> go.Figure:
    """Tensor shapes flowing through the network: one block per layer, sized by its shape."""
    fig = go.Figure()
    for i, (name, kind, shape) in enumerate(zip(names, kinds, shapes)):
        if len(shape) == 3:   # [C, H, W]: height from the spatial side, width from the channels
            half_h, half_w = 0.12 + 0.33 * shape[1] / 28, 0.08 + 0.3 * math.log2(shape[0] + 1) / 6
        else:                 # a vector: a thin bar, height from its length
            half_h, half_w = 0.1 + 0.35 * min(math.log10(max(shape[0], 1)) / 3.5, 1.0), 0.06
        color = visual.KIND_COLORS.get(kind, visual.MUTED)
        chosen = name == selected
        fig.add_shape(type="rect", x0=i - half_w, x1=i + half_w, y0=-half_h, y1=half_h, fillcolor=color,
                      opacity=1.0 if chosen or selected is None else 0.45,
                      line=dict(color=HIGHLIGHT if chosen else color, width=4 if chosen else 1))
        if i:
            fig.add_annotation(x=i - 0.5, y=0, text="→", showarrow=False, font=dict(size=16, color=visual.MUTED))
    fig.add_trace(go.Scatter(x=list(range(len(names))), y=[0.62] * len(names), mode="text", text=names,
                             textfont=dict(size=12), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=list(range(len(names))), y=[-0.62] * len(names), mode="text",
                             text=["×".join(str(d) for d in s) for s in shapes], textfont=dict(size=11),
                             hoverinfo="skip"))
    fig.update_xaxes(visible=False, range=[-0.6, len(names) - 0.4])
    fig.update_yaxes(visible=False, range=[-0.8, 0.8])
    return _layout(fig, "", height, showlegend=False, plot_bgcolor="rgba(0,0,0,0)")


def image_with_boxes(image: np.ndarray, boxes: list[tuple], title: str = "", height: int | None = 420) -> go.Figure:
    """A grayscale image with labelled boxes; each box is (label, y0, y1, x0, x1) in pixels, half-open."""
    image = np.asarray(image, dtype=float)
    fig = go.Figure(go.Heatmap(z=image, colorscale=visual.PIXELS, zmin=0.0, zmax=max(1.0, float(image.max())),
                               showscale=False,  # white ink on black, as MNIST
                               hovertemplate="row %{y}, col %{x}<extra></extra>"))
    palette = visual.CATEGORICAL
    for n, (label, y0, y1, x0, x1) in enumerate(boxes):  # each box a closed outline, named in the legend
        ys, xs = [y0 - 0.5, y0 - 0.5, y1 - 0.5, y1 - 0.5, y0 - 0.5], [x0 - 0.5, x1 - 0.5, x1 - 0.5, x0 - 0.5, x0 - 0.5]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=label, hoverinfo="name",
                                 line=dict(color=palette[n % len(palette)], width=3)))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, zeroline=False)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain")
    return _layout(fig, title, height, legend=dict(orientation="h", x=0.0, y=-0.09, yanchor="top"))  # under the ticks


def lecture_margins(fig: go.Figure, text_size: int | None = None) -> go.Figure:
    """Room above a grid for its title and its column numbers once lecture mode enlarges both; `text_size`
    sets the in-cell numbers' size before lecture mode's enlargement (a 5x5 zoom has small cells)."""
    fig.update_layout(margin_t=(fig.layout.margin.t or 40) + 18)
    if text_size is not None:
        fig.update_traces(textfont_size=text_size, selector=dict(type="heatmap"))
    return fig
