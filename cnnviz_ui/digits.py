"""MNIST test digits for the mechanics pages, loaded lazily (torchvision stays off the first page's path)."""
from __future__ import annotations

import numpy as np
import streamlit as st


@st.cache_resource(show_spinner="Loading the MNIST test set...")
def test_split():
    """The MNIST test split shared by every user (read-only), or the reason it is unavailable."""
    try:
        from cnnviz.data import load_split  # imported here: it may pull in torchvision
        return load_split("test", download=False), None  # a page never waits on the network
    except Exception as exc:  # MissingDataError, CorruptDataError, or no data module at all
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def test_digit(index: int):
    """(normalized image [1, 28, 28], raw uint8 [28, 28], label) of one test digit, or None without MNIST."""
    split, _ = test_split()
    if split is None:
        return None
    index = int(index) % len(split.labels)
    return split.images[index], np.asarray(split.raw[index]), int(split.labels[index])


def missing_reason() -> str | None:
    """Why MNIST could not be loaded (None when it is there)."""
    return test_split()[1]

