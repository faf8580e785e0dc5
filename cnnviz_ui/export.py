"""Figures and tables out of the app: PNG images for slides, CSV files for spreadsheets."""
from __future__ import annotations

from collections.abc import Callable
import csv
import io
import re

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from cnnviz_ui import visual

# Plotly's mode bar, cut down to its camera: the one button an instructor needs to put a chart on a slide.
_CHART_BUTTONS_REMOVED = ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d",
                          "resetScale2d", "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian"]


def file_name(name: str) -> str:
    """A safe, recognisable file stem: `cnnviz-` + the name in lower-case words joined by dashes."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"cnnviz-{stem or 'figure'}"


def chart_config(name: str) -> dict:
    """Plotly config whose camera button saves a 2x PNG named after the chart."""
    return {"displaylogo": False, "modeBarButtonsToRemove": _CHART_BUTTONS_REMOVED,
            "toImageButtonOptions": {"format": "png", "filename": file_name(name), "scale": 2}}


_NUMBER = re.compile(r"^[+\-\u2212]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+\-]?\d+)?$")
_PERCENT = re.compile(r"^[+\-\u2212]?\d+(\.\d+)?%$")


def _as_number(text: str) -> int | float | None:
    """A number written for people ("200,832", "−0.25", "1e-05") as the number; None if it is not one."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    plain = text.replace(",", "").replace(visual.MINUS, "-")
    return int(plain) if re.fullmatch(r"[+\-]?\d+", plain) else float(plain)


def _plain(value):
    """A cell as a spreadsheet should read it: numbers as numbers (NumPy scalars too), text as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    if isinstance(value, (int, float)):
        return "" if isinstance(value, float) and value != value else value  # NaN: an empty cell
    if isinstance(value, str):
        number = _as_number(value)
        return value if number is None else number
    return value


def _percent_columns(rows: list[dict], fields: list[str]) -> set[str]:
    """The columns whose every filled cell is a percentage such as "97.1%"."""
    found = set()
    for f in fields:
        cells = [r.get(f) for r in rows if r.get(f) not in (None, "")]
        if cells and all(isinstance(c, str) and _PERCENT.match(c.strip()) for c in cells):
            found.add(f)
    return found


def csv_bytes(rows: list[dict]) -> bytes:
    """The rows as CSV (UTF-8), columns in the order of the first row, numbers as numbers: ints and floats
    unformatted (full precision), and text that is a number written for people read back as the number
    ("200,832" -> 200832, "−0.5" -> -0.5). A column of percentages ("97.1%") becomes numeric with "(%)" in
    its name ("Share (%)": 97.1). Pass raw numbers where you can: a formatted one keeps only its shown digits."""
    if not rows:
        return b""
    fields = list(rows[0])
    percent = _percent_columns(rows, fields)
    header = {f: f"{f} (%)" if f in percent else f for f in fields}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header[f] for f in fields])
    for row in rows:
        cells = []
        for f in fields:
            v = row.get(f, "")
            if f in percent and isinstance(v, str) and v.strip():
                v = v.strip().rstrip("%")
            cells.append(_plain(v))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def table_download(rows: list[dict], name: str, key: str | None = None, raw: list[dict] | None = None) -> None:
    """A small button that downloads a table as CSV (made only when clicked). `raw`: the same table with
    unformatted numbers (what the CSV then holds; `rows` is what the page shows)."""
    table = rows if raw is None else raw
    st.download_button("Download CSV", lambda: csv_bytes(table), file_name=f"{file_name(name)}.csv", mime="text/csv",
                       on_click="ignore", key=key or f"csv_{file_name(name)}", icon=":material/download:",
                       type="tertiary")


def image_download(image: Image.Image | Callable[[], Image.Image], name: str, key: str | None = None) -> None:
    """A small button that downloads a composite image as PNG (encoded, or drawn if given a function, only
    when clicked)."""
    def data() -> bytes:
        return png_bytes(image() if callable(image) else image)

    st.download_button("Download PNG", data, file_name=f"{file_name(name)}.png", mime="image/png",
                       on_click="ignore", key=key or f"png_{file_name(name)}", icon=":material/download:",
                       type="tertiary")


def tile(images: list[Image.Image], cols: int, gap: int = 6, background: str = "white",
         captions: list[str] | None = None, font_size: int = 16) -> Image.Image:
    """Pictures in a grid of `cols` columns (row by row, each in a cell as large as the largest), for one PNG.
    `captions`: one title per picture, written above it (e.g. the layer names of an every-layer picture)."""
    if not images:
        raise ValueError("nothing to tile: pass at least one image")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} pictures: give one caption per picture")
    font = ImageFont.load_default(size=font_size)
    head = font_size + 8 if captions else 0
    w = max([i.width for i in images] + [int(font.getlength(visual.picture_text(c))) + 2 for c in captions or []])
    h = max(i.height for i in images) + head
    rows = -(-len(images) // cols)
    out = Image.new("RGB", (cols * w + (cols - 1) * gap, rows * h + (rows - 1) * gap), background)
    draw = ImageDraw.Draw(out)
    for n, image in enumerate(images):
        x, y = (n % cols) * (w + gap), (n // cols) * (h + gap)
        if captions:
            draw.text((x, y + 2), visual.picture_text(captions[n]), fill=visual.TEXT_RGB, font=font)
        out.paste(image.convert("RGB"), (x, y + head))
    return out
