"""MNIST test digits for the mechanics pages, loaded lazily (torchvision stays off the first page's path)."""
from __future__ import annotations

import numpy as np
import streamlit as st


@st.cache_resource(show_spinner="Loading the MNIST test set...")
def _test_split():
    """The MNIST test split shared by every user (read-only), or the reason it is unavailable."""
    try:
        from cnnviz.data import load_split  # imported here: it may pull in torchvision
        return load_split("test", download=False), None  # a page never waits on the network
    except Exception as exc:  # MissingDataError, CorruptDataError, or no data module at all
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def test_digit(index: int):
    """(normalized image [1, 28, 28], raw uint8 [28, 28], label) of one test digit, or None without MNIST."""
    split, _ = _test_split()
    if split is None:
        return None
    index = int(index) % len(split.labels)
    return split.images[index], np.asarray(split.raw[index]), int(split.labels[index])


def missing_reason() -> str | None:
    """Why MNIST could not be loaded (None when it is there)."""
    return _test_split()[1]


def synthetic_seven(size: int = 28) -> np.ndarray:
    """A hand-made stroke shaped like a 7, [size, size] in [0, 1]: the stand-in when MNIST is absent."""
    image = np.zeros((size, size))
    top, left, right = size // 5, size // 4, size - size // 4
    image[top:top + 2, left:right] = 1.0                      # the bar
    for t in np.linspace(0.0, 1.0, 4 * size):                 # the diagonal down to the foot
        y = int(round(top + 1 + t * (size - 2 * top - 1)))
        x = int(round(right - 1 - t * (right - left) * 0.55))
        image[y, max(x - 1, 0):x + 1] = 1.0
    return image
