"""The whole network as ONE picture: input -> every layer's maps -> logits -> probabilities, each map clickable.

One SVG picture (shown by cnnviz_ui.clickable): each layer's maps are one small PNG, and over every map (and every
unit of a vector) lies one transparent square marked `data-spot="<layer> <index>"`, which is what a click sends
back. Coordinates are in map widths (one map is 1 wide), y downwards. The stages are read from the layer views,
so the GAP model draws itself too.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

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


def _f(v: float) -> str:
    return f"{v:.2f}"    # a coordinate in map widths: 0.01 is under a pixel


def _image(url: str, x: float, y: float, width: float, height: float) -> str:
    """A picture stretched over a box, its pixels kept square-edged."""
    return (f'<image href="{url}" x="{_f(x)}" y="{_f(y)}" width="{_f(width)}" height="{_f(height)}" '
            'preserveAspectRatio="none" style="image-rendering:pixelated"/>')


def _block_shape(k: int) -> tuple[int, int]:
    cols = -(-k // ROWS)
    return -(-k // cols), cols            # rows, cols


def _maps_block(view, x0: float) -> tuple[str, list[Spot], float]:
    """A layer of maps [C, h, w] as one picture placed at x0, and one Spot per map; returns its width too."""
    maps = view.values
    k, h, w = maps.shape
    rows, cols = _block_shape(k)
    zoom = 1                                 # the browser scales the maps up, pixels kept square-edged
    cell = max(h, w) * zoom
    gap_px = max(1, round(cell * GAP))
    step = (cell + gap_px) / cell            # one map plus its gap, in map widths
    width, height = cols * step - gap_px / cell, rows * step - gap_px / cell
    y0 = (HEIGHT - height) / 2
    picture = feature_grid(maps, cols=cols, cell=cell, gap=gap_px, labels=False, colorbar=False)
    image = _image(png_data_url(picture), x0, y0, width, height)
    peaks = maps.reshape(k, -1).max(1)
    spots = [Spot(view.name, i, x0 + (i % cols) * step + 0.5, y0 + (i // cols) * step + 0.5, 1.0, 1.0,
                  f"{view.title}, map {i}: largest value {visual.number(peaks[i])}. Click to open it.")
             for i in range(k)]
    return image, spots, width


def _vector_block(view, x0: float, width: float) -> tuple[str, list[Spot]]:
    """A vector [n] as one column of n cells (its own colour scale), and one Spot per unit."""
    v = view.values.ravel()
    n = v.size
    image = _image(png_data_url(vector_strip(v, cols=1, cell=1, colorbar=False)), x0, 0.0, width, HEIGHT)
    cell = HEIGHT / n
    spots = [Spot(view.name, i, x0 + width / 2, (i + 0.5) * cell, width, cell,
                  f"{view.title}, unit {i}: {visual.number(v[i])}. Click to open it.") for i in range(n)]
    return image, spots


def _title_lines(title: str) -> list[str]:
    """A layer's name broken into lines of about TITLE_LINE characters, before a " + "."""
    lines: list[str] = []
    for part in title.split(" + "):
        if lines and len(lines[-1]) + 3 + len(part) <= TITLE_LINE:
            lines[-1] += f" + {part}"
        else:
            lines.append(part if not lines else f"+ {part}")
    return lines


def _describe(view) -> tuple[list[str], str]:
    """(the layer's name in lines, bold; what it holds), written above its block."""
    v = view.values
    if v.ndim == 3:
        return _title_lines(view.title), f"{v.shape[0]} × {v.shape[1]}×{v.shape[2]}"
    return _title_lines(view.title), f"{v.size} {'scores' if view.name == 'logits' else 'values'}"


BOLD = ' font-weight="600"'


def _text(x: float, y: float, text: str, size: float, color: str = visual.TEXT, anchor: str = "middle",
          baseline: str = "central", bold: bool = False) -> str:
    return (f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" fill="{color}" text-anchor="{anchor}" '
            f'dominant-baseline="{baseline}"{BOLD if bold else ""}>{escape(text)}</text>')


def _title(x: float, lines: list[str], last: str, size: float) -> str:
    """Bold name lines, then one plain line, the last line just above the blocks."""
    step = size * 1.2
    rows = [(line, True) for line in lines] + [(last, False)]
    y = -0.3 - size * 0.3 - step * (len(rows) - 1)
    spans = "".join(f'<tspan x="{_f(x)}" y="{_f(y + i * step)}"{BOLD if bold else ""}>{escape(text)}</tspan>'
                    for i, (text, bold) in enumerate(rows))
    return f'<text font-size="{_f(size)}" fill="{visual.TEXT}" text-anchor="middle">{spans}</text>'


def _outline(x0: float, y0: float, x1: float, y1: float, line_px: float) -> str:
    """A box in the highlight colour, its line `line_px` screen pixels wide whatever the picture's scale."""
    return (f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(x1 - x0)}" height="{_f(y1 - y0)}" fill="none" '
            f'stroke="{visual.HIGHLIGHT}" stroke-width="{line_px}" vector-effect="non-scaling-stroke" '
            'class="cnnviz-outline"/>')


