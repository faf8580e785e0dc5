"""The digit this session is looking at (drawn, uploaded or from MNIST), shared by the draw, filters and GAP/CAM
pages."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

DIGIT_KEY = "current_digit"
INITIAL = "_draw_initial"    # the drawing the canvas was mounted with; kept while the canvas stays on screen
DRAWN = "_draw_input"        # (digest of the canvas pixels, the Digit made of them): prepared once per drawing


@dataclass(frozen=True)
class Digit:
    image28: np.ndarray      # [28, 28] in [0, 1], what the model sees (for display)
    x: torch.Tensor          # [1, 1, 28, 28] normalised model input
    source: str              # "your drawing", "MNIST test digit #0 (label 7)", ...


@st.cache_resource(show_spinner=False)
def _synthetic() -> Digit:
    from cnnviz.preprocess import preprocess
    from cnnviz.sketch import draw_digit
    image28, x = preprocess(draw_digit(7))
    return Digit(image28, x, "a built-in drawn 7 (MNIST is not on this machine)")


@st.cache_resource(show_spinner=False)
def example_digit() -> Digit:
    """The built-in drawn 7 the draw page shows until the student draws."""
    drawn = _synthetic()
    return Digit(drawn.image28, drawn.x, "the built-in example 7")


def mnist_digit(index: int) -> Digit | None:
    from cnnviz.data import scale_pixels
    from cnnviz_ui.digits import test_digit
    found = test_digit(index)
    if found is None:
        return None
    image, raw, label = found
    return Digit(scale_pixels(raw), image.unsqueeze(0),  # [1, 1, 28, 28]
                 f"MNIST test digit #{index} (label {label})")


def uploaded_digit(upload) -> Digit | None:
    """The digit in an uploaded PNG/JPEG (prepared like MNIST), or None with the reason shown."""
    from cnnviz.preprocess import is_blank, preprocess, read_upload
    if upload is None:
        return None
    try:
        pixels = read_upload(upload.getvalue())
        if is_blank(pixels):
            st.warning("No digit found in that image: it looks empty.")
            return None
        image28, x = preprocess(pixels)
        return Digit(image28, x, f"uploaded {upload.name}")
    except ValueError as exc:
        st.error(f"Cannot use this file: {exc}")
        return None


def drawn_digit(middle) -> tuple[Digit | None, bool]:
    """The canvas (with Clear and the brush size under it) and the digit drawn on it, prepared like MNIST:
    (digit or None, whether the strokes hold nothing digit-like, which is said in `middle`)."""
    from cnnviz.preprocess import is_blank, preprocess
    from cnnviz_ui.canvas import draw_canvas, drawing_key
    from cnnviz_ui.draw_view import input_hash
    canvas_box = st.container()          # the canvas above, its two controls side by side below it
    clear_column, brush_column = st.columns([1, 2.2], vertical_alignment="bottom")
    brush = brush_column.slider("Brush size", 8, 32, 18, key="draw_brush")
    version = st.session_state.setdefault("draw_canvas_version", 0)
    canvas = f"draw_canvas_{version}"
    initial = st.session_state.setdefault(INITIAL, st.session_state.get(drawing_key(canvas)))
    with canvas_box:
        pixels = draw_canvas(canvas, stroke_width=brush, initial_drawing=initial)
    if clear_column.button("Clear", key="draw_clear", help="Empty the canvas (undo is on the canvas toolbar)"):
        st.session_state["draw_canvas_version"] = version + 1
        for key in (INITIAL, DRAWN):
            st.session_state.pop(key, None)
        set_current_digit(None)
        st.rerun(scope="fragment")
    if not is_blank(pixels):
        key = input_hash(pixels)
        cached = st.session_state.get(DRAWN)
        if cached is None or cached[0] != key:
            image28, x = preprocess(pixels)
            cached = (key, Digit(image28, x, "your drawing"))
            st.session_state[DRAWN] = cached
        return cached[1], False
    if pixels is None and (st.session_state.get(drawing_key(canvas)) or {}).get("objects"):
        cached = st.session_state.get(DRAWN)  # the canvas came back with the last drawing on it
        return (cached[1] if cached is not None else None), False
    if pixels is not None:  # strokes on the canvas, but nothing a digit could be made of
        middle.warning("There is nothing digit-like to read yet: a dot, a few stray pixels, or ink over the whole "
                       "square. Press Clear and draw one digit with a few strokes.")
        return None, True
    return None, False


def default_digit() -> Digit:
    """MNIST test digit #0 (a 7, like the chapter's trace), or a built-in drawn 7 without MNIST."""
    return mnist_digit(0) or _synthetic()


def current_digit() -> Digit:
    return st.session_state.get(DIGIT_KEY) or default_digit()


def set_current_digit(digit: Digit | None) -> None:
    if digit is None:
        st.session_state.pop(DIGIT_KEY, None)
    else:
        st.session_state[DIGIT_KEY] = digit
