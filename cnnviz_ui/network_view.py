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
ARROW = 1.7          # room between two layers for the arrow
INPUT_SIZE = 6.0     # the input picture's side, in map widths
VECTOR_WIDTH = 0.8   # a vector layer (fc, gap) drawn as one column
BAR_WIDTH = 3.0      # the longest probability bar
HEIGHT = ROWS * (1 + GAP) - GAP
TITLE_ROOM = 1.9     # above the blocks, for the layer names (two lines of text)
LINE_ROOM = 0.8      # one more line of a layer's name
TITLE_LINE = 13      # characters: a longer name ("conv1 + bn1 + leaky_relu1") is broken before a " + "


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


def _wrapped(title: str) -> str:
    """A layer's name broken into lines of about TITLE_LINE characters, before a " + " (bold, for the picture)."""
    lines = []
    for part in title.split(" + "):
        if lines and len(lines[-1]) + 3 + len(part) <= TITLE_LINE:
            lines[-1] += f" + {part}"
        else:
            lines.append(part if not lines else f"+ {part}")
    return "<br>".join(f"<b>{line}</b>" for line in lines)


def _describe(view) -> str:
    v = view.values
    if v.ndim == 3:
        return f"{_wrapped(view.title)}<br>{v.shape[0]} × {v.shape[1]}×{v.shape[2]}"
    return f"{_wrapped(view.title)}<br>{v.size} {'scores' if view.name == 'logits' else 'values'}"