def network_svg(image28: np.ndarray, views: list, probabilities: np.ndarray, selected: tuple | None = None,
                box: tuple | None = None, digest: str = "", height: int = 340) -> str:
    """The network as one connected SVG picture, as wide as its column and at most `height` px tall. `views`: the draw
    page's layer views in execution order (maps [C, h, w] or vectors [n], the logits last); `selected` =
    (layer, index) is outlined in the highlight colour; `box` = (y0, y1, x0, x1) is the selected unit's
    receptive field, outlined on the input. Every map and unit is a `data-spot="<layer> <index>"` square."""
    side, n_px = INPUT_SIZE, image28.shape[0]
    top = (HEIGHT - side) / 2
    pictures = [_image(png_data_url(digit_image(image28, size=n_px)), 0.0, top, side, side)]
    titles = [(side / 2, ["input"], f"{n_px}×{image28.shape[1]} pixels")]
    arrows, spots = [], []
    x = side
    for view in views:
        arrows.append((x, x + ARROW))
        x += ARROW
        if view.values.ndim == 3:
            picture, block, width = _maps_block(view, x)
        else:
            width = 1.3 if view.name == "logits" else VECTOR_WIDTH
            picture, block = _vector_block(view, x, width)
        pictures.append(picture)
        spots += block
        titles.append((x + width / 2, *_describe(view)))
        x += width
    logits = views[-1]
    digits = [s for s in spots if s.layer == logits.name]
    arrows.append((x, x + ARROW * 0.8))          # into the probabilities: one bar per digit, level with its logit
    x += ARROW * 0.8
    titles.append((x + BAR_WIDTH / 2, ["probabilities"], "softmax"))
    extra = max(len(lines) for _, lines, _ in titles) - 1       # lines of a name past the usual one
    y_top, x_end = -TITLE_ROOM - LINE_ROOM * extra, x + BAR_WIDTH + 1.9   # room for "100%"
    # one pixel, in map widths, where the picture is `height` px tall or the page's column (~820 px at 1280×720)
    # holds its width: the type sizes
    px = max((HEIGHT + 0.3 - y_top) / (height - 12), (x_end + 0.6) / 820)
    font = 12 * px

    parts = [*pictures]
    parts += [_title(tx, lines, last, font) for tx, lines, last in titles]
    mid = HEIGHT / 2
    for a, b in arrows:                       # the arrows between stages: shaft, then head
        tip, half = b - 0.3 + 4.5 * px, 4.5 * px
        parts.append(f'<line x1="{_f(a + 0.2)}" y1="{_f(mid)}" x2="{_f(b - 0.3)}" y2="{_f(mid)}" '
                     f'stroke="{visual.MUTED}" stroke-width="1.5" vector-effect="non-scaling-stroke"/>')
        parts.append(f'<polygon points="{_f(tip - 2 * half)},{_f(mid - half)} {_f(tip)},{_f(mid)} '
                     f'{_f(tip - 2 * half)},{_f(mid + half)}" fill="{visual.MUTED}"/>')
    for s in spots:                           # the map numbers, in each map's top-left corner
        if s.height == 1.0 and s.layer != logits.name:
            parts.append(_text(s.x - 0.45, s.y - 0.45, str(s.index), 9 * px, "#ffffff", "start", "hanging"))
    lo, hi = visual.signed_range(logits.values)
    probabilities = np.asarray(probabilities, dtype=float)
    best = int(probabilities.argmax())
    for s, value, p in zip(digits, logits.values, probabilities):   # each logit, its digit, its probability bar
        ink = visual.ink_for(visual.colorize(np.array(value), lo, hi, "diverging"))
        parts.append(_text(s.x, s.y, visual.number(value, 1), 11 * px, ink))
        parts.append(_text(s.x - s.width / 2 - 0.15, s.y, str(s.index), font, anchor="end"))
        bar = max(float(p), 0.004) * BAR_WIDTH
        parts.append(f'<rect x="{_f(x)}" y="{_f(s.y - 0.35)}" width="{_f(bar)}" height="0.7" '
                     f'fill="{visual.MAGNITUDE_COLOR}"/>')
        parts.append(_text(x + bar + 0.1, s.y, visual.percent(p, 0), 11 * px, anchor="start", bold=s.index == best))
    if box is not None:                       # the opened unit's receptive field, on the input
        y0, y1, x0, x1 = box
        cell = side / n_px
        parts.append(_outline(x0 * cell, top + y0 * cell, x1 * cell, top + y1 * cell, 2.5))
    for s in spots:                           # what a click selects: one transparent square over each map and unit
        if selected is not None and (s.layer, s.index) == tuple(selected):
            pad = 0.08
            parts.append(_outline(s.x - s.width / 2 - pad, s.y - s.height / 2 - pad, s.x + s.width / 2 + pad,
                                  s.y + s.height / 2 + pad, 3))
        parts.append(f'<rect data-spot="{s.layer} {s.index}" x="{_f(s.x - s.width / 2)}" '
                     f'y="{_f(s.y - s.height / 2)}" width="{_f(s.width)}" height="{_f(s.height)}" '
                     f'fill="transparent"><title>{escape(s.hover)}</title></rect>')
    chosen = escape(f"{selected[0]} {selected[1]}") if selected else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="cnnviz-network" data-digest="{escape(digest)}" '
            f'data-selected="{chosen}" viewBox="{_f(-0.3)} {_f(y_top)} {_f(x_end + 0.3)} {_f(HEIGHT + 0.3 - y_top)}" '
            f'style="max-height:{int(height)}px" role="img" aria-label="The network, from the input to the '
            f'probabilities: click a map to open it">{"".join(parts)}</svg>')


def spot_names(views: list) -> list[tuple[str, int]]:
    """(layer, map or unit index) of every clickable spot of `network_svg(..., views)`, in its order."""
    return [(v.name, i) for v in views for i in range(v.values.shape[0] if v.values.ndim == 3 else v.values.size)]


def clicked(spot: str | None, views: list) -> tuple[str, int] | None:
    """The (layer, index) a click on the network picture chose, from the clicked square's `data-spot`."""
    layer, _, index = (spot or "").rpartition(" ")
    if not index.isdigit():
        return None
    hit = (layer, int(index))
    return hit if hit in spot_names(views) else None
