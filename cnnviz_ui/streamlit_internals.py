"""Every use of Streamlit's internals, or a component's, in one place: each one a workaround.

Each function says what it works around, for which versions, and how to check whether it is still needed.
Written against streamlit 1.67, streamlit-drawable-canvas 0.13 and plotly 6.9. tests/test_streamlit_internals.py
fails, naming the workaround, when an upgrade removes what one of them relies on. Nothing else in the app
imports a private Streamlit module or patches a library's attributes; the tests use `apptest_runs_app_py`.

Checked against the public API of Streamlit 1.67 (2026-12-06):
- `st.navigation` still serves a page file's URL (/pooling) alone, without app.py, on a server where no
  session has run app.py yet, because our pages live in a folder called `pages/`: `leave_pages_folder_mode`
  stays (seen in Chromium: without it a deep link on a fresh server gets no sections and no lecture switch).
- `st.components.v2.component` takes inline JavaScript, but then sends the whole 400 kB canvas bundle with
  every rerun; served as an asset it is fetched once, and only an installed package can declare an asset
  folder publicly (in its pyproject.toml), while our patched bundle is made at run time from whichever canvas
  version is installed, and the app also runs uninstalled: `register_asset_folder` stays.
- `st.set_page_config(page_icon=":shark:")` (an ASCII shortcode) skips the emoji catalog but loads PIL and NumPy
  instead (it tries the text as an image first): `known_emoji_icon` stays.
- `bind="query-params"` covers every widget setting in a link; cnnviz_ui/links.py uses only the public API,
  besides `restore_lost_bound_params` (a parameter a busy server's rerun can drop from the link).
"""
from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from pathlib import Path

import streamlit as st


# ---------------------------------------------------------------- pages: the app's navigation on every URL

def leave_pages_folder_mode() -> None:
    """Switch off Streamlit's pages-folder mode and rerun through app.py, if it is on.

    Works around: Streamlit (1.67 and earlier) sees our `pages/` folder and, until some session has run
    st.navigation in this server process, serves a URL such as /pooling in its old multipage mode: the page
    file runs alone (no app.py: no sections, no lecture switch), for every session, while nobody opens "/".
    That happens to every student who reloads a page after a server restart. Every page imports
    cnnviz_ui.shell, which calls this once per process. Relies on `PagesManager.uses_pages_directory` (a
    class attribute read by the script runner). Check: tests/e2e/test_browser_deep_link.py's fresh-server
    test without this call; or rename `pages/` (st.Page takes any path) and delete this.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@contextlib.contextmanager
def apptest_runs_app_py():
    """For tests: while open, AppTest runs app.py on every page (as a server does once st.navigation ran).

    AppTest resets `PagesManager.uses_pages_directory` before each run and, seeing our `pages/` folder, runs a
    switched-to page alone; cnnviz_ui.shell's switch runs only at its first import in the process. Same
    reliance and check as `leave_pages_folder_mode`.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    try:
        yield
    finally:
        PagesManager.__init__ = original


# ---------------------------------------------------------------- the page icon without the emoji catalog

_known_emoji_lock = threading.Lock()
_known_emojis: set[str] = set()


def known_emoji_icon(icon: str) -> str:
    """Let st.set_page_config take `icon`, an emoji, without loading Streamlit's emoji catalog; returns `icon`.

    Works around: Streamlit 1.67 checks a page icon against its emoji catalog (`string_util.is_emoji`), and the
    catalog's import compiles one regular expression of every emoji: about 0.15 s of CPU on a fresh server, the
    largest single cost of the home page's cold start beyond a bare app (bench/cold_start.py). For our own icon the
    answer is fixed, so the check answers it from a set and asks the catalog about anything else; the favicon
    Streamlit sends is the same (`emoji:<icon>`). Relies on `streamlit.commands.page_config.is_emoji`, a module-level
    name. Check: tests/test_streamlit_internals.py (the icon is in the catalog; a fresh process sets it without
    importing `streamlit.emojis`).
    """
    from streamlit.commands import page_config

    with _known_emoji_lock:
        if not _known_emojis:
            catalog_check = page_config.is_emoji

            def is_emoji(text: str) -> bool:
                return text in _known_emojis or catalog_check(text)

            page_config.is_emoji = is_emoji
        _known_emojis.add(icon)
    return icon


