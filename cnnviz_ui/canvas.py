"""Our one door to streamlit-drawable-canvas, so tests can put a drawing on it without a browser.

AppTest runs the script in-process and cannot draw on a component; a test sets
`st.session_state[stub_key(key)]` to an RGBA array (or None for an empty canvas) and the
wrapper returns that instead of mounting the component.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

STUB_PREFIX = "_canvas_stub:"


def stub_key(key: str) -> str:
    return STUB_PREFIX + key


def drawing_key(key: str) -> str:
    """Where the canvas `key` leaves its last drawing (Fabric JSON), to give back as `initial_drawing`."""
    return "_canvas_drawing:" + key


def draw_canvas(key: str, stroke_width: int = 18, size: int = 280, stroke_color: str = "#FFFFFF",
                background_color: str = "#000000", initial_drawing: dict | None = None) -> np.ndarray | None:
    """Show a square drawing canvas; return its pixels (RGBA uint8 [size, size, 4]) or None before any drawing.

    The canvas sends its whole image on every mouse-up, so a multi-stroke digit is judged as a whole.
    Undo, redo and clear are on the canvas's own toolbar. `initial_drawing` is drawn when the canvas mounts;
    keep it the same while the canvas stays on screen (a new value redraws the canvas and resets undo).
    """
    if stub_key(key) in st.session_state:
        return st.session_state[stub_key(key)]
    from cnnviz_ui import canvas_frontend
    canvas_frontend.install()  # the component's own frontend, sending as a stroke ends instead of 200 ms later
    from streamlit_drawable_canvas import st_canvas  # imported late: it registers a component

    result = st_canvas(stroke_width=stroke_width, stroke_color=stroke_color, background_color=background_color,
                       update_streamlit=True, height=size, width=size, drawing_mode="freedraw",
                       return_image_data=True, initial_drawing=initial_drawing, key=key)
    if result.json_data is not None:  # None: the component has not reported yet (it was just mounted again), so
        st.session_state[drawing_key(key)] = result.json_data  # the saved drawing stays until the canvas says otherwise
    if not (result.json_data or {}).get("objects"):
        return None
    return result.image_data
