"""A drawing as the canvas component sends it: what a simulated student (bench/load.py) puts in the canvas's
widget state instead of dragging a mouse.

The value is the component's JSON: the Fabric.js objects of the strokes and the 280x280 PNG the canvas would
render, with the digest the Draw page tags its prediction with, so the sender can tell its own prediction.
"""
from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Drawing:
    digit: int
    value: str        # the canvas component's state, as JSON: what its frontend sends
    digest: str       # the digest the draw page tags this drawing's prediction with


def _fabric_path(stroke, height, top, left, aspect, brush) -> dict:
    width = height * aspect
    points = [(left + x * width, top + y * height) for x, y in stroke]
    path = [["M", *points[0]]] + [["L", *p] for p in points[1:]]
    return {"type": "path", "version": "5.3.0", "originX": "left", "originY": "top", "fill": None,
            "stroke": "#FFFFFF", "strokeWidth": brush, "strokeLineCap": "round", "strokeLineJoin": "round",
            "path": path}


def make_drawings(brush: int = 18) -> list[Drawing]:
    """Every sketched digit at three sizes and places, as the canvas would send it, with its expected digest."""
    from PIL import Image

    from cnnviz.data import pixels_digest
    from cnnviz.preprocess import preprocess
    from cnnviz.sketch import STROKES, draw_digit

    places = [(200, 40, 70), (120, 30, 40), (160, 100, 110)]  # height, top, left on the 280 px canvas
    out = []
    for height, top, left in places:
        for digit in sorted(STROKES):
            pixels = draw_digit(digit, height=height, top=top, left=left, brush=brush)  # [280, 280, 4]
            png = io.BytesIO()
            Image.fromarray(pixels).save(png, format="PNG")
            url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
            objects = [_fabric_path(s, height, top, left, 0.7, brush) for s in STROKES[digit]]
            raw = {"version": "5.3.0", "objects": objects, "background": "#000000"}
            value = json.dumps({"drawing": {"raw": raw, "data": url}, "backgroundFit": None})
            image28, _ = preprocess(pixels)
            out.append(Drawing(digit, value, pixels_digest(image28)))
    return out
