"""Figures and tables out of the app: PNG images for slides, CSV files for spreadsheets."""
from __future__ import annotations

from collections.abc import Callable
import csv
import io
import re

import streamlit as st
from PIL import Image

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


def csv_bytes(rows: list[dict]) -> bytes:
    """The rows as CSV (UTF-8), columns in the order of the first row."""
    if not rows:
        return b""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def table_download(rows: list[dict], name: str, key: str | None = None) -> None:
    """A small button that downloads a table as CSV (made only when clicked)."""
    st.download_button("Download CSV", lambda: csv_bytes(rows), file_name=f"{file_name(name)}.csv", mime="text/csv",
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


def tile(images: list[Image.Image], cols: int, gap: int = 6, background: str = "white") -> Image.Image:
    """Pictures in a grid of `cols` columns (row by row, each in a cell as large as the largest), for one PNG."""
    if not images:
        raise ValueError("nothing to tile: pass at least one image")
    w, h = max(i.width for i in images), max(i.height for i in images)
    rows = -(-len(images) // cols)
    out = Image.new("RGB", (cols * w + (cols - 1) * gap, rows * h + (rows - 1) * gap), background)
    for n, image in enumerate(images):
        out.paste(image.convert("RGB"), ((n % cols) * (w + gap), (n // cols) * (h + gap)))
    return out
