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

from cnnviz_ui import visual

BACKGROUND = visual.BACKGROUND_RGB
TEXT = visual.TEXT_RGB


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def value_range(values: np.ndarray) -> tuple[float, float, str]:
    """(vmin, vmax, scale name) by visual.scale_for: diverging about 0 for signed data, sequential otherwise."""
    scale, lo, hi = visual.scale_for(values)
    return lo, hi, scale


def colorize(values: np.ndarray, vmin: float, vmax: float, scale: str = "sequential") -> np.ndarray:
    """Array [..] -> RGB uint8 [.., 3] through the named scale of visual.py."""
    return visual.colorize(values, vmin, vmax, scale)


def _ink(rgb) -> tuple[int, int, int]:
    return (0, 0, 0) if visual.ink_for(rgb) == "#000000" else (255, 255, 255)


def _colorbar(height: int, vmin: float, vmax: float, scale: str, font_size: int) -> Image.Image:
    bar_w, pad = 14, 4
    font = _font(font_size)
    labels = [visual.picture_text(visual.number(v)) for v in (vmax, (vmin + vmax) / 2, vmin)]
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
        draw.rectangle([x0 - 1, y0 - 1, x0 + zoom, y0 + zoom], outline=visual.HIGHLIGHT_RGB, width=2)
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


def vector_strip(values: np.ndarray, cols: int, cell: int = 18, numbers: bool = False,
                 font_size: int = 11, colorbar: bool = True, digits: int = 1) -> Image.Image:
    """A vector [n] as a grid of coloured cells (FC activations, logits) with its colour bar; optional numbers
    (`digits` decimals, `font_size` px: raise both with `cell` in lecture mode)."""
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
            ink = _ink(colorize(np.array(v), vmin, vmax, scale))
            text = visual.picture_text(visual.number(v, digits))
            draw.text((c * cell + cell / 2, r * cell + cell / 2), text, fill=ink, font=font,
                      anchor="mm")
    return _with_colorbar(img, vmin, vmax, scale, font_size) if colorbar else img


def digit_image(image28: np.ndarray, size: int = 168, box: tuple[int, int, int, int] | None = None,
                overlay: np.ndarray | None = None, alpha: float = 0.55) -> Image.Image:
    """A 28x28 picture in [0, 1] scaled up (nearest) for display; optionally a receptive-field `box`
    (y0, y1, x0, x1, half-open input pixels) outlined, or a heat `overlay` [28, 28] blended on top."""
    g = (np.clip(np.asarray(image28, dtype=np.float32), 0, 1) * 255).astype(np.uint8)
    rgb = np.stack([g] * 3, axis=-1)                                          # [28, 28, 3]
    if overlay is not None:
        lo, hi = float(overlay.min()), float(overlay.max())
        heat = colorize(overlay, lo, max(hi, lo + 1e-6), "sequential").astype(np.float32)
        rgb = (rgb * (1 - alpha) + heat * alpha).astype(np.uint8)
    zoom = max(1, size // g.shape[0])
    img = Image.fromarray(rgb.repeat(zoom, axis=0).repeat(zoom, axis=1))
    if box is not None:
        y0, y1, x0, x1 = box
        ImageDraw.Draw(img).rectangle([x0 * zoom, y0 * zoom, x1 * zoom - 1, y1 * zoom - 1],
                                      outline=visual.HIGHLIGHT_RGB, width=3)
    return img


def kernel_image(kernel: np.ndarray, cell: int = 36, font_size: int = 12, digits: int = 2,
                 colorbar: bool = False) -> Image.Image:
    """A small k x k kernel on the diverging scale (red = positive) with its numbers written in the cells;
    in lecture mode pass a larger `cell` and `font_size` (the font is capped so a number fits its cell).
    `colorbar=True` adds the scale on the right (one kernel alone; a gallery shows one `legend_html`)."""
    k = np.asarray(kernel, dtype=np.float32)
    lo, hi = visual.signed_range(k)
    colours = colorize(k, lo, hi, "diverging")                                  # [k, k, 3]
    img = Image.fromarray(colours.repeat(cell, axis=0).repeat(cell, axis=1))
    draw = ImageDraw.Draw(img)
    for (r, c), v in np.ndenumerate(k):
        text = visual.picture_text(visual.number(v, digits))
        font = _fitting_font(text, font_size, cell)
        draw.text((c * cell + cell / 2, r * cell + cell / 2), text, fill=_ink(colours[r, c]), font=font,
                  anchor="mm")
    return _with_colorbar(img, lo, hi, "diverging", font_size) if colorbar else img


def _with_colorbar(img: Image.Image, vmin: float, vmax: float, scale: str, font_size: int) -> Image.Image:
    bar = _colorbar(max(img.height, 3 * font_size + 6), vmin, vmax, scale, font_size)
    out = Image.new("RGB", (img.width + 8 + bar.width, max(img.height, bar.height)), BACKGROUND)
    out.paste(img, (0, 0))
    out.paste(bar, (img.width + 8, 0))
    return out


def _fitting_font(text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The font at `size`, or smaller until `text` fits in `width` px with a small margin."""
    while size > 6 and _font(size).getlength(text) > width - 4:
        size -= 1
    return _font(size)
