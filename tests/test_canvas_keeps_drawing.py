"""The canvas wrapper keeps a student's drawing while the component has not reported yet (a page change)."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import streamlit as st

from cnnviz_ui import canvas, canvas_frontend

DRAWING = {"objects": [{"type": "path"}], "background": "#000000"}


@pytest.fixture
def component(monkeypatch):
    """A stand-in for the browser component: returns whatever `reply` holds."""
    reply = {}
    monkeypatch.setattr(canvas_frontend, "install", lambda: None)
    fake = SimpleNamespace(st_canvas=lambda **kwargs: SimpleNamespace(**reply))  # the real one needs a server
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", fake)
    for key in list(st.session_state):
        del st.session_state[key]
    return reply


def test_a_canvas_that_has_not_reported_yet_leaves_the_saved_drawing_alone(component):
    st.session_state[canvas.drawing_key("c")] = DRAWING
    component.update(json_data=None, image_data=None)   # just mounted again, with the drawing as its initial one
    assert canvas.draw_canvas("c", initial_drawing=DRAWING) is None
    assert st.session_state[canvas.drawing_key("c")] == DRAWING


def test_a_canvas_cleared_on_its_own_toolbar_forgets_the_drawing(component):
    st.session_state[canvas.drawing_key("c")] = DRAWING
    component.update(json_data={"objects": []}, image_data=np.zeros((4, 4, 4), np.uint8))
    assert canvas.draw_canvas("c") is None
    assert st.session_state[canvas.drawing_key("c")] == {"objects": []}


def test_a_new_stroke_is_saved_and_its_pixels_returned(component):
    pixels = np.full((4, 4, 4), 255, np.uint8)
    component.update(json_data=DRAWING, image_data=pixels)
    assert canvas.draw_canvas("c") is pixels
    assert st.session_state[canvas.drawing_key("c")] == DRAWING