# ---------------------------------------------------------------- pandas before any chart

def import_pandas_whole() -> None:
    """Import pandas completely before this run builds a chart or a table (app.py calls this before every page
    but the home page); returns at once when pandas is already imported, waits when another thread is importing
    it (`import_pandas_soon`).

    Works around: Plotly 6 (`_plotly_utils.optional_imports.get_module(..., should_load=False)`) takes pandas
    from sys.modules without the import lock, so on a fresh server a chart drawn while another session was
    importing pandas (for a table) met a half-made module (AttributeError: partially initialized module
    'pandas'). Check: whether get_module still reads sys.modules directly (tests/test_streamlit_internals.py).
    """
    import pandas  # noqa: F401


_pandas_thread: threading.Thread | None = None
_pandas_lock = threading.Lock()


def _on_a_server() -> bool:
    """True under `streamlit run`; False under AppTest (whose runtime is a stand-in) or with no runtime at all.

    Only a server leaves the pages-folder mode for good (`leave_pages_folder_mode`), so that every page runs
    through app.py and waits for pandas there. AppTest goes back to that mode on every run and runs a switched-to
    page alone, without app.py: a background import there met the Draw page's figures half-way
    (tests/test_pages_model.py). Relies on `Runtime.exists()`/`Runtime.instance()` and AppTest's mock runtime."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def import_pandas_soon() -> None:
    """Start importing pandas in a background thread, once per server process (app.py calls this after the page
    ran; elsewhere, see `_on_a_server`, pandas is imported where it is first used).

    The home page draws no chart and no table, so a cold start shows it without paying for pandas (about 0.4 s
    of CPU, a third of what the app adds to a bare Streamlit app's start); every other page waits for the import
    to finish through `import_pandas_whole` before it runs, so no chart can meet a half-imported pandas.
    """
    global _pandas_thread
    if not _on_a_server():
        return
    with _pandas_lock:
        if _pandas_thread is None and "pandas" not in sys.modules:
            _pandas_thread = threading.Thread(target=import_pandas_whole, name="cnnviz-import-pandas", daemon=True)
            _pandas_thread.start()


# ---------------------------------------------------------------- the drawing canvas's frontend

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
// cnnviz (cnnviz_ui/streamlit_internals.py): a canvas mounted again keeps its drawing and sends it.
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



# ---------------------------------------------------------------- a class: following the instructor's link

def browser_query_params() -> dict[str, str]:
    """The query parameters the browser sent with this rerun (its address bar), as text.

    Works around: st.query_params reports what the session holds, which a widget's own URL sync may already have
    changed; a following student's page (cnnviz_ui/class_follow.py) must see what the address bar really shows.
    Relies on `ScriptRunContext.query_string` (Streamlit 1.67). Check: tests/test_streamlit_internals.py."""
    from urllib.parse import parse_qsl

    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return dict(parse_qsl(ctx.query_string)) if ctx is not None else {}


def unbind_link_params(keys) -> None:
    """Release the link parameters `keys` bound to widgets (each binds again when its widget runs next).

    Works around: Streamlit 1.67 refuses to set a query parameter a widget is bound to (bind="query-params"), so a
    following student's page could not take the instructor's link on the same page. st.switch_page holds this same
    lock on the session's query parameters. Relies on `SessionState.query_params()`,
    `QueryParams.get_binding_for_param` and `QueryParams.unbind_widget`. Check: tests/test_streamlit_internals.py;
    delete it if a later Streamlit lets st.query_params or st.switch_page write a bound parameter."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    with ctx.session_state.query_params() as qp:
        for key in keys:
            binding = qp.get_binding_for_param(key)
            if binding is not None:
                qp.unbind_widget(binding.widget_id)


def write_link(params: dict[str, str]) -> None:
    """Write the whole link (query parameters) at once, under the session's query-parameter lock.
    Relies on what `unbind_link_params` relies on, and `QueryParams.update`."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    with ctx.session_state.query_params() as qp:
        qp.update(params)


def restore_lost_bound_params() -> list[str]:
    """Write back into the link every widget-bound parameter it lost while its widget still holds a value other
    than its default; returns the keys written.

    Works around: Streamlit 1.67 rebuilds a session's query parameters from the query string each rerun request
    carries. Seen in Chromium on a busy server: the instructor's Pooling page showed kernel 3 while its link, and
    so the view the class followed, had lost `pool_kernel` (a request sent before the address bar took the new
    value). Streamlit puts such a parameter back only for a key set through st.session_state. Relies on
    `QueryParams._bindings_by_param` / `has_param` / `set_corrected_value` and the session's widget metadata
    (`SessionState._new_widget_state.widget_metadata`, each with `serializer`, `deserializer`, `value_type`) and
    `ScriptRunContext.shared.widget_ids_this_run` (a widget this run did not show keeps out of the link).
    Check: tests/test_streamlit_internals.py; delete it if Streamlit restores the parameter itself."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return []
    widgets, shown = ctx.session_state._state._new_widget_state.widget_metadata, ctx.shared.widget_ids_this_run
    written = []
    with ctx.session_state.query_params() as qp:
        for key, binding in list(qp._bindings_by_param.items()):
            meta = widgets.get(binding.widget_id)
            if meta is None or binding.widget_id not in shown or qp.has_param(key) or key not in st.session_state:
                continue
            value = st.session_state[key]
            if value != meta.deserializer(None):
                qp.set_corrected_value(key, meta.serializer(value), meta.value_type)
                written.append(key)
    return written


# ---------------------------------------------------------------- a class: a student's page moved by the server

_SHOWN = "_cnnviz_shown_page"   # on an AppSession: the url path of the page its last full run showed (note_page)
_MOVED = "_cnnviz_moved_link"   # on an AppSession: ({key: value before}, until) what a follow just changed (note_page)
MOVED_FOR_S = 6.0   # how long a poll with a value from before the follow is dropped: the page run, and the way back
_polls_lock = threading.Lock()
_polls_patched = False


def note_page(url_path: str, link: dict[str, str] | None = None, before: dict[str, str] | None = None) -> None:
    """Record that this session shows (or is being switched to) page `url_path`; from then on a browser's timer
    poll naming another page is dropped for this session (`stale_poll`). With `link` (a following student's page
    moved to the instructor's view, whose link parameters were `before`): for MOVED_FOR_S, a timer poll that
    still carries a value from before for a parameter the move changed is dropped too, until the session's own
    next click or drawing. Nothing outside a server (AppTest).

    Works around: in Streamlit 1.67 a timer poll (the rerun of a `run_every` fragment) that the browser sent just
    before a server-side `st.switch_page` (a following student's page moved by its poller,
    cnnviz_ui/class_follow.py) runs after the switch, with what the browser showed before it:
    - its page: the run announces the page the browser has left. Chromium's app then cleared the new page and
      failed on the next fragment ("Bad delta path index"), a blank page; a client that trusts the announcement
      (bench/protocol_student.py) shows the old page, so the student did not follow.
    - its link and widget values: merged into the switch's run (`ScriptRequests` coalesces a pending rerun, the
      later request's query string and widget states winning), they put the instructor's kernel size back to the
      student's old one (seen in the browser class test: the student's box kept 2 under a link saying 3).
    A dropped poll costs nothing: the next one comes a poll interval later, with what the browser shows then.
    Only timer polls are dropped (`ClientState.is_auto_rerun` with a fragment id), never a click or a drawing,
    and only for a session whose page was noted. The page is ours to record: a first try compared with
    `AppSession._client_state.page_script_hash` instead (replaced by the script runner's copy whenever a run
    ends) and missed 10-23 of 320 follows in `bench.load --follow`, against none with the noted page. Relies on
    `Runtime.get_app_session`, `AppSession._handle_rerun_script_request` (the browser's rerun request) and
    `AppSession._pages_manager`'s `get_pages()` (page hash → url path), and for `screen`, `AppSession._session_state`
    and `SessionState._omit_query_bound_widget_states`. Check: tests/test_streamlit_internals.py; delete it when
    Streamlit drops such a poll itself."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not _on_a_server():
        return
    session = Runtime.instance().get_app_session(ctx.session_id)
    if session is None:
        return
    _drop_stale_polls()
    if link is not None:
        before = before or {}
        changed = {k: before.get(k) for k in set(link) | set(before) if link.get(k) != before.get(k)}
        setattr(session, _MOVED, (changed, time.monotonic() + MOVED_FOR_S))
    elif getattr(session, _SHOWN, None) != url_path:   # another page than the one a follow moved it to
        setattr(session, _MOVED, None)
    setattr(session, _SHOWN, url_path)


def stale_poll(client_state, shown: str | None, pages: dict, moved: dict[str, str | None] | None = None) -> bool:
    """Whether a browser's rerun request (`ClientState`) is a timer poll for another page than `shown`, the url
    path noted for the session (None: nothing noted), or one whose link still holds, for a parameter a follow just
    changed, its value from before (`moved`: key -> that value, None where it was absent); `pages` maps page
    hashes to Streamlit's page infos. A value the page wrote itself since (neither before nor the instructor's)
    is not stale."""
    if client_state is None or shown is None or not (client_state.is_auto_rerun and client_state.fragment_id):
        return False
    asked = pages.get(client_state.page_script_hash)
    if asked is not None and asked.get("url_pathname") != shown:
        return True
    if moved:
        from urllib.parse import parse_qs
        link = {k: v[-1] for k, v in parse_qs(client_state.query_string, keep_blank_values=True).items()}
        return any(link.get(k) == old for k, old in moved.items())
    return False


def screen(session, client_state, now: float):
    """What the wrapped rerun handler runs for `session` (an AppSession): None to drop the request (`stale_poll`),
    else the request, a class student's timer poll less the values of widgets bound to the link. A poll that
    came in while the poller was still running sits in the session's queue; the switch's rerun that follows is
    merged with it and keeps its widget values (`_coalesce_widget_states` keeps the older states when the newer
    request has none), so a box the move had set to 3 went back to the 2 the browser still showed. A timer poll
    never carries a student's own change (each click or entry sends its own request), and for a widget bound to
    the link the link is what counts: Streamlit leaves them out the same way when the browser goes back in
    history. A request that is not a timer poll (a click, a drawing) ends the follow's watch: the student acted."""
    shown = getattr(session, _SHOWN, None)
    if shown is None or client_state is None:
        return client_state
    if not (client_state.is_auto_rerun and client_state.fragment_id):
        setattr(session, _MOVED, None)
        return client_state
    moved = getattr(session, _MOVED, None)
    live = moved[0] if moved is not None and now < moved[1] else None
    if stale_poll(client_state, shown, session._pages_manager.get_pages(), live):
        return None
    kept = session._session_state._omit_query_bound_widget_states(client_state.widget_states)
    if kept is client_state.widget_states:
        return client_state
    from streamlit.proto.ClientState_pb2 import ClientState
    screened = ClientState()
    screened.CopyFrom(client_state)
    screened.widget_states.CopyFrom(kept)
    return screened


def _drop_stale_polls() -> None:
    global _polls_patched
    if _polls_patched:
        return
    from streamlit.runtime.app_session import AppSession

    with _polls_lock:
        if _polls_patched:
            return
        handle = AppSession._handle_rerun_script_request

        def handle_rerun_script_request(self, client_state=None):
            screened = screen(self, client_state, time.monotonic())
            if screened is None and client_state is not None:   # a stale poll: dropped
                return
            handle(self, screened)

        AppSession._handle_rerun_script_request = handle_rerun_script_request
        _polls_patched = True
