"""The whole network as ONE picture: input -> every layer's maps -> logits -> probabilities, each map clickable.

One Plotly figure: each layer's maps are one small picture (a layout image, cheap to send), and over every map
(and every unit of a vector) lies one transparent square marker, which is what a click selects (Plotly selects
scatter points, not images). The stages are read from the layer views, so the GAP model draws itself too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from cnnviz_ui import visual
from cnnviz_ui.images import digit_image, feature_grid, png_data_url, vector_strip

ROWS = 8             # at most this many maps stacked in one column of a layer's block
GAP = 0.25           # space between two maps, in map widths
ARROW = 1.5          # room between two layers for the arrow
INPUT_SIZE = 6.0     # the input picture's side, in map widths
VECTOR_WIDTH = 0.8   # a vector layer (fc, gap) drawn as one column
BAR_WIDTH = 3.0      # the longest probability bar
HEIGHT = ROWS * (1 + GAP) - GAP
TITLE_ROOM = 1.9     # above the blocks, for the layer names


@dataclass(frozen=True)
class Spot:
    """One clickable thing in the picture: a map (index = its channel) or a unit of a vector layer."""
    layer: str
    index: int
    x: float          # centre, in the figure's units (one map is 1 wide)
    y: float
    width: float
    height: float
    hover: str


def _block_shape(k: int) -> tuple[int, int]:
    cols = -(-k // ROWS)
    return -(-k // cols), cols            # rows, cols


def _maps_block(view, x0: float) -> tuple[dict, list[Spot], float]:
    """A layer of maps [C, h, w] as one picture placed at x0, and one Spot per map; returns its width too."""
    maps = view.values
    k, h, w = maps.shape
    rows, cols = _block_shape(k)
    zoom = max(1, 28 // max(h, w))           # every map about 28 px: crisp enough, still tiny to encode
    cell = max(h, w) * zoom
    gap_px = max(1, round(cell * GAP))
    step = (cell + gap_px) / cell            # one map plus its gap, in map widths
    width, height = cols * step - gap_px / cell, rows * step - gap_px / cell
    y0 = (HEIGHT - height) / 2
    picture = feature_grid(maps, cols=cols, cell=cell, gap=gap_px, labels=False, colorbar=False)
    image = dict(source=png_data_url(picture), xref="x", yref="y", x=x0, y=y0, sizex=width, sizey=height,
                 sizing="stretch", layer="below", xanchor="left", yanchor="top")
    peaks = maps.reshape(k, -1).max(1)
    spots = [Spot(view.name, i, x0 + (i % cols) * step + 0.5, y0 + (i // cols) * step + 0.5, 1.0, 1.0,
                  f"{view.title}, map {i}: largest value {visual.number(peaks[i])}. Click to open it.")
             for i in range(k)]
    return image, spots, width


def _vector_block(view, x0: float, width: float) -> tuple[dict, list[Spot]]:
    """A vector [n] as one column of n cells (its own colour scale), and one Spot per unit."""
    v = view.values.ravel()
    n = v.size
    image = dict(source=png_data_url(vector_strip(v, cols=1, cell=1, colorbar=False)), xref="x", yref="y", x=x0,
                 y=0, sizex=width, sizey=HEIGHT, sizing="stretch", layer="below", xanchor="left", yanchor="top")
    cell = HEIGHT / n
    spots = [Spot(view.name, i, x0 + width / 2, (i + 0.5) * cell, width, cell,
                  f"{view.title}, unit {i}: {visual.number(v[i])}. Click to open it.") for i in range(n)]
    return image, spots


def _title(x: float, text: str) -> dict:
    return dict(x=x, y=-0.25, xref="x", yref="y", text=text, showarrow=False, yanchor="bottom",
                font=dict(color=visual.TEXT, size=12))


def _arrow(x0: float, x1: float) -> dict:
    return dict(x=x1 - 0.2, y=HEIGHT / 2, ax=x0 + 0.2, ay=HEIGHT / 2, xref="x", yref="y", axref="x", ayref="y",
                text="", showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5, arrowcolor=visual.MUTED)


def _describe(view) -> str:
    v = view.values
    if v.ndim == 3:
        return f"<b>{view.title}</b><br>{v.shape[0]} maps {v.shape[1]}×{v.shape[2]}"
    return f"<b>{view.title}</b><br>{v.size} {'scores' if view.name == 'logits' else 'values'}"


def network_figure(image28: np.ndarray, views: list, probabilities: np.ndarray, selected: tuple | None = None,
                   box: tuple | None = None, digest: str = "", height: int = 340) -> go.Figure:
    """The network as one connected picture. `views`: the draw page's layer views in execution order (maps
    [C, h, w] or vectors [n], the logits last); `selected` = (layer, index) is outlined in the highlight
    colour; `box` = (y0, y1, x0, x1) is the selected unit's receptive field, outlined on the input."""
    images, spots, notes, shapes = [], [], [], []
    side = INPUT_SIZE
    top = (HEIGHT - side) / 2
    images.append(dict(source=png_data_url(digit_image(image28, size=image28.shape[0])), xref="x", yref="y",
                       x=0, y=top, sizex=side, sizey=side, sizing="stretch", layer="below"))
    notes.append(_title(side / 2, f"<b>input</b><br>{image28.shape[0]}×{image28.shape[1]} pixels"))
    if box is not None:
        y0, y1, x0, x1 = box
        px = side / image28.shape[0]
        shapes.append(dict(type="rect", x0=x0 * px, x1=x1 * px, y0=top + y0 * px, y1=top + y1 * px,
                           line=dict(color=visual.HIGHLIGHT, width=2.5)))
    x = side
    for view in views:
        notes.append(_arrow(x, x + ARROW))
        x += ARROW
        if view.values.ndim == 3:
            image, block, width = _maps_block(view, x)
        else:
            width = 1.3 if view.name == "logits" else VECTOR_WIDTH
            image, block = _vector_block(view, x, width)
        images.append(image)
        spots += block
        notes.append(_title(x + width / 2, _describe(view)))
        x += width
    logits = views[-1]
    digits = [s for s in spots if s.layer == logits.name]
    text_x = [s.x for s in digits]
    text_y = [s.y for s in digits]
    lo, hi = visual.signed_range(logits.values)
    values_text = [visual.number(v, 1) for v in logits.values]
    inks = [visual.ink_for(visual.colorize(np.array(v), lo, hi, "diverging")) for v in logits.values]
    # the probabilities: one bar per digit, level with its logit
    notes.append(_arrow(x, x + ARROW * 0.8))
    x += ARROW * 0.8
    best = int(np.argmax(probabilities))
    for s, p in zip(digits, probabilities):
        shapes.append(dict(type="rect", x0=x, x1=x + max(float(p), 0.004) * BAR_WIDTH, y0=s.y - 0.35, y1=s.y + 0.35,
                           line=dict(width=0),
                           fillcolor=visual.MAGNITUDE_COLOR))
    notes.append(_title(x + BAR_WIDTH / 2, "<b>probabilities</b><br>softmax"))
    prob_text = [f"<b>{visual.percent(p, 0)}</b>" if i == best else visual.percent(p, 0)
                 for i, p in enumerate(probabilities)]
    right = x + BAR_WIDTH + 1.2
    if selected is not None:
        for s in spots:
            if (s.layer, s.index) == tuple(selected):
                shapes.append(dict(type="rect", x0=s.x - s.width / 2 - 0.08, x1=s.x + s.width / 2 + 0.08,
                                   y0=s.y - s.height / 2 - 0.08, y1=s.y + s.height / 2 + 0.08,
                                   line=dict(color=visual.HIGHLIGHT, width=3)))
    maps = [s for s in spots if s.height == 1.0 and s.layer != logits.name]
    label_size = 9
    data = [
        # the map numbers, in each map's top-left corner
        go.Scatter(x=[s.x - 0.45 for s in maps], y=[s.y - 0.45 for s in maps], mode="text",
                   text=[str(s.index) for s in maps], textposition="bottom right", hoverinfo="skip",
                   textfont=dict(size=label_size, color="#ffffff"), showlegend=False),
        # the logits' values in their cells and the digits 0-9 beside them
        go.Scatter(x=text_x, y=text_y, mode="text", text=values_text, textfont=dict(size=11, color=inks),
                   hoverinfo="skip", showlegend=False),
        go.Scatter(x=[s.x - s.width / 2 - 0.15 for s in digits], y=text_y, mode="text",
                   text=[str(s.index) for s in digits], textposition="middle left", hoverinfo="skip",
                   textfont=dict(size=12, color=visual.TEXT), showlegend=False),
        go.Scatter(x=[x + max(float(p), 0.004) * BAR_WIDTH + 0.1 for p in probabilities], y=text_y, mode="text",
                   text=prob_text, textposition="middle right", hoverinfo="skip",
                   textfont=dict(size=11, color=visual.TEXT), showlegend=False),
        # what a click selects: one transparent square over every map and every unit
        go.Scatter(x=[s.x for s in spots], y=[s.y for s in spots], mode="markers", name="spots",
                   customdata=[[s.layer, s.index] for s in spots], hovertext=[s.hover for s in spots],
                   hovertemplate="%{hovertext}<extra></extra>",
                   marker=dict(symbol="square", size=[max(6.0, 26 * min(s.width, s.height, 1.0)) for s in spots],
                               color="rgba(255,255,255,0.01)", line=dict(width=0)),
                   selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
                   showlegend=False),
    ]
    axis = dict(visible=False, showgrid=False, zeroline=False, fixedrange=True)
    return go.Figure(data=data, layout=dict(
        height=height, margin=dict(l=4, r=4, t=8, b=4), images=images, shapes=shapes, annotations=notes,
        xaxis=dict(axis, range=[-0.3, right], constrain="domain"),
        yaxis=dict(axis, range=[HEIGHT + 0.3, -TITLE_ROOM], scaleanchor="x", constrain="domain"),
        clickmode="event+select", dragmode=False, hovermode="closest", plot_bgcolor="rgba(0,0,0,0)",
        meta=dict(digest=digest, selected=list(selected) if selected else None)))


def clicked(selection: dict | None) -> tuple[str, int] | None:
    """The (layer, index) a click on the network picture chose, read from st.plotly_chart's selection."""
    points = (selection or {}).get("selection", {}).get("points") or []
    for point in points:
        data = point.get("customdata")
        if data and len(data) == 2:
            return str(data[0]), int(data[1])
    return None
