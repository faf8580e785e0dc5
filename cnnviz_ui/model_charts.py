"""Plotly figures for the model pages: functions data -> figure, testable without a browser."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz_ui import visual

# Curves are different things, not values: categorical colours of the visual language.
LOSS_COLOR, TRAIN_COLOR, TEST_COLOR = visual.CATEGORICAL[4], visual.CATEGORICAL[0], visual.CATEGORICAL[2]


def _layout(fig: go.Figure, height: int, title: str = "", **kwargs) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=title or None, plot_bgcolor="white", **kwargs)
    fig.update_xaxes(gridcolor=visual.GRIDLINE)
    fig.update_yaxes(gridcolor=visual.GRIDLINE)
    return fig


def probability_bars_html(probs: np.ndarray, digest: str = "") -> str:
    """The ten probabilities as plain HTML bars: drawn by the browser in a blink, unlike a chart library."""
    probs = np.asarray(probs, dtype=float).ravel()
    best = int(probs.argmax())
    rows = []
    for i, p in enumerate(probs):
        color = visual.CATEGORICAL[0] if i == best else visual.MAGNITUDE_COLOR
        rows.append(f"<div style='display:flex;align-items:center;gap:6px;height:1.45em'>"
                    f"<span style='width:1em;text-align:right;font-weight:{700 if i == best else 400}'>{i}</span>"
                    f"<span style='flex:1;background:{visual.BLANK};border-radius:3px;height:70%'>"
                    f"<span style='display:block;width:{100 * p:.1f}%;min-width:1px;height:100%;background:{color};"
                    f"border-radius:3px'></span></span>"
                    f"<span style='width:3.2em;text-align:right;font-size:0.85em'>{visual.percent(p)}</span></div>")
    return (f"<div class='cnnviz-probabilities' data-digest='{digest}'>"
            f"<div style='font-weight:600;margin-bottom:4px'>Probability of each digit</div>{''.join(rows)}</div>")


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (the usual loss-curve smoothing)."""
    out, avg = [], 0.0
    for i, v in enumerate(np.asarray(values, dtype=float), start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i))
    return np.array(out)


