"""One opened unit (cnnviz.unit.UnitComputation) drawn: number grids, the sum written out, a chart of partial sums.

Builders only: data in, HTML or a Plotly figure out, so tests read them without a browser.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cnnviz.written import as_written, total
from cnnviz.unit import Normalization, UnitComputation, WeightedSum
from cnnviz_ui import visual
from cnnviz_ui.images import png_data_url
from cnnviz_ui.visual import number

TOP = 10  # contributions listed for a Linear unit


DIGITS = 4  # every number of an opened unit is written with number(v, DIGITS)
ROUNDED = "(each number rounded to 4 decimals as written; every total adds the numbers as written)"


def _tint(v: float, scale: float) -> str:
    """A cell's CSS on the one diverging scale (red = positive, blue = negative, white = 0), readable ink."""
    return visual.cell_css(v, -max(scale, 1e-12), max(scale, 1e-12), "diverging")


def grid_html(values: np.ndarray, title: str, padded: np.ndarray | None = None, mark: tuple | None = None,
              kind: str = "", before: str = "") -> str:
    """A small [k, k] grid of numbers; padding cells greyed, the `mark`ed cell outlined."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    scale = float(np.abs(finite).max()) if finite.size else 1.0
    rows = []
    for a in range(values.shape[0]):
        cells = []
        for b in range(values.shape[1]):
            v = values[a, b]
            pad = padded is not None and bool(padded[a, b])
            style = f"background:{visual.BLANK};color:{visual.MUTED}" if pad else _tint(v, scale)
            if mark == (a, b):
                style += f";outline:3px solid {visual.HIGHLIGHT};outline-offset:-3px;font-weight:700"
            text = "0 pad" if pad else number(v, DIGITS)
            cells.append(f"<td style='{style};padding:0.1em 0.25em;text-align:right'>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    sign = f"<span style='font-size:1.3em;margin:0 0.3em'>{before}</span>" if before else ""
    return (f"<div style='display:flex;align-items:center;margin:0 0.2em 0.4em 0'>{sign}"
            f"<div class='cnnviz-grid' data-kind='{kind}' style='width:min-content'>"
            f"<div style='font-size:0.8em;opacity:0.8'>{html.escape(title)}</div>"
            "<table style='border-collapse:collapse;font-family:monospace;font-size:0.78em'>"
            + "".join(rows) + "</table>"
            f"<div style='font-size:0.7em;margin-top:0.15em'>{visual.legend_html(-scale, scale, 'diverging')}</div>"
            "</div></div>")


def _line(label: str, expression: str) -> str:
    return f"<div><span style='opacity:0.75'>{html.escape(label)}</span> {expression}</div>"


def _activation_lines(rec: UnitComputation, pre: float | None = None) -> list[str]:
    """The activation applied to the pre-activation `pre` as written above (default: the exact one)."""
    if rec.activation is None:
        return []
    pre = rec.pre_activation if pre is None else pre
    if rec.activation == "ReLU":
        why = "a negative sum is cut to 0" if pre < 0 else "a positive sum passes unchanged"
        return [_line(f"ReLU ({why}):", f"max(0, {number(pre, DIGITS)}) = "
                      f"<b>{number(max(0.0, pre), DIGITS)}</b>")]
    if rec.activation == "LeakyReLU":
        why = "a negative sum is scaled down, not cut" if pre < 0 else "a positive sum passes unchanged"
        return [_line(f"Leaky ReLU ({why}):", f"leaky_relu({number(pre, DIGITS)}) = "
                      f"<b>{number(rec.value, DIGITS)}</b>")]
    return [_line(f"{rec.activation}:", f"{rec.activation.lower()}({number(pre, DIGITS)}) = "
                  f"<b>{number(rec.value, DIGITS)}</b>")]


def _normalized(norm: Normalization, x: float) -> tuple[list[str], float]:
    """The batch norm of the conv output `x` as written: its line, and its result from the numbers as written."""
    m, v, w, b = (as_written(t, DIGITS) for t in (norm.mean, norm.var, norm.weight, norm.bias))
    eps = f"{norm.eps:.10f}".rstrip("0")
    result = as_written(float((x - m) / np.sqrt(v + norm.eps) * w + b), DIGITS)
    expression = (f"({number(x, DIGITS)} − {number(m, DIGITS)}) / √({number(v, DIGITS)} + {eps}) × "
                  f"{number(w, DIGITS)} + {number(b, DIGITS)} = <b>{number(result, DIGITS)}</b>")
    return [_line(f"{norm.layer}: (value − running mean) / √(running variance + ε) × scale + shift:", expression),
            _line("= pre-activation:", f"<b>{number(result, DIGITS)}</b>")], result


def input_name(source: str, ws: WeightedSum, index: int) -> str:
    """How a Linear unit's input `index` is named: 'pool2 map 5 (3, 4)', 'gap 5', 'relu3 unit 17'."""
    pos = ws.position(index)
    if len(pos) == 3 and ws.input_shape[1:] != (1, 1):
        return f"{source} map {pos[0]} ({pos[1]}, {pos[2]})"
    if len(pos) == 3:
        return f"{source} {pos[0]}"
    return f"{source} unit {pos[0]}"


