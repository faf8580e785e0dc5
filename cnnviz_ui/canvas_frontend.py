"""streamlit-drawable-canvas's own frontend, with its send delay cut to SEND_DELAY_MS and drawings kept
across a remount.

The 0.13 frontend waits 200 ms after each finished stroke before it sends the drawing to the server; on the
Draw page that wait was more than half of the time from mouse-up to the prediction on screen
(bench/draw_latency.py). And a canvas that Streamlit mounts again used to come up empty, so a stroke could
vanish without ever reaching the server. Instead of forking the component we take the installed bundle, apply
two changes (`streamlit_internals.patch_bundle`, `streamlit_internals.keep_drawings`: the workarounds and
their checks are there), and mount the copy as a Streamlit v2 component whose assets live in a cache folder.
`streamlit_drawable_canvas.st_canvas` keeps doing all the argument and result handling; only the component it
mounts is swapped (and told its key, in the data field KEEP_FIELD).

Anything unexpected (another version of the bundle, a Streamlit without the v2 component manager) falls back
to the stock component: the canvas then works as shipped, with the 200 ms wait.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
from pathlib import Path

from cnnviz_ui import streamlit_internals as internals

SEND_DELAY_MS = 0   # no wait: a freehand stroke has ended at mouse-up, when the canvas schedules its send
COMPONENT = "cnnviz-canvas.canvas"
KEEP_FIELD = "cnnvizKeep"   # in the component's data: the canvas's Streamlit key, under which its drawing is kept

_LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_installed: bool | None = None
_root: Path | None = None
_stock = None              # the component st_canvas mounted before install()


def stock_build() -> Path:
    """The installed component's build folder (found without importing it: the import registers it)."""
    spec = importlib.util.find_spec("streamlit_drawable_canvas")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("streamlit-drawable-canvas is not installed")
    return Path(spec.origin).parent / "frontend" / "build"


def patched_bundle(js: str, delay_ms: int = SEND_DELAY_MS) -> str:
    """The stock bundle with both changes: the shorter send delay, and drawings kept across a remount."""
    return internals.keep_drawings(internals.patch_bundle(js, delay_ms), KEEP_FIELD)


def write_patched_build(cache_root: Path | None = None, delay_ms: int = SEND_DELAY_MS) -> Path:
    """Write the patched bundle and the stock stylesheet into a folder named by their content; return it."""
    build = stock_build()
    (js_path,) = sorted(build.glob("index-*.js"))
    (css_path,) = sorted(build.glob("index-*.css"))
    js = patched_bundle(js_path.read_text(encoding="utf-8"), delay_ms)
    css = css_path.read_text(encoding="utf-8")
    digest = hashlib.sha256((js + css).encode()).hexdigest()[:16]
    root = (cache_root or Path(tempfile.gettempdir())) / f"cnnviz-canvas-{digest}"
    target = root / "build"
    if not (target / "index-fast.js").is_file():
        target.mkdir(parents=True, exist_ok=True)
        for name, text in (("index-style.css", css), ("index-fast.js", js)):  # the .js last: it marks done
            tmp = target / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target / name)
    return root


def _told_its_key(component):
    """The component, called with its Streamlit key also in its data (KEEP_FIELD), for keep_drawings."""
    def mount(*args, data=None, key=None, **kwargs):
        if isinstance(data, dict) and key is not None:
            data = {**data, KEEP_FIELD: key}
        return component(*args, data=data, key=key, **kwargs)
    return mount


def install(cache_root: Path | None = None) -> bool:
    """Make st_canvas mount the fast copy; True when it does, False when it keeps the stock component."""
    global _installed, _root, _stock
    with _lock:
        try:
            if _installed is None:
                import streamlit as st

                _root = write_patched_build(cache_root)
                internals.register_asset_folder(COMPONENT, _root)
                fast = st.components.v2.component(COMPONENT, js="index-*.js", css="index-*.css",
                                                  html='<div class="canvas-root"></div>', isolate_styles=True)
                _stock = internals.swap_canvas_component(_told_its_key(fast))
                _installed = True
            elif _installed:
                internals.register_asset_folder(COMPONENT, _root)
        except Exception as error:  # any surprise: keep the stock canvas, which works, only slower
            _LOG.warning("cnnviz: using the stock drawing canvas (200 ms send delay): %s", error)
            if _stock is not None:
                internals.swap_canvas_component(_stock)
            _installed = False
        return _installed
