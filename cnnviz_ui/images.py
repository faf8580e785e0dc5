"""Composite images: a whole layer of feature maps as ONE picture with its colour scale, in a few ms.

A grid of 32 small charts costs the browser and the server far more than one PNG of the same grid.
"""
from __future__ import annotations

import base64
import html
import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Anchor colours of two standard scales; the rest is linear interpolation between them.
_VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
_DIVERGING = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]
BACKGROUND = (255, 255, 255)
TEXT = (40, 40, 40)


@lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    anchors = np.array(_DIVERGING if name == "diverging" else _VIRIDIS, dtype=np.float32)  # [A, 3]
    t = np.linspace(0, len(anchors) - 1, 256)
    lo = np.floor(t).astype(int).clip(0, len(anchors) - 2)
    frac = (t - lo)[:, None]
    return (anchors[lo] * (1 - frac) + anchors[lo + 1] * frac).astype(np.uint8)  # [256, 3]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def value_range(values: np.ndarray) -> tuple[float, float, str]:
    """(vmin, vmax, scale name): a diverging scale centred on 0 for signed data, viridis otherwise."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if lo < 0 < hi or (lo < 0 and hi <= 0):
        m = max(abs(lo), abs(hi), 1e-6)
        return -m, m, "diverging"
    return min(lo, 0.0), max(hi, lo + 1e-6), "viridis"


def colorize(values: np.ndarray, vmin: float, vmax: float, scale: str = "viridis") -> np.ndarray:
    """Array [..] -> RGB uint8 [.., 3] through the named colour scale."""
    idx = np.clip((np.asarray(values, dtype=np.float32) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    return _lut(scale)[(idx * 255).astype(np.uint8)]


def _colorbar(height: int, vmin: float, vmax: float, scale: str, font_size: int) -> Image.Image:
    bar_w, pad = 14, 4
    font = _font(font_size)
    labels = [f"{vmax:.3g}", f"{(vmin + vmax) / 2:.3g}", f"{vmin:.3g}"]
    text_w = max(int(font.getlength(s)) for s in labels)
    img = Image.new("RGB", (bar_w + 2 * pad + text_w + 2, height), BACKGROUND)
    ramp = np.linspace(vmax, vmin, height)[:, None].repeat(bar_w, axis=1)  # [height, bar_w]
    img.paste(Image.fromarray(colorize(ramp, vmin, vmax, scale)), (pad, 0))
    draw = ImageDraw.Draw(img)
    for label, y in zip(labels, (0, height // 2 - font_size // 2, height - font_size - 1)):
        draw.text((bar_w + 2 * pad, y), label, fill=TEXT, font=font)
    return img


def feature_grid(maps: np.ndarray, cols: int, cell: int, gap: int = 2, labels: bool = True,
                 highlight: tuple[int, int, int] | None = None, font_size: int = 11,
                 colorbar: bool = True) -> Image.Image:
    """K maps [K, h, w] -> one image: a grid of `cols` columns, each map `cell` px wide, one shared colour
    scale (with its colour bar on the right unless `colorbar=False`; see `legend_html`).
    `highlight` = (map, y, x) outlines one unit. With cell = h and no labels the image stays tiny
    (fast to encode) and the browser scales it up, pixelated (`image-rendering: pixelated`)."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"expected maps shaped [K, h, w], got {maps.shape}")
    k, h, w = maps.shape
    vmin, vmax, scale = value_range(maps)
    zoom = max(1, cell // max(h, w))
    ch, cw = h * zoom, w * zoom
    label_h = font_size + 2 if labels else 0
    rows = -(-k // cols)
    grid_w, grid_h = cols * (cw + gap) - gap, rows * (ch + gap + label_h) - gap
    rgb = colorize(maps, vmin, vmax, scale)                                   # [K, h, w, 3]
    rgb = rgb.repeat(zoom, axis=1).repeat(zoom, axis=2)                       # [K, ch, cw, 3]
    canvas = np.full((grid_h, grid_w, 3), BACKGROUND, dtype=np.uint8)
    for i in range(k):
        r, c = divmod(i, cols)
        y0, x0 = r * (ch + gap + label_h) + label_h, c * (cw + gap)
        canvas[y0:y0 + ch, x0:x0 + cw] = rgb[i]
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    if labels:
        font = _font(font_size)
        for i in range(k):
            r, c = divmod(i, cols)
            draw.text((c * (cw + gap), r * (ch + gap + label_h)), str(i), fill=TEXT, font=font)
    if highlight is not None:
        i, uy, ux = highlight
        r, c = divmod(i, cols)
        y0, x0 = r * (ch + gap + label_h) + label_h + uy * zoom, c * (cw + gap) + ux * zoom
        draw.rectangle([x0 - 1, y0 - 1, x0 + zoom, y0 + zoom], outline=(255, 0, 255), width=2)
    if not colorbar:
        return img
    bar = _colorbar(grid_h, vmin, vmax, scale, font_size)
    out = Image.new("RGB", (grid_w + 8 + bar.width, grid_h), BACKGROUND)
    out.paste(img, (0, 0))
    out.paste(bar, (grid_w + 8, 0))
    return out


def png_data_url(img: Image.Image) -> str:
    """A picture as an inline data: URL (fast PNG): no separate request for the browser to make."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(img: Image.Image, width: int, caption: str) -> str:
    """A picture with its caption as inline HTML (a data: URL, so no media file can go missing on a rerun)."""
    return (f"<figure style='margin:0'><img src='{png_data_url(img)}' width='{width}' "
            f"style='image-rendering:pixelated;max-width:100%'>"
            f"<figcaption style='font-size:0.85em;opacity:0.7'>{html.escape(caption)}</figcaption></figure>")


def legend_html(vmin: float, vmax: float, scale: str) -> str:
    """A small inline colour bar (CSS gradient) with its end values, for a title line in st.markdown."""
    stops = ", ".join(f"rgb{tuple(int(v) for v in _lut(scale)[i])}" for i in (0, 64, 128, 192, 255))
    bar = (f"<span style='display:inline-block;width:90px;height:0.8em;vertical-align:middle;"
           f"background:linear-gradient(to right, {stops});border-radius:2px'></span>")
    return f"<span style='font-size:0.85em;white-space:nowrap'>{vmin:.3g} {bar} {vmax:.3g}</span>"


def vector_strip(values: np.ndarray, cols: int, cell: int = 18, numbers: bool = False,
                 font_size: int = 11, colorbar: bool = True) -> Image.Image:
    """A vector [n] as a grid of coloured cells (FC activations, logits) with its colour bar; optional numbers."""
    values = np.asarray(values, dtype=np.float32).ravel()
    n = values.size
    rows = -(-n // cols)
    padded = np.full(rows * cols, np.nan, dtype=np.float32)
    padded[:n] = values
    grid = padded.reshape(rows, cols)
    vmin, vmax, scale = value_range(values)
    rgb = colorize(np.nan_to_num(grid, nan=vmin), vmin, vmax, scale)
    rgb[np.isnan(grid)] = BACKGROUND
    img = Image.fromarray(rgb.repeat(cell, axis=0).repeat(cell, axis=1))
    if numbers:
        draw, font = ImageDraw.Draw(img), _font(font_size)
        for i, v in enumerate(values):
            r, c = divmod(i, cols)
            shade = colorize(np.array(v), vmin, vmax, scale)
            ink = (0, 0, 0) if int(shade.astype(int).sum()) > 380 else (255, 255, 255)
            draw.text((c * cell + cell / 2, r * cell + cell / 2), f"{v:.1f}", fill=ink, font=font, anchor="mm")
    if not colorbar:
        return img
    bar = _colorbar(max(img.height, 3 * font_size + 6), vmin, vmax, scale, font_size)
    out = Image.new("RGB", (img.width + 8 + bar.width, max(img.height, bar.height)), BACKGROUND)
    out.paste(img, (0, 0))
    out.paste(bar, (img.width + 8, 0))
    return out


def digit_image(image28: np.ndarray, size: int = 168, box: tuple[int, int, int, int] | None = None,
                overlay: np.ndarray | None = None, alpha: float = 0.55) -> Image.Image:
    """A 28x28 picture in [0, 1] scaled up (nearest) for display; optionally a receptive-field `box`
    (y0, y1, x0, x1, half-open input pixels) outlined, or a heat `overlay` [28, 28] blended on top."""
    g = (np.clip(np.asarray(image28, dtype=np.float32), 0, 1) * 255).astype(np.uint8)
    rgb = np.stack([g] * 3, axis=-1)                                          # [28, 28, 3]
    if overlay is not None:
        lo, hi = float(overlay.min()), float(overlay.max())
        heat = colorize(overlay, lo, max(hi, lo + 1e-6), "viridis").astype(np.float32)
        rgb = (rgb * (1 - alpha) + heat * alpha).astype(np.uint8)
    zoom = max(1, size // g.shape[0])
    img = Image.fromarray(rgb.repeat(zoom, axis=0).repeat(zoom, axis=1))
    if box is not None:
        y0, y1, x0, x1 = box
        ImageDraw.Draw(img).rectangle([x0 * zoom, y0 * zoom, x1 * zoom - 1, y1 * zoom - 1],
                                      outline=(255, 0, 255), width=3)
    return img


def kernel_image(kernel: np.ndarray, cell: int = 36, font_size: int = 12) -> Image.Image:
    """A small k x k kernel as a diverging heatmap with its numbers written in the cells."""
    k = np.asarray(kernel, dtype=np.float32)
    m = max(float(np.abs(k).max()), 1e-6)
    rgb = colorize(k, -m, m, "diverging").repeat(cell, axis=0).repeat(cell, axis=1)
    img = Image.fromarray(rgb)
    draw, font = ImageDraw.Draw(img), _font(font_size)
    for (r, c), v in np.ndenumerate(k):
        draw.text((c * cell + cell / 2, r * cell + cell / 2), f"{v:.2f}", fill=TEXT, font=font, anchor="mm")
    return img
