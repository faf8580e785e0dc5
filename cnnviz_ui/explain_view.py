"""Pictures and charts of the "Why this answer?" page: attribution maps, the honesty check, the attack.

Data in, picture or figure out (no Streamlit here). Every colour comes from visual.py: a signed map on the
diverging scale centred on 0, a non-negative one on the sequential scale, pixels grey; the digit's outline
is drawn in a neutral grey so the map keeps its own colours.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from cnnviz_ui import visual
from cnnviz_ui.images import feature_grid

METHODS = {  # the core's function name -> what the page calls it
    "saliency": "Saliency",
    "integrated_gradients": "Integrated gradients",
    "grad_cam": "Grad-CAM",
    "occlusion": "Occlusion",
}
ATTACKS = {"fgsm": "one step (FGSM)", "pgd": "ten small steps (PGD)"}  # the recorded curves' names
OUTLINE_RGB = tuple(int(visual.MUTED[i:i + 2], 16) for i in (1, 3, 5))  # the digit's outline: neutral grey
INK = 0.5  # a pixel brighter than this belongs to the digit's outline


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def outline_mask(image28: np.ndarray, zoom: int) -> np.ndarray:
    """[28*zoom, 28*zoom] bool: the border pixels of the digit's ink (pixels above INK), scaled up by `zoom`."""
    ink = np.asarray(image28, dtype=np.float32) > INK                        # [28, 28]
    big = ink.repeat(zoom, axis=0).repeat(zoom, axis=1)                      # [28z, 28z]
    padded = np.pad(big, 1)
    inner = big & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return big & ~inner


def attribution_image(values: np.ndarray, image28: np.ndarray | None = None, size: int = 168,
                      font_size: int = 11) -> Image.Image:
    """One attribution map [28, 28] scaled up, its colour bar on the right (diverging about 0 when it has a
    sign, sequential when it has none), with the digit's outline in grey over it when `image28` is given."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"expected one map shaped [H, W], got {values.shape}")
    zoom = max(1, size // max(values.shape))
    img = feature_grid(values[None], cols=1, cell=zoom * max(values.shape), labels=False, colorbar=False)
    if image28 is not None:
        edge = outline_mask(image28, zoom)                                   # [28z, 28z]
        pixels = np.asarray(img).copy()
        h, w = edge.shape
        pixels[:h, :w][edge] = OUTLINE_RGB
        img = Image.fromarray(pixels)
    scale, lo, hi = visual.scale_for(values)
    bar = colour_bar(img.height, lo, hi, scale, font_size)
    out = Image.new("RGB", (img.width + 6 + bar.width, img.height), visual.BACKGROUND_RGB)
    out.paste(img, (0, 0))
    out.paste(bar, (img.width + 6, 0))
    return out


def bar_digits(vmin: float, vmax: float) -> int:
    """Decimals that show a scale's ends as more than zeros: 2 from 0.1 up, more for smaller ranges (0.003 -> 4)."""
    top = max(abs(vmin), abs(vmax))
    return 2 if top >= 0.1 or top == 0 else min(6, 1 - int(np.floor(np.log10(top))))


