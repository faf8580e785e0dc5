"""Plotly figures for the model pages: functions data -> figure, testable without a browser."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

BLUE, ORANGE, GREEN, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#9e9e9e"


def _layout(fig: go.Figure, height: int, title: str = "", **kwargs) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=title or None, plot_bgcolor="white", **kwargs)
    return fig


def probability_bars_html(probs: np.ndarray, digest: str = "") -> str:
    """The ten probabilities as plain HTML bars: drawn by the browser in a blink, unlike a chart library."""
    probs = np.asarray(probs, dtype=float).ravel()
    best = int(probs.argmax())
    rows = []
    for i, p in enumerate(probs):
        color = ORANGE if i == best else BLUE
        rows.append(f"<div style='display:flex;align-items:center;gap:6px;height:1.45em'>"
                    f"<span style='width:1em;text-align:right;font-weight:{700 if i == best else 400}'>{i}</span>"
                    f"<span style='flex:1;background:#f0f2f6;border-radius:3px;height:70%'>"
                    f"<span style='display:block;width:{100 * p:.1f}%;min-width:1px;height:100%;background:{color};"
                    f"border-radius:3px'></span></span>"
                    f"<span style='width:3.2em;text-align:right;font-size:0.85em'>{p:.1%}</span></div>")
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
                             line=dict(color=BLUE, width=1), opacity=0.25), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=smooth(batch_loss), mode="lines", name="smoothed loss",
                             line=dict(color=BLUE, width=2.5)), 1, 1)
    fig.add_trace(go.Scatter(x=steps, y=train_acc, mode="lines", name="train accuracy (running)",
                             line=dict(color=ORANGE, width=2)), 1, 2)
    if test_steps is not None and len(test_steps):
        fig.add_trace(go.Scatter(x=test_steps, y=test_acc, mode="lines+markers+text", name="test accuracy",
                                 line=dict(color=GREEN, width=1.5, dash="dot"), marker=dict(size=10, symbol="diamond"),
                                 text=[f"{a:.1%}" for a in test_acc], textposition="bottom left"), 1, 2)
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_xaxes(title="step", gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.25), uirevision="keep")
    return _layout(fig, height, margin_t=40)  # room for the panel titles


def confusion(cm: np.ndarray, height: int = 420, selected: tuple[int, int] | None = None) -> go.Figure:
    """Confusion matrix (rows: true digit, columns: predicted), log-ish colour so the errors show."""
    cm = np.asarray(cm)
    z = np.log10(cm + 1)
    fig = go.Figure(go.Heatmap(z=z, x=[str(i) for i in range(cm.shape[1])], y=[str(i) for i in range(cm.shape[0])],
                               text=cm, texttemplate="%{text}", colorscale="Blues", showscale=False,
                               hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true digit", type="category")
    fig.update_xaxes(title="predicted digit", type="category", side="top")
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5, line=dict(color=ORANGE, width=3))
    return _layout(fig, height)


def per_class(accuracy: np.ndarray, height: int = 260) -> go.Figure:
    acc = np.asarray(accuracy, dtype=float)
    fig = go.Figure(go.Bar(x=[str(i) for i in range(acc.size)], y=acc, marker_color=BLUE,
                           text=[f"{a:.1%}" for a in acc], textposition="outside",
                           hovertemplate="digit %{x}: %{y:.2%}<extra></extra>"))
    # the axis starts at 0: a zoomed axis would make a 1-point gap between digits look like a chasm
    fig.update_yaxes(range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", gridcolor="#eee",
                     title="accuracy")
    fig.update_xaxes(title="true digit", type="category")
    return _layout(fig, height)


def parameter_split(heads: dict[str, dict[str, int]], height: int = 300) -> go.Figure:
    """Stacked bars: for each head (e.g. "FC head", "GAP head") its parameters per layer."""
    fig = go.Figure()
    layers = list(dict.fromkeys(name for per_layer in heads.values() for name in per_layer))
    for layer in layers:
        fig.add_trace(go.Bar(name=layer, y=list(heads), x=[heads[h].get(layer, 0) for h in heads], orientation="h",
                             hovertemplate=layer + ": %{x:,}<extra></extra>"))
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(title="parameters", gridcolor="#eee")
    return _layout(fig, height)


def filter_norms(norms: np.ndarray, height: int = 240) -> go.Figure:
    fig = go.Figure(go.Bar(x=[str(i) for i in range(len(norms))], y=norms, marker_color=BLUE,
                           hovertemplate="conv2 filter %{x}: norm %{y:.3f}<extra></extra>"))
    fig.update_xaxes(title="conv2 filter", type="category")
    fig.update_yaxes(title="L2 norm", gridcolor="#eee")
    return _layout(fig, height)


def channel_weights(channel_norms: np.ndarray, height: int = 320) -> go.Figure:
    """[C_out, C_in] norms: which conv1 maps each conv2 filter listens to."""
    cn = np.asarray(channel_norms)
    fig = go.Figure(go.Heatmap(z=cn, colorscale="Viridis", colorbar=dict(title="norm", thickness=12),
                               hovertemplate="conv2 filter %{y} ← conv1 map %{x}: %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title="input channel (conv1 map)", dtick=3)  # room for lecture-mode type
    fig.update_yaxes(title="conv2 filter", autorange="reversed", dtick=4)
    return _layout(fig, height)