def training_curves(steps, batch_loss, train_acc, test_steps=(), test_acc=(), total_steps: int | None = None,
                    height: int = 320) -> go.Figure:
    """Left: batch loss (raw, faint) and its smoothed curve. Right: running train accuracy of the epoch so far,
    and the test accuracy at every evaluation (each epoch's end, and the end of the run)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Batch loss", "Accuracy"), horizontal_spacing=0.1)
    steps = np.asarray(steps)
    fig.add_trace(go.Scatter(x=steps, y=batch_loss, mode="lines", name="batch loss",
                             line=dict(color=LOSS_COLOR, width=1), opacity=0.25), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=smooth(batch_loss), mode="lines", name="smoothed loss",
                             line=dict(color=LOSS_COLOR, width=2.5)), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=train_acc, mode="lines", name="train accuracy (running)",
                             line=dict(color=TRAIN_COLOR, width=2)), 1, 2)
    if test_steps is not None and len(test_steps):
        fig.add_trace(go.Scatter(x=test_steps, y=test_acc, mode="lines+markers+text", name="test accuracy",
                                 line=dict(color=TEST_COLOR, width=1.5, dash="dot"),
                                 marker=dict(size=10, symbol="diamond"), cliponaxis=False,  # the last one whole
                                 text=[visual.percent(a) for a in test_acc], textposition="bottom left"), 1, 2)
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_xaxes(title="step")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.3, yanchor="top"), uirevision="keep")  # clear of "step"
    return _layout(fig, height, margin_t=40)  # room for the panel titles


def confusion(cm: np.ndarray, height: int = 420, selected: tuple[int, int] | None = None) -> go.Figure:
    """Confusion matrix (rows: true digit, columns: predicted) on the sequential scale, coloured by log10(1 + count)
    so that a handful of mistakes shows beside a thousand correct answers; the colour bar is labelled in counts."""
    cm = np.asarray(cm)
    z = np.log10(cm + 1)
    colors = visual.heatmap_colors(z, "sequential", title="count")
    top = float(colors["zmax"])
    ticks = [t for t in (0, 1, 10, 100, 1000, 10000) if np.log10(t + 1) <= top + 1e-9]
    colors["colorbar"].update(tickvals=[float(np.log10(t + 1)) for t in ticks],
                              ticktext=[visual.number(t) for t in ticks])
    fig = go.Figure(go.Heatmap(z=z, x=[str(i) for i in range(cm.shape[1])], y=[str(i) for i in range(cm.shape[0])],
                               text=[[visual.number(n) for n in row] for row in cm], texttemplate="%{text}",
                               textfont=dict(size=12), xgap=1, ygap=1, **colors,
                               hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>"))
    # Plotly cannot select a heatmap's cells, so an invisible marker over each cell takes the click.
    rows, cols = np.indices(cm.shape)
    fig.add_trace(go.Scatter(x=[str(c) for c in cols.ravel()], y=[str(r) for r in rows.ravel()], mode="markers",
                             marker=dict(symbol="square", size=26, color="rgba(0,0,0,0)"), showlegend=False,
                             customdata=cm.ravel(), name="cells",
                             hovertemplate="true %{y}, predicted %{x}: %{customdata}<extra></extra>"))
    digits = [str(i) for i in range(cm.shape[0])]  # every digit labelled, however large the type
    fig.update_yaxes(autorange="reversed", title="true digit", type="category", tickmode="array", tickvals=digits)
    fig.update_xaxes(title="predicted digit", type="category", side="top", tickmode="array",
                     tickvals=[str(i) for i in range(cm.shape[1])])
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5,
                      line=dict(color=visual.HIGHLIGHT, width=3))
    return _layout(fig, height)


def per_class(accuracy: np.ndarray, height: int = 260, overall: float | None = None) -> go.Figure:
    """Accuracy per true digit, the axis zoomed to the data (every bar would look full on 0-100%; the axis starts
    a whole percent below the lowest bar), with the overall accuracy drawn across as a dashed baseline."""
    acc = np.asarray(accuracy, dtype=float)
    low = float(min(acc.min(), overall if overall is not None else 1.0))
    bottom = max(0.0, np.floor((low - 0.01) * 100) / 100)  # a whole percent below the lowest bar
    fig = go.Figure(go.Bar(x=[str(i) for i in range(acc.size)], y=acc - bottom, base=bottom,
                           marker_color=visual.MAGNITUDE_COLOR, text=[visual.percent(a) for a in acc],
                           textposition="inside", insidetextanchor="end", textangle=-90,  # upright labels in
                           textfont=dict(size=11, color=visual.ink_for(visual.lut("sequential")[128])),  # the bars
                           constraintext="none",  # never overlap a neighbour or the baseline, whatever the font
                           customdata=acc, hovertemplate="digit %{x}: %{customdata:.2%}<extra></extra>"))
    if overall is not None:
        fig.add_hline(y=overall, line=dict(color=visual.TEXT, width=1.5, dash="dash"))
    fig.update_yaxes(range=[bottom, 1.0], tickformat=".0%", title="accuracy")
    fig.update_xaxes(title="true digit", type="category")
    return _layout(fig, height)


def parameter_split(heads: dict[str, dict[str, int]], height: int = 300) -> go.Figure:
    """Stacked bars: for each head (e.g. "FC head", "GAP head") its parameters per layer."""
    fig = go.Figure()
    layers = list(dict.fromkeys(name for per_layer in heads.values() for name in per_layer))
    for i, layer in enumerate(layers):
        fig.add_trace(go.Bar(name=layer, y=list(heads), x=[heads[h].get(layer, 0) for h in heads], orientation="h",
                             marker_color=visual.CATEGORICAL[i % len(visual.CATEGORICAL)],
                             hovertemplate=layer + ": %{x:,}<extra></extra>"))
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(title="parameters")
    return _layout(fig, height)


def filter_norms(norms: np.ndarray, height: int = 240, layer: str = "conv2") -> go.Figure:
    """How strong each filter of conv layer `layer` is (its weights' L2 norm)."""
    fig = go.Figure(go.Bar(x=[str(i) for i in range(len(norms))], y=norms, marker_color=visual.MAGNITUDE_COLOR,
                           hovertemplate=f"{layer} filter %{{x}}: norm %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title=f"{layer} filter", type="category")
    fig.update_yaxes(title="L2 norm")
    return _layout(fig, height)


def channel_weights(channel_norms: np.ndarray, height: int = 320, layer: str = "conv2",
                    source: str = "conv1") -> go.Figure:
    """[C_out, C_in] norms: which `source` maps each filter of `layer` listens to."""
    cn = np.asarray(channel_norms)
    fig = go.Figure(go.Heatmap(z=cn, **visual.heatmap_colors(cn, "sequential", title="norm"),
                               hovertemplate=f"{layer} filter %{{y}} ← {source} map %{{x}}: %{{z:.3f}}<extra></extra>"))
    fig.update_xaxes(title=f"input channel ({source} map)", dtick=max(1, cn.shape[1] // 5))  # room for lecture type
    fig.update_yaxes(title=f"{layer} filter", autorange="reversed", dtick=max(1, cn.shape[0] // 8))
    return _layout(fig, height)