def conv_html(rec: UnitComputation, channel: int = 0) -> str:
    """Input channel `channel` of a conv unit: its window, the kernel slice and their products, then the sum."""
    step = rec.conv
    c_in = step.values.shape[0]
    where = f"rows {step.rows[0]}–{step.rows[1] - 1}, columns {step.cols[0]}–{step.cols[1] - 1}"
    src = rec.source if c_in == 1 else f"{rec.source} map {channel}"
    grids = ("<div style='display:flex;flex-wrap:wrap;align-items:flex-end'>"
             + grid_html(step.values[channel], f"{src}, {where}", step.padded, kind="window")
             + grid_html(step.weights[channel], f"{rec.computed_by} kernel {rec.unit[0]}"
                         + ("" if c_in == 1 else f", slice {channel}"), kind="kernel", before="×")
             + grid_html(step.products[channel], "products", step.padded, kind="products", before="=")
             + "</div>")
    products = as_written(step.products, DIGITS)                     # [C_in, k, k] as the grids write them
    partial = [total(products[c], digits=DIGITS) for c in range(c_in)]
    pre = total(*partial, step.bias, digits=DIGITS)
    if c_in == 1:
        lines = [_line(f"Sum of the {products[0].size} products:", number(partial[0], DIGITS))]
    else:
        lines = [_line(f"This map's {products[channel].size} products add up to the partial sum {channel}:",
                       number(partial[channel], DIGITS)),
                 _line(f"Sum of all {c_in} partial sums:", number(total(*partial, digits=DIGITS), DIGITS))]
    norm = rec.normalization
    if norm is None:
        lines += [_line("+ bias:", number(as_written(step.bias, DIGITS), DIGITS)),
                  _line("= pre-activation:", f"<b>{number(pre, DIGITS)}</b>")]
    else:   # the conv has no bias of its own: the batch norm's shift takes its place
        lines += [_line("+ bias:", number(as_written(step.bias, DIGITS), DIGITS)) if step.bias else "",
                  _line(f"= {rec.computed_by} output:", number(pre, DIGITS))]
        more, pre = _normalized(norm, pre)
        lines += more
    note = f"<div style='opacity:0.6;font-size:0.8em'>{ROUNDED}</div>"
    return grids + "".join(lines + _activation_lines(rec, pre)) + note