def network_figure(image28: np.ndarray, views: list, probabilities: np.ndarray, selected: tuple | None = None,
                   box: tuple | None = None, digest: str = "", height: int = 340) -> go.Figure:
    """The network as one connected picture. `views`: the draw page's layer views in execution order (maps
    [C, h, w] or vectors [n], the logits last); `selected` = (layer, index) is outlined in the highlight
    colour; `box` = (y0, y1, x0, x1) is the selected unit's receptive field, outlined on the input.

    Built from plain dicts without Plotly's validation, which would cost most of a drawing's time on the
    server (about 10 ms of 12); tests/test_network_view.py checks that the validated figure is the same."""
    names = [v.name for v in views]
    side, n_px = INPUT_SIZE, image28.shape[0]
    top = (HEIGHT - side) / 2
    images = [dict(source=png_data_url(digit_image(image28, size=n_px)), xref="x", yref="y", x=0, y=top,
                   sizex=side, sizey=side, sizing="stretch", layer="below")]
    titles = [(side / 2, f"<b>input</b><br>{n_px}×{image28.shape[1]} pixels")]
    arrows, spots, shapes = [], [], []
    if box is not None:
        y0, y1, x0, x1 = box
        px = side / n_px
        shapes.append(dict(type="rect", x0=x0 * px, x1=x1 * px, y0=top + y0 * px, y1=top + y1 * px,
                           line=dict(color=visual.HIGHLIGHT, width=2.5)))
    x = side
    for view in views:
        arrows.append((x, x + ARROW))
        x += ARROW
        if view.values.ndim == 3:
            image, block, width = _maps_block(view, x)
        else:
            width = 1.3 if view.name == "logits" else VECTOR_WIDTH
            image, block = _vector_block(view, x, width)
        images.append(image)
        spots += block
        titles.append((x + width / 2, _describe(view)))
        x += width
    logits = views[-1]
    digits = [s for s in spots if s.layer == logits.name]
    digit_y = np.array([s.y for s in digits])
    lo, hi = visual.signed_range(logits.values)
    inks = [visual.ink_for(visual.colorize(np.array(v), lo, hi, "diverging")) for v in logits.values]
    arrows.append((x, x + ARROW * 0.8))          # into the probabilities: one bar per digit, level with its logit
    x += ARROW * 0.8
    titles.append((x + BAR_WIDTH / 2, "<b>probabilities</b><br>softmax"))
    probabilities = np.asarray(probabilities, dtype=float)
    best = int(probabilities.argmax())
    if selected is not None:
        for s in spots:
            if (s.layer, s.index) == tuple(selected):
                pad = 0.08
                shapes.append(dict(type="rect", x0=s.x - s.width / 2 - pad, x1=s.x + s.width / 2 + pad,
                                   y0=s.y - s.height / 2 - pad, y1=s.y + s.height / 2 + pad,
                                   line=dict(color=visual.HIGHLIGHT, width=3)))
    maps = [s for s in spots if s.height == 1.0 and s.layer != logits.name]
    line_x = [v for a, b in arrows for v in (a + 0.2, b - 0.3, None)]
    text = dict(type="scatter", mode="text", hoverinfo="skip", showlegend=False)
    still = dict(type="scatter", hoverinfo="skip", showlegend=False)
    percents = [f"<b>{visual.percent(p, 0)}</b>" if i == best else visual.percent(p, 0)
                for i, p in enumerate(probabilities)]
    bars = np.maximum(probabilities, 0.004) * BAR_WIDTH
    data = [
        dict(text, x=[t[0] for t in titles], y=[-0.3] * len(titles), text=[t[1] for t in titles],
             textposition="top center", textfont=dict(size=12, color=visual.TEXT)),
        # the arrows between layers: shafts, then heads
        dict(still, x=line_x, y=[HEIGHT / 2] * len(line_x), mode="lines", line=dict(color=visual.MUTED, width=1.5)),
        dict(still, x=[b - 0.3 for _, b in arrows], y=[HEIGHT / 2] * len(arrows), mode="markers",
             marker=dict(symbol="triangle-right", size=9, color=visual.MUTED)),
        # the map numbers, in each map's top-left corner
        dict(text, x=np.array([s.x - 0.45 for s in maps]), y=np.array([s.y - 0.45 for s in maps]),
             text=[str(s.index) for s in maps], textposition="bottom right", textfont=dict(size=9, color="#ffffff")),
        # the logits' values in their cells, the digits 0-9 beside them, the probability bars and their values
        dict(text, x=np.array([s.x for s in digits]), y=digit_y, text=[visual.number(v, 1) for v in logits.values],
             textfont=dict(size=11, color=inks)),
        dict(text, x=np.array([s.x - s.width / 2 - 0.15 for s in digits]), y=digit_y,
             text=[str(s.index) for s in digits], textposition="middle left",
             textfont=dict(size=12, color=visual.TEXT)),
        dict(type="bar", x=bars, y=digit_y, base=x, orientation="h", width=0.7, hoverinfo="skip", showlegend=False,
             marker=dict(color=visual.MAGNITUDE_COLOR, line=dict(width=0))),
        dict(text, x=x + bars + 0.1, y=digit_y, text=percents, textposition="middle right",
             textfont=dict(size=11, color=visual.TEXT)),
        # what a click selects: one transparent square over every map and every unit
        dict(type="scatter", x=np.array([s.x for s in spots]), y=np.array([s.y for s in spots]), mode="markers",
             name="spots", showlegend=False,
             customdata=np.arange(len(spots)),  # the spot's number: clicked() reads it back with spot_names
             hovertext=[s.hover for s in spots], hovertemplate="%{hovertext}<extra></extra>",
             marker=dict(symbol="square", size=np.array([max(6.0, 26 * min(s.width, s.height, 1.0)) for s in spots]),
                         color="rgba(255,255,255,0.01)", line=dict(width=0)),
             selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))),
    ]
    axis = dict(visible=False, showgrid=False, zeroline=False, fixedrange=True)
    extra = max(t[1].count("<br>") for t in titles) - 1           # lines of text past the usual two
    return go.Figure(data=data, _validate=False, layout=dict(
        height=height, margin=dict(l=4, r=4, t=8, b=4), images=images, shapes=shapes, bargap=0,
        xaxis=dict(axis, range=[-0.3, x + BAR_WIDTH + 1.9], constrain="domain"),  # room for "100%"
        yaxis=dict(axis, range=[HEIGHT + 0.3, -TITLE_ROOM - LINE_ROOM * extra], scaleanchor="x", constrain="domain"),
        clickmode="event+select", dragmode=False, hovermode="closest", plot_bgcolor="rgba(0,0,0,0)",
        meta=dict(digest=digest, layers=names, counts=[sum(1 for s in spots if s.layer == n) for n in names],
                  selected=list(selected) if selected else None)))


def spot_names(views: list) -> list[tuple[str, int]]:
    """(layer, map or unit index) of every clickable spot of `network_figure(..., views)`, in its order."""
    return [(v.name, i) for v in views for i in range(v.values.shape[0] if v.values.ndim == 3 else v.values.size)]


def clicked(selection: dict | None, views: list) -> tuple[str, int] | None:
    """The (layer, index) a click on the network picture chose, read from st.plotly_chart's selection (each
    spot carries its number as customdata)."""
    points = (selection or {}).get("selection", {}).get("points") or []
    names = spot_names(views)
    for point in points:
        number = point.get("customdata")
        if isinstance(number, list):   # a one-element list, as some Plotly versions send it
            number = number[0] if number else None
        if number is not None and 0 <= int(number) < len(names):
            return names[int(number)]
    return None
