"""The digit this session is looking at, shared by the draw, filters and GAP/CAM pages."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

DIGIT_KEY = "current_digit"


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