def pool_html(rec: UnitComputation) -> str:
    """The pooling window with the winning cell outlined (max), or its mean (average)."""
    step = rec.pool
    where = f"rows {step.rows[0]}–{step.rows[1] - 1}, columns {step.cols[0]}–{step.cols[1] - 1}"
    k = step.values.shape[0]
    if step.mode == "max":
        a, b = step.argmax[0] - step.rows[0], step.argmax[1] - step.cols[0]
        grid = grid_html(step.values, f"{rec.source} map {rec.unit[0]}, {where}", step.padded, (a, b), "window")
        text = _line(f"The largest of the {k * k} values wins:", f"<b>{number(rec.value, DIGITS)}</b> at row "
                     f"{step.argmax[0]}, column {step.argmax[1]}; the other {k * k - 1} are dropped")
    else:
        grid = grid_html(step.values, f"{rec.source} map {rec.unit[0]}, {where}", step.padded, kind="window")
        summed = number(float(np.nansum(step.values)), DIGITS)
        text = _line(f"The mean of the {k * k} values:", f"{summed} / {k * k} = <b>{number(rec.value, DIGITS)}</b>")
    return grid + text + "".join(_activation_lines(rec))


def linear_html(rec: UnitComputation, top: int = TOP) -> str:
    """The inputs that moved the sum most (activation × weight), ranked, and how the whole sum adds up."""
    ws = rec.weighted_sum
    order = ws.ranked(top)
    rows = "".join(
        f"<tr><td>{r + 1}</td><td>{html.escape(input_name(rec.source, ws, int(i)))}</td>"
        f"<td style='text-align:right'>{number(ws.inputs[i], DIGITS)}</td>"
        f"<td style='text-align:right'>{number(ws.weights[i], DIGITS)}</td>"
        f"<td style='text-align:right;{_tint(ws.products[i], np.abs(ws.products[order]).max())}'>"
        f"{number(ws.products[i], DIGITS)}</td></tr>" for r, i in enumerate(order))
    table = ("<table class='cnnviz-contributions' style='border-collapse:collapse;font-size:0.85em'>"
             "<tr><th>#</th><th>input</th><th>activation</th><th>× weight</th><th>= contribution</th></tr>"
             f"{rows}</table>")
    n = ws.inputs.size
    listed = total(ws.products[order], digits=DIGITS)                # the contributions in the table, as written
    others = total(float(ws.products.sum()) - float(ws.products[order].sum()), digits=DIGITS)
    pre = total(listed, others, ws.bias, digits=DIGITS)
    lines = [_line(f"These {len(order)} contributions:", number(listed, DIGITS)),
             _line(f"The other {n - len(order)} inputs together:", number(others, DIGITS)),
             _line("+ bias:", number(as_written(ws.bias, DIGITS), DIGITS)),
             _line(f"= sum of all {n} products + bias:", f"<b>{number(pre, DIGITS)}</b>")]
    note = f"<div style='opacity:0.6;font-size:0.8em'>{ROUNDED}</div>"
    return table + "".join(lines + _activation_lines(rec, pre)) + note


def unit_html(rec: UnitComputation, channel: int = 0) -> str:
    """The whole computation of one unit, tagged with its layer, unit and value for tests and the browser."""
    body = {"conv": lambda: conv_html(rec, channel), "pool": lambda: pool_html(rec),
            "linear": lambda: linear_html(rec)}[rec.kind]()
    check = (f"<div style='opacity:0.75;font-size:0.85em;margin-top:0.3em'>The network's own forward pass gives "
             f"{number(rec.traced, DIGITS)} for this unit (difference {abs(rec.value - rec.traced):.1e}).</div>")
    unit = ",".join(str(u) for u in rec.unit)
    return (f"<div class='cnnviz-unit' data-layer='{rec.layer}' data-unit='{unit}' data-value='{rec.value:.6f}'>"
            f"{body}{check}</div>")


def partial_sums_figure(rec: UnitComputation, height: int = 260) -> go.Figure:
    """One bar per input map of a multi-channel conv unit, then the bias and the total they add up to."""
    step = rec.conv
    sums = step.partial_sums
    labels = [str(c) for c in range(sums.size)] + ["bias", "total"]
    fig = go.Figure(go.Waterfall(
        x=labels, y=list(sums) + [step.bias, 0.0], measure=["relative"] * (sums.size + 1) + ["total"],
        **visual.waterfall_colors(), connector=dict(visible=False),
        hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), showlegend=False,
                      title=dict(text=f"{sums.size} partial sums (one per {rec.source} map) + bias = "
                                 f"{number(step.result, DIGITS)}", x=0.0, xanchor="left"),
                      xaxis_title=f"{rec.source} map", xaxis_type="category")
    return fig