def colour_bar(height: int, vmin: float, vmax: float, scale: str, font_size: int = 11) -> Image.Image:
    """A vertical colour bar of the named scale from vmax (top) to vmin, its ends (and 0 when diverging, else the
    middle) written with enough decimals to differ from zero."""
    digits = bar_digits(vmin, vmax)
    middle = 0.0 if scale == "diverging" else (vmin + vmax) / 2
    labels = [visual.picture_text(visual.number(v, digits)) for v in (vmax, middle, vmin)]
    font = _font(font_size)
    width, pad = 12, 4
    img = Image.new("RGB", (width + pad + max(int(font.getlength(t)) for t in labels) + 2, height),
                    visual.BACKGROUND_RGB)
    ramp = np.linspace(vmax, vmin, height)[:, None].repeat(width, axis=1)      # [height, width]
    img.paste(Image.fromarray(visual.colorize(ramp, vmin, vmax, scale)), (0, 0))
    draw = ImageDraw.Draw(img)
    for text, y in zip(labels, (0, height // 2 - font_size // 2, height - font_size - 1)):
        draw.text((width + pad, y), text, fill=visual.TEXT_RGB, font=font)
    return img


def difference_image(difference: np.ndarray, size: int = 168, font_size: int = 11) -> Image.Image:
    """The attack's change (attacked − original pixels) on the diverging scale, stretched to its own largest
    change: an invisible ±0.05 becomes full red or blue, so the pattern shows (the colour bar gives the values)."""
    return attribution_image(difference, None, size, font_size)


def figure_block_html(img_url: str, width: int, caption: str, kind: str, **data) -> str:
    """A picture (a data: URL) with its caption, tagged for tests and tools: class cnnviz-<kind> and one
    data-<name> attribute per keyword (e.g. method="saliency", target=7)."""
    attributes = " ".join(f"data-{k.replace('_', '-')}='{html.escape(str(v), quote=True)}'" for k, v in data.items())
    return (f"<figure class='cnnviz-{html.escape(kind)}' {attributes} style='margin:0'>"
            f"<img src='{img_url}' width='{int(width)}' style='image-rendering:pixelated;max-width:100%'>"
            f"<figcaption style='font-size:0.85em;opacity:0.8'>{html.escape(caption)}</figcaption></figure>")


def marker_line(x: float, color: str, dash: str = "dot", width: int = 2) -> dict:
    """A vertical line at data x across the whole plot, as a layout shape (much cheaper than add_vline)."""
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=dict(color=color, width=width,
                                                                                       dash=dash))


def correlation_figure(layers: list[str], correlations: dict[str, list[float]], chosen: int | None = None,
                       height: int = 260) -> go.Figure:
    """How much each map still looks like the trained network's as more layers are randomised from the top:
    one line per method (rank correlation, 1 = same ranking of pixels, 0 = unrelated); `chosen` marks the
    step shown above."""
    x = list(range(1, len(layers) + 1))
    traces = [go.Scatter(x=x, y=list(values), mode="lines+markers", name=METHODS.get(method, method),
                         line=dict(color=visual.CATEGORICAL[n % len(visual.CATEGORICAL)], width=3))
              for n, (method, values) in enumerate(correlations.items())]
    shapes = [dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=0, y1=0, line=dict(color=visual.MUTED, width=1))]
    if chosen is not None:
        shapes.append(marker_line(chosen, visual.HIGHLIGHT))
    return go.Figure(traces, dict(
        height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.35), shapes=shapes,
        xaxis=dict(title=dict(text="layers randomised, from the top"), tickvals=x,
                   ticktext=[f"{k}: down to {name}" for k, name in zip(x, layers)]),
        yaxis=dict(title=dict(text="rank correlation"), range=[-0.3, 1.05])))


def accuracy_curve_figure(curves: dict[str, dict], needed: float | None = None, height: int = 280) -> go.Figure:
    """Test accuracy under attack against the budget ε (the largest change allowed per pixel): one line per
    recorded curve (name -> {"epsilons", "accuracy"}), with the ε this digit needed marked (HIGHLIGHT)."""
    traces = []
    for n, (name, curve) in enumerate(curves.items()):
        eps, acc = np.asarray(curve["epsilons"], dtype=float), np.asarray(curve["accuracy"], dtype=float)
        traces.append(go.Scatter(x=eps, y=100 * acc, mode="lines+markers", name=ATTACKS.get(name, name),
                                 line=dict(color=visual.CATEGORICAL[(4, 5, 2)[n % 3]], width=3),
                                 hovertemplate="ε = %{x:.3f}: %{y:.1f}%<extra></extra>"))
    shapes, notes = [], []
    if needed is not None:
        shapes.append(marker_line(float(needed), visual.HIGHLIGHT, "dash", 3))
        notes.append(dict(x=float(needed), xref="x", y=1, yref="paper", yanchor="bottom", xanchor="left",
                          showarrow=False, text=f"your digit: ε = {visual.number(needed, 3)}"))
    return go.Figure(traces, dict(
        height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.3), shapes=shapes,
        annotations=notes, xaxis=dict(title=dict(text="ε: the largest change allowed to each pixel (pixels 0 to 1)")),
        yaxis=dict(title=dict(text="test accuracy (%)"), range=[0, 101])))


def canvas_picture(image28: np.ndarray, size: int = 280) -> Image.Image:
    """A 28x28 image in [0, 1] as the drawing canvas's starting picture: grey pixels, white ink on black,
    scaled up by whole pixels (so reading the canvas back at 28x28 gives the same pixels)."""
    g = (np.clip(np.asarray(image28, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8)  # [28, 28]
    zoom = max(1, size // g.shape[0])
    return Image.fromarray(g.repeat(zoom, axis=0).repeat(zoom, axis=1)).convert("RGB")


def canvas_drawing(image_url: str, size: int = 280) -> dict:
    """A drawing canvas's `initial_drawing` (Fabric JSON) holding one picture (a data: URL) that fills it."""
    return {"version": "6.0.0", "objects": [{
        "type": "Image", "version": "6.0.0", "originX": "left", "originY": "top", "left": 0, "top": 0,
        "width": size, "height": size, "scaleX": 1, "scaleY": 1, "angle": 0, "opacity": 1, "visible": True,
        "selectable": False, "evented": False, "src": image_url, "crossOrigin": None, "filters": []}]}
