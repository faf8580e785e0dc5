"""streamlit-drawable-canvas's own frontend, with its send delay cut to SEND_DELAY_MS and drawings kept
across a remount.

The 0.13 frontend waits 200 ms after each finished stroke before it sends the drawing to the server (a
debounce, so that quick strokes go out together). On the draw page that wait was more than half of the
time from mouse-up to the prediction on screen (bench/draw_latency.py, docs/PERFORMANCE.md).

A canvas that Streamlit mounts again (its element is re-created in the page, or a superseded render's
cleanup runs late) used to come up empty: the old instance took the drawing with it and cancelled a send
still waiting for its delay, so a stroke could vanish without ever reaching the server
(docs/PERFORMANCE.md, "No drawing is lost"). `keep_drawings` wraps the bundle's entry point so that
- a cleanup from a mount that a newer one has replaced leaves the canvas alone (the newer mount owns it);
- a canvas that does go keeps its drawing (a stroke still being drawn included) under its Streamlit key,
  and a new canvas mounted with the same key starts from that drawing and sends it at once. Only the
  drawing of the canvas mounted last is kept: a canvas with a new key (the page's Clear) starts empty.

Instead of forking the component we take the installed bundle, apply those two changes, and register the
copy as a Streamlit v2 component whose assets live in a cache folder. `streamlit_drawable_canvas.st_canvas`
keeps doing all the argument and result handling; only the component it mounts is swapped (and told its
key, in the data field KEEP_FIELD).

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
KEEP_FIELD = "cnnvizKeep"   # in the component's data: the canvas's Streamlit key, under which its drawing is kept

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


# The bundle ends with its entry point: `Tr = /* @__PURE__ */ new WeakMap(), Kc = (e) => {...}; export { Kc as
# default };`, where the WeakMap holds each mount's canvas instance by its parent element.
_EXPORT = re.compile(r"export \{\s*([\w$]+) as default\s*\};?\s*$")

# The properties every saved drawing carries: `const t = e.canvas.toObject(Ht);\n  return e.history.save(t) && ...`.
_PROPS = re.compile(r"\.canvas\.toObject\(([\w$]+)\);\s*return [\w$]+\.history\.save\(")

# Wraps the entry point (MOUNT), reads the instances (INSTANCES) and saves a drawing with PROPS. The fields of
# an instance used here (history, sender, latest, lastInitialDrawingKey, canvas) are object keys, which the
# minifier keeps, as it keeps fabric's own (freeDrawingBrush, _isCurrentlyDrawing, _finalizeAndAddPath).
_KEEP_JS = """
// cnnviz (cnnviz_ui/canvas_frontend.py): a canvas mounted again keeps its drawing and sends it.
const cnnvizKept = new Map(), cnnvizMounts = new WeakMap();
const cnnvizInk = (d) => !!(d && Array.isArray(d.objects) && d.objects.length);
const cnnvizSame = (a, b) => JSON.stringify((a && a.objects) || []) === JSON.stringify((b && b.objects) || []);
const cnnvizMount = (e) => {
  const name = e.data ? e.data.KEEP_FIELD : undefined, parent = e.parentElement, page = e.data && e.data.initialDrawing;
  const kept = name != null && !INSTANCES.get(parent) ? cnnvizKept.get(name) : undefined;
  for (const other of cnnvizKept.keys()) if (other !== name) cnnvizKept.delete(other);  // Clear made a new key
  const restore = cnnvizInk(kept) && !cnnvizSame(kept, page);
  const background = page ? page.background : kept && kept.background;
  const args = restore ? { ...e, data: { ...e.data, initialDrawing: { ...kept, background } } } : e;
  const mount = (cnnvizMounts.get(parent) || 0) + 1;
  cnnvizMounts.set(parent, mount);
  const cleanup = MOUNT(args);
  const o = INSTANCES.get(parent);
  let loaded = !restore;  // a kept drawing this canvas has not loaded yet stays kept if the canvas goes first
  if (restore && o) {
    o.lastInitialDrawingKey = JSON.stringify(page);  // the page's own initial drawing is not news to this canvas
    const reset = o.history.reset;
    o.history.reset = function (h) {  // called once the kept drawing is loaded: send it
      o.history.reset = reset;
      reset.call(this, h);
      loaded = true;
      if (!o.canvas.disposed && o.latest.realtimeUpdateStreamlit) o.sender.now(h);
    };
  }
  return () => {
    if (parent.isConnected && cnnvizMounts.get(parent) !== mount) return;  // a newer mount owns this canvas
    const n = INSTANCES.get(parent);
    if (name != null && n) {
      let drawing = n.history.current;
      const c = n.canvas, brush = c.freeDrawingBrush;
      if (c._isCurrentlyDrawing && brush && brush._points && brush._points.length > 1) {
        try {  // the canvas goes mid-stroke: keep the stroke as drawn so far
          brush._finalizeAndAddPath();
          c._isCurrentlyDrawing = false;
          drawing = c.toObject(PROPS);
        } catch (err) { console.warn("cnnviz: could not keep the stroke in progress", err); }
      }
      if (cnnvizInk(drawing)) cnnvizKept.set(name, drawing);
      else if (loaded) cnnvizKept.delete(name);
    }
    cleanup();
    // A canvas that has gone sends nothing more: a send arriving late (the kept drawing loaded after the
    // canvas went) would render a disposed fabric canvas ("Cannot set properties of undefined").
    if (n) n.sender = { schedule() {}, now() {}, cancel() {} };
  };
};
export { cnnvizMount as default };
"""


def keep_drawings(js: str) -> str:
    """The bundle with its entry point wrapped so a remounted canvas keeps its drawing; ValueError if the bundle
    has another shape."""
    exports = list(_EXPORT.finditer(js))
    if len(exports) != 1:
        raise ValueError(f"expected one default export at the end of the canvas bundle, found {len(exports)}")
    mount = exports[0].group(1)
    instances = re.findall(rf"([\w$]+) = (?:/\* @__PURE__ \*/ )?new WeakMap\(\), {re.escape(mount)} = \(", js)
    if len(instances) != 1:
        raise ValueError(f"expected the canvas instances in a WeakMap before `{mount}`, found {len(instances)}")
    props = _PROPS.findall(js)
    if len(props) != 1:
        raise ValueError(f"expected one place where the canvas saves its drawing, found {len(props)}")
    wrapper = (_KEEP_JS.replace("KEEP_FIELD", KEEP_FIELD).replace("INSTANCES", instances[0])
               .replace("MOUNT(", f"{mount}(").replace("PROPS", props[0]))
    return js[:exports[0].start()] + wrapper.lstrip("\n")


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
    js = keep_drawings(patch_bundle(js_path.read_text(encoding="utf-8"), delay_ms))
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
            import streamlit_drawable_canvas
            if _installed is None:
                import streamlit as st

                _stock = streamlit_drawable_canvas.out
                _root = write_patched_build(cache_root)
                _register(_root)
                streamlit_drawable_canvas.out = _told_its_key(st.components.v2.component(
                    COMPONENT, js="index-*.js", css="index-*.css", html='<div class="canvas-root"></div>',
                    isolate_styles=True))
                _installed = True
            elif _installed:
                _register(_root)
        except Exception as error:  # any surprise: keep the stock canvas, which works, only slower
            _LOG.warning("cnnviz: using the stock drawing canvas (200 ms send delay): %s", error)
            if _stock is not None:
                streamlit_drawable_canvas.out = _stock
            _installed = False
        return _installed
