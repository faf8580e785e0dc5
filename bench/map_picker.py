"""The Draw page's clickable feature map (cnnviz_ui.unit_view.map_picker_figure): build time, against its
baseline, the same figure built with one update call per part (as before 2026-12-04).

    python -m bench.map_picker [--n 300]

Both figures are checked to be the same before anything is timed. The build is what the page pays per
rerun; Streamlit then serialises the figure (`to_dict` + JSON), which is timed too, for scale.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
import plotly.graph_objects as go
import plotly.io

from cnnviz_ui.unit_view import map_picker_figure


def baseline(values: np.ndarray, unit: tuple[int, int], height: int = 300) -> go.Figure:
    """The earlier construction: a Figure, then add_shape and three update calls (each one validates)."""
    h, w = values.shape
    ys, xs = np.mgrid[0:h, 0:w]
    lo, hi = float(values.min()), float(values.max())
    cell = (height - 40) / max(h, w)
    marker = dict(symbol="square", size=max(3.0, cell + 0.5), color=values.ravel(), colorscale="Viridis",
                  cmin=lo, cmax=hi if hi > lo else lo + 1, line=dict(width=0))
    fig = go.Figure(go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", marker=marker,
                               unselected=dict(marker=dict(opacity=1)), selected=dict(marker=dict(opacity=1)),
                               hovertemplate="row %{y}, column %{x}: %{marker.color:.4f}<extra></extra>"))
    uy, ux = unit
    fig.add_shape(type="rect", x0=ux - 0.5, x1=ux + 0.5, y0=uy - 0.5, y1=uy + 0.5,
                  line=dict(color="#ff00ff", width=3))
    fig.update_yaxes(scaleanchor="x", constrain="domain", showgrid=False, zeroline=False, range=[h - 0.5, -0.5])
    fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False, range=[-0.5, w - 0.5], side="top")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), clickmode="event+select",
                      dragmode=False, plot_bgcolor="rgba(0,0,0,0)")
    return fig


def per_call_ms(build, n: int) -> tuple[float, float]:
    """Median and p95 of n calls, in ms."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        build()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    values = np.random.default_rng(0).random((28, 28)).astype(np.float32)  # a conv1 map: the largest one
    same = json.dumps(baseline(values, (3, 4), 260).to_dict(), sort_keys=True, default=str) == \
        json.dumps(map_picker_figure(values, (3, 4), 260).to_dict(), sort_keys=True, default=str)
    if not same:
        print("the two constructions differ: fix the baseline before timing")
        return 1
    for build in (baseline, map_picker_figure):  # warm-up: plotly's validators load lazily
        for _ in range(20):
            build(values, (3, 4), 260)
    fig = map_picker_figure(values, (3, 4), 260)
    rows = [("baseline: Figure + add_shape + 3 update calls",
             per_call_ms(lambda: baseline(values, (3, 4), 260), args.n)),
            ("map_picker_figure: one constructor",
             per_call_ms(lambda: map_picker_figure(values, (3, 4), 260), args.n)),
            ("for scale: to_dict + JSON (Streamlit's part)",
             per_call_ms(lambda: plotly.io.to_json(fig.to_dict(), validate=False), args.n))]
    print(f"28x28 map, {args.n} calls each\n| build | median ms | p95 ms |\n|---|---:|---:|")
    for name, (median, p95) in rows:
        print(f"| {name} | {median:.2f} | {p95:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
