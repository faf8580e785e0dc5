"""Shared AppTest helpers: open a page of the app the way a user gets there (app.py first, then the page), and
read what it drew (a Plotly chart's spec and data, the text of elements)."""
import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

APP = "../app.py"   # relative to this folder, as AppTest.from_file resolves it
PAGES_DIR = "pages"


def open_app_page(page: str, **state) -> AppTest:
    """Run app.py, set session state (e.g. a stubbed canvas), switch to pages/<page>.py, and check no exception."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"{PAGES_DIR}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_from_link(page: str, **params) -> AppTest:
    """Open pages/<page>.py from a link carrying query `params`, as a fresh browser tab would; check no exception."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"{PAGES_DIR}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figure(at: AppTest, key: str) -> dict:
    """The Plotly figure drawn with st.plotly_chart(key=key), as its JSON spec."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart with key {key!r}")


def array(value) -> np.ndarray:
    """A figure's data array: Plotly writes NumPy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.array(value)


def z(at: AppTest, key: str) -> np.ndarray:
    """The values of the heatmap drawn under `key`."""
    return array(figure(at, key)["data"][0]["z"]).astype(float)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)