def map_picker_svg(values: np.ndarray, unit: tuple[int, int], height: int = 260, type_px: int = 11) -> str:
    """A feature map [h, w] as a clickable picture for cnnviz_ui.clickable: a click on a square sends "<row>
    <column>", hovering one writes its value under the map; the `unit` outlined, row and column numbers on two
    sides, the colour bar on the right. As wide as its column and at most `height` px tall; its type about
    `type_px` px.

    One small PNG under one `data-grid` rectangle (the browser finds the square from the pointer), not a shape
    per square: 784 shapes made each drawing's page heavier to parse and lay out (bench/NOTES.md section 21)."""
    values = np.asarray(values, dtype=float)
    h, w = values.shape
    name, lo, hi = visual.heatmap_range(values)
    url = png_data_url(Image.fromarray(visual.colorize(values, lo, hi, name)))
    n = max(h, w)
    room = n / 14                               # the margins scale with the map: about 26 px whatever its size
    px = max((h + 3.2 * room) / height, (w + 9 * room) / 330)   # one pixel, in squares (a ~330 px column): type
    font = type_px * px
    step = 1 if n <= 8 else 2 if n <= 16 else 5
    uy, ux = unit
    ink = f'font-size="{font:.3f}" fill="{visual.MUTED}"'
    shown = " ".join(number(v, DIGITS) for v in values.ravel())
    parts = [f'<image href="{url}" x="0" y="0" width="{w}" height="{h}" preserveAspectRatio="none" '
             'style="image-rendering:pixelated"/>',
             f'<rect x="{ux}" y="{uy}" width="1" height="1" fill="none" stroke="{visual.HIGHLIGHT}" '
             'stroke-width="3" vector-effect="non-scaling-stroke" pointer-events="none"/>',
             f'<rect data-grid="{h} {w}" data-values="{shown}" x="0" y="0" width="{w}" height="{h}" '
             'fill="transparent"/>']
    parts += [f'<text x="{x + 0.5}" y="-0.3" text-anchor="middle" {ink}>{x}</text>' for x in range(0, w, step)]
    parts += [f'<text x="-0.3" y="{y + 0.5}" text-anchor="end" dominant-baseline="central" {ink}>{y}</text>'
              for y in range(0, h, step)]
    stops = "".join(f'<stop offset="{i / 4:g}" stop-color="{color}"/>'     # high at the top
                    for i, color in enumerate(reversed(visual.scale_stops(name))))
    bar_x, bar_w = w + 0.6, 0.6 * room
    parts.append(f'<defs><linearGradient id="cnnviz-map-scale" x1="0" y1="0" x2="0" y2="1">{stops}'
                 '</linearGradient></defs>')
    parts.append(f'<rect x="{bar_x}" y="0" width="{bar_w:.3f}" height="{h}" fill="url(#cnnviz-map-scale)"/>')
    label_x = bar_x + bar_w + 0.3
    parts.append(f'<text x="{label_x:.3f}" y="0" dominant-baseline="hanging" {ink}>{number(hi)}</text>')
    parts.append(f'<text x="{label_x:.3f}" y="{h}" {ink}>{number(lo)}</text>')
    parts.append(f'<text data-readout="Point at a square to read its value" x="0" y="{h + 1.2 * room:.3f}" '
                 f'dominant-baseline="central" font-size="{font:.3f}" fill="{visual.TEXT}">'
                 'Point at a square to read its value</text>')
    right = label_x + 5 * font
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="cnnviz-map-picker" data-unit="{uy} {ux}" '
            f'viewBox="{-1.6 * room:.3f} {-1.6 * room:.3f} {right + 1.6 * room:.3f} {h + 3.2 * room:.3f}" '
            f'style="max-height:{int(height)}px" role="img" aria-label="The feature map: click a square to '
            f'open that unit">{"".join(parts)}</svg>')
