"""Presentation helpers of the design lab: the design drawn as blocks, its layer table, the comparison of
designs (table and overlaid accuracy). Every number comes from the core (cnnviz.design, cnnviz.presets)."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from cnnviz_ui import visual

# the core's layer kinds (cnnviz.layers) -> the colour of that kind of layer in every chart
KIND_CLASS = {"conv": "Conv2d", "batch_norm": "BatchNorm2d", "activation": "ReLU", "max_pool": "MaxPool2d",
              "avg_pool": "AvgPool2d", "global_avg_pool": "AdaptiveAvgPool2d", "flatten": "Flatten",
              "linear": "Linear", "dropout": "Dropout"}
KIND_TITLES = {"conv": "conv", "batch_norm": "batch norm", "activation": "activation", "max_pool": "max pool",
               "avg_pool": "average pool", "global_avg_pool": "global average pool", "flatten": "flatten",
               "linear": "linear", "dropout": "dropout"}
DRAWN = ("conv", "max_pool", "avg_pool", "global_avg_pool", "flatten", "linear")  # the layers that change a shape
CHAPTER_NAME = "the chapter's design"


def shape_text(shape) -> str:
    return "×".join(str(d) for d in shape)


def kind_color(kind: str) -> str:
    return visual.KIND_COLORS.get(KIND_CLASS.get(kind, ""), visual.MUTED)


def count_text(n: float) -> str:
    """A large count as people read it: 4,266 / 1.2 M / 3.4 k."""
    n = float(n)
    if n >= 1e6:
        return f"{visual.number(n / 1e6, 1)} M"
    if n >= 1e4:
        return f"{visual.number(n / 1e3, 0)} k"
    return f"{int(round(n)):,}"


def bytes_text(n: float) -> str:
    return f"{visual.number(n / 2**20, 2)} MB" if n >= 2**20 else f"{visual.number(n / 2**10, 1)} kB"


def _stages(summary) -> list[tuple[str, str, tuple, object]]:
    """(label, kind, shape, row) of the input and of each layer that changes the shape, with the activation
    and batch norm that follow a conv written into its label."""
    stages = [("input", "input", tuple(summary.input_shape), None)] if hasattr(summary, "input_shape") else []
    for row in summary.rows:
        if row.kind in DRAWN:
            stages.append((row.name, row.kind, tuple(row.output_shape), row))
        elif row.kind in ("activation", "batch_norm") and stages and stages[-1][1] == "conv":
            label, kind, shape, conv = stages[-1]
            stages[-1] = (f"{label}+{'BN' if row.kind == 'batch_norm' else row.name.rstrip('0123456789')}",
                          kind, shape, conv)
    return stages


def architecture_figure(summary, height: int | None = 270) -> go.Figure:
    """The design as a row of blocks: a slab per map (height from its side, width from its channels), a bar
    per vector, with each layer's name above and its shape and receptive field below."""
    stages = _stages(summary)
    side0 = max((s[2][1] for s in stages if len(s[2]) == 3), default=28)
    fig = go.Figure()
    hover_x, hover_text = [], []
    for i, (label, kind, shape, row) in enumerate(stages):
        if len(shape) == 3:
            half_h = 0.1 + 0.33 * shape[1] / side0
            half_w = 0.08 + 0.3 * math.log2(shape[0] + 1) / 7
        else:
            half_h, half_w = 0.1 + 0.35 * min(math.log10(max(shape[0], 1)) / 3.5, 1.0), 0.05
        color = visual.KIND_COLORS["Input"] if kind == "input" else kind_color(kind)
        fig.add_shape(type="rect", x0=i - half_w, x1=i + half_w, y0=-half_h, y1=half_h, fillcolor=color,
                      line=dict(color=color, width=1))
        if row is not None:
            rf = f"<br>receptive field {row.rf_size}×{row.rf_size}" if row.rf_size is not None else ""
            hover_text.append(f"{row.name} ({KIND_TITLES.get(kind, kind)})<br>{shape_text(shape)}"
                              f"<br>{row.params:,} parameters{rf}<br>{count_text(row.macs)} multiply-adds")
            hover_x.append(i)
    n = len(stages)
    stagger = [0.0 if i % 2 == 0 else 0.12 for i in range(n)]  # neighbours' labels on two rows: no overlap
    fig.add_trace(go.Scatter(x=list(range(n)), y=[0.5 + d for d in stagger], mode="text", textposition="top center",
                             text=[s[0] for s in stages], textfont=dict(size=12), hoverinfo="skip"))
    below = [shape_text(s[2]) + (f"<br>RF {s[3].rf_size}" if s[3] is not None and s[3].rf_size is not None else "")
             for s in stages]
    fig.add_trace(go.Scatter(x=list(range(n)), y=[-0.5 - 2 * d for d in stagger], mode="text", text=below,
                             textposition="bottom center", textfont=dict(size=11), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=hover_x, y=[0] * len(hover_x), mode="markers", hovertext=hover_text,
                             marker=dict(size=24, opacity=0, color=visual.MUTED), hoverinfo="text"))
    for i in range(1, n):
        fig.add_annotation(x=i - 0.5, y=0, text="→", showarrow=False, font=dict(size=16, color=visual.MUTED))
    fig.update_xaxes(visible=False, range=[-0.6, n - 0.4])
    fig.update_yaxes(visible=False, range=[-1.0, 0.8])
    fig.update_layout(height=height, showlegend=False, margin=dict(l=4, r=4, t=8, b=4),
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def layer_records(summary) -> list[dict]:
    """The design's layer table as text: shape, parameters and share, receptive field and jump, work, memory."""
    records = []
    for row in summary.rows:
        rf = row.rf_size is not None
        records.append({"Layer": row.name, "Kind": KIND_TITLES.get(row.kind, row.kind),
                        "Output shape": shape_text(row.output_shape), "Parameters": f"{row.params:,}",
                        "Share": visual.percent(row.share) if row.params else "",
                        "Receptive field": f"{row.rf_size}×{row.rf_size}" if rf else "",
                        "Jump": str(row.jump) if rf else "",
                        "Multiply-adds": f"{int(row.macs):,}" if row.macs else "",
                        "Activations": f"{int(row.activation_values):,}"})
    return records


def totals_text(summary) -> dict[str, str]:
    """The four headline numbers of a design."""
    return {"Parameters": f"{summary.params:,}", "Receptive field": f"{summary.rf_size}×{summary.rf_size} pixels",
            "Multiply-adds per image": count_text(summary.macs),
            "Activation memory per image": bytes_text(summary.activation_bytes)}


def comparison_records(entries: list[dict]) -> list[dict]:
    """One row per design: entries hold name, source, params, rf_size, macs, test_acc, seconds, images_per_sec."""
    def maybe(value, shown):
        return "–" if value is None else shown(value)
    return [{"Design": e["name"], "From": e["source"], "Parameters": f"{e['params']:,}",
             "Receptive field": f"{e['rf_size']}×{e['rf_size']}", "Multiply-adds": count_text(e["macs"]),
             "Test accuracy": maybe(e.get("test_acc"), lambda a: visual.percent(a, 2)),
             "Training time": maybe(e.get("seconds"), lambda s: f"{visual.number(s, 1)} s"),
             "Images/s": maybe(e.get("images_per_sec"), lambda v: f"{int(round(v)):,}")} for e in entries]


def curves_figure(records, total_steps: int | None = None, height: int = 300) -> go.Figure:
    """A live run's batch loss and accuracies so far (StepRecords), drawn as the Training page draws them."""
    from cnnviz_ui.model_charts import training_curves
    evals = [r for r in records if r.test_acc is not None]
    return training_curves([r.step for r in records], [r.batch_loss for r in records],
                           [r.train_acc for r in records], [r.step for r in evals], [r.test_acc for r in evals],
                           total_steps=total_steps, height=height)


def accuracy_figure(series: list[dict], height: int | None = 320) -> go.Figure:
    """Test accuracy against training time, one line per design (name, points [(seconds, accuracy)]); the
    chapter's design dashed in grey, the others in the categorical colours."""
    fig = go.Figure()
    others = 0
    for s in series:
        if not s["points"]:
            continue
        xs, ys = zip(*s["points"])
        chapter = s.get("chapter", False)
        color = visual.MUTED if chapter else visual.CATEGORICAL[others % len(visual.CATEGORICAL)]
        others += 0 if chapter else 1
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers", name=s["name"],
                                 line=dict(color=color, width=2, dash="dash" if chapter else "solid"),
                                 marker=dict(size=7), hovertemplate="%{x:.1f} s: %{y:.2%}<extra>" + s["name"]
                                 + "</extra>"))
    fig.update_xaxes(title="training time (s)", rangemode="tozero")
    fig.update_yaxes(title="test accuracy", tickformat=".1%")
    fig.update_layout(height=height, title="Test accuracy while training", margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25, yanchor="top"))
    return fig
