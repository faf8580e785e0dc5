"""The drawing canvas's frontend: its bundle patched, served as an asset folder, and the component swapped."""
from __future__ import annotations

import re
from pathlib import Path


STOCK_DELAY_MS = 200   # streamlit-drawable-canvas 0.13's wait before it sends a drawing

# In the minified bundle the sender is built as `h.sender = Nh((c) => Ic(h, c), Bc)` and the delay is
# declared as `Bc = 200`; the names change between builds, so both are found by shape.
SENDER = re.compile(r"\.sender = [\w$]+\(\(\w\) => [\w$]+\(\w, \w\), ([\w$]+)\)")


def patch_bundle(js: str, delay_ms: int) -> str:
    """The bundle with its send delay set to `delay_ms`; ValueError if the bundle has another shape.

    Works around: streamlit-drawable-canvas 0.13 sends a drawing 200 ms after the last change (a debounce
    in its frontend, no option): more than half the time from mouse-up to the prediction on the Draw page.
    Still needed while the component has no option for that delay (check its st_canvas arguments)."""
    senders = SENDER.findall(js)
    if len(senders) != 1:
        raise ValueError(f"expected one debounced sender in the canvas bundle, found {len(senders)}")
    declaration = re.compile(rf"(?<![\w$]){re.escape(senders[0])} = {STOCK_DELAY_MS}(?=[,;\n])")
    patched, count = declaration.subn(f"{senders[0]} = {int(delay_ms)}", js)
    if count != 1:
        raise ValueError(f"expected one `{senders[0]} = {STOCK_DELAY_MS}` in the canvas bundle, found {count}")
    return patched


# The bundle ends with its entry point: `Tr = /* @__PURE__ */ new WeakMap(), Kc = (e) => {...}; export { Kc as
# default };`, where the WeakMap holds each mount's canvas instance by its parent element.
EXPORT = re.compile(r"export \{\s*([\w$]+) as default\s*\};?\s*$")

# The properties every saved drawing carries: `const t = e.canvas.toObject(Ht);\n  return e.history.save(t) && ...`.
PROPS = re.compile(r"\.canvas\.toObject\(([\w$]+)\);\s*return [\w$]+\.history\.save\(")

# Wraps the entry point (MOUNT), reads the instances (INSTANCES) and saves a drawing with PROPS. The fields of
# an instance used here (history, sender, latest, lastInitialDrawingKey, canvas) are object keys, which the
# minifier keeps, as it keeps fabric's own (freeDrawingBrush, _isCurrentlyDrawing, _finalizeAndAddPath).
_KEEP_JS = """
// cnnviz (cnnviz_ui/streamlit_internals/canvas.py): a canvas mounted again keeps its drawing and sends it.
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


def keep_drawings(js: str, keep_field: str) -> str:
    """The bundle with its entry point wrapped so a remounted canvas keeps its drawing; ValueError if the bundle
    has another shape.

    Works around: a canvas that Streamlit mounts again (its element re-created, or a superseded render's
    cleanup running late) came up empty, and a send still waiting for its delay was cancelled, so a stroke
    could vanish (streamlit-drawable-canvas 0.13 on Streamlit 1.67). The wrapper keeps the drawing under the
    canvas's key (`keep_field` in the component's data) and sends it from the new mount. Still needed while
    tests/e2e/test_browser_canvas_keep.py fails with the stock bundle."""
    exports = list(EXPORT.finditer(js))
    if len(exports) != 1:
        raise ValueError(f"expected one default export at the end of the canvas bundle, found {len(exports)}")
    mount = exports[0].group(1)
    instances = re.findall(rf"([\w$]+) = (?:/\* @__PURE__ \*/ )?new WeakMap\(\), {re.escape(mount)} = \(", js)
    if len(instances) != 1:
        raise ValueError(f"expected the canvas instances in a WeakMap before `{mount}`, found {len(instances)}")
    props = PROPS.findall(js)
    if len(props) != 1:
        raise ValueError(f"expected one place where the canvas saves its drawing, found {len(props)}")
    wrapper = (_KEEP_JS.replace("KEEP_FIELD", keep_field).replace("INSTANCES", instances[0])
               .replace("MOUNT(", f"{mount}(").replace("PROPS", props[0]))
    return js[:exports[0].start()] + wrapper.lstrip("\n")


def register_asset_folder(component: str, root: Path, asset_dir: str = "build") -> None:
    """Declare `root/asset_dir` as the assets of v2 component `component` ("package.name") on the running
    Streamlit, as Streamlit does for an installed package that lists it in its pyproject.toml.

    Works around: Streamlit 1.67 serves a v2 component's files by path only from an installed package's
    manifest; our patched canvas bundle lives in a cache folder. A new runtime (each AppTest) starts without it,
    so this is called on every mount. Check: whether st.components.v2.component accepts an asset folder.
    """
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(component) is None:
        package, name = component.split(".")
        manifest = ComponentManifest(name=package, version="1",
                                     components=[ComponentConfig(name=name, asset_dir=asset_dir)])
        manager.register_from_manifest(manifest, root)


def swap_canvas_component(component):
    """Make st_canvas mount `component` instead of its own; return the one it mounted before.

    Works around: streamlit_drawable_canvas.st_canvas (0.13) mounts the module attribute `out` and has no
    argument for another frontend; replacing `out` keeps all its argument and result handling. Check: the
    test reads st_canvas's source for the call `out(`.
    """
    import streamlit_drawable_canvas

    stock, streamlit_drawable_canvas.out = streamlit_drawable_canvas.out, component
    return stock
