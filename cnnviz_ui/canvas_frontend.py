"""streamlit-drawable-canvas's own frontend, with its send delay cut from 200 ms to SEND_DELAY_MS.

The 0.13 frontend waits 200 ms after each finished stroke before it sends the drawing to the server (a
debounce, so that quick strokes go out together). On the draw page that wait was more than half of the
time from mouse-up to the prediction on screen (bench/draw_latency.py, docs/PERFORMANCE.md). Nothing
else in the component needs changing, so instead of forking it we take the installed bundle, change that
one constant, and register the copy as a Streamlit v2 component whose assets live in a cache folder.
`streamlit_drawable_canvas.st_canvas` keeps doing all the argument and result handling; only the
component it mounts is swapped.

Anything unexpected (another version of the bundle, a Streamlit without the v2 component manager)
falls back to the stock component: the canvas then works as shipped, with the 200 ms wait.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import tempfile
import threading
from pathlib import Path

SEND_DELAY_MS = 30          # after the last change; a stroke takes far longer than this to draw
STOCK_DELAY_MS = 200
COMPONENT = "cnnviz-canvas.canvas"

_LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_installed: bool | None = None
_root: Path | None = None
_stock = None              # the component st_canvas mounted before install()

# In the minified bundle the sender is built as `h.sender = Nh((c) => Ic(h, c), Bc)` and the delay is
# declared as `Bc = 200`; the names change between builds, so both are found by shape.
_SENDER = re.compile(r"\.sender = [\w$]+\(\(\w\) => [\w$]+\(\w, \w\), ([\w$]+)\)")


def patch_bundle(js: str, delay_ms: int = SEND_DELAY_MS) -> str:
    """The bundle with its send delay set to `delay_ms`; ValueError if the bundle has another shape."""
    senders = _SENDER.findall(js)
    if len(senders) != 1:
        raise ValueError(f"expected one debounced sender in the canvas bundle, found {len(senders)}")
    declaration = re.compile(rf"(?<![\w$]){re.escape(senders[0])} = {STOCK_DELAY_MS}(?=[,;\n])")
    patched, count = declaration.subn(f"{senders[0]} = {int(delay_ms)}", js)
    if count != 1:
        raise ValueError(f"expected one `{senders[0]} = {STOCK_DELAY_MS}` in the canvas bundle, found {count}")
    return patched


def stock_build() -> Path:
    """The installed component's build folder (found without importing it: the import registers it)."""
    spec = importlib.util.find_spec("streamlit_drawable_canvas")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("streamlit-drawable-canvas is not installed")
    return Path(spec.origin).parent / "frontend" / "build"


def write_patched_build(cache_root: Path | None = None, delay_ms: int = SEND_DELAY_MS) -> Path:
    """Write the patched bundle and the stock stylesheet into a folder named by their content; return it."""
    build = stock_build()
    (js_path,) = sorted(build.glob("index-*.js"))
    (css_path,) = sorted(build.glob("index-*.css"))
    js = patch_bundle(js_path.read_text(encoding="utf-8"), delay_ms)
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


def _register(root: Path) -> None:
    """Declare the asset folder on the running Streamlit's component manager (a new runtime, as in each
    AppTest, starts without it), as Streamlit does for an installed package's pyproject.toml."""
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(COMPONENT) is None:
        package, name = COMPONENT.split(".")
        manifest = ComponentManifest(name=package, version="1",
                                     components=[ComponentConfig(name=name, asset_dir="build")])
        manager.register_from_manifest(manifest, root)


def install(cache_root: Path | None = None) -> bool:
    """Make st_canvas mount the fast copy; True when it does, False when it keeps the stock component."""
    global _installed, _root, _stock
    with _lock:
        try:
            import streamlit_drawable_canvas
            if _installed is None:
                import streamlit as st

                _stock = streamlit_drawable_canvas.out
                _root = write_patched_build(cache_root)
                _register(_root)
                streamlit_drawable_canvas.out = st.components.v2.component(
                    COMPONENT, js="index-*.js", css="index-*.css", html='<div class="canvas-root"></div>',
                    isolate_styles=True)
                _installed = True
            elif _installed:
                _register(_root)
        except Exception as error:  # any surprise: keep the stock canvas, which works, only slower
            _LOG.warning("cnnviz: using the stock drawing canvas (200 ms send delay): %s", error)
            if _stock is not None:
                streamlit_drawable_canvas.out = _stock
            _installed = False
        return _installed
