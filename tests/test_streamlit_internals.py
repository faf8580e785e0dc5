"""What cnnviz_ui/streamlit_internals/ relies on is still there: after an upgrade of Streamlit, the canvas
component or Plotly, a failure here names the workaround whose ground moved, and what to do about it."""
from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import importlib.util
import inspect
import re
import sys
import threading
from pathlib import Path

import pytest

from cnnviz_ui import canvas_frontend, streamlit_internals as internals
from cnnviz_ui.streamlit_internals.wrapping import WRAPS, is_wrapped, wrap_once

REPO = Path(__file__).resolve().parents[1]
APP_CODE = [REPO / "app.py", *sorted((REPO / "cnnviz").rglob("*.py")), *sorted((REPO / "cnnviz_ui").rglob("*.py")),
            *sorted((REPO / "pages").rglob("*.py"))]
# Streamlit's public modules beside `st`: AppTest, the v1 components API, and the exceptions its API raises.
PUBLIC = ("testing.v1", "components.v1", "errors")
PRIVATE_IMPORT = re.compile(rf"^\s*(?:from|import) (streamlit\.(?!(?:{'|'.join(map(re.escape, PUBLIC))})\b)[\w.]+)",
                            re.M)
PATCHED_NAMES = ("PagesManager", "DeltaGenerator", "streamlit_drawable_canvas.out", "uses_pages_directory",
                 "page_config.is_emoji", "_handle_rerun_script_request", "_create_scriptrunner")


def _internal(path: Path) -> bool:
    """Whether `path` is part of the package that keeps every use of the internals."""
    return path.is_relative_to(REPO / "cnnviz_ui" / "streamlit_internals")


def _versions() -> str:
    return ", ".join(f"{name} {importlib.metadata.version(name)}"
                     for name in ("streamlit", "streamlit-drawable-canvas", "plotly"))


def _canvas_source() -> str:
    """streamlit_drawable_canvas/__init__.py as text (importing it registers a component: runtime only)."""
    return Path(importlib.util.find_spec("streamlit_drawable_canvas").origin).read_text(encoding="utf-8")


def _stock_bundle() -> str:
    (js,) = canvas_frontend.stock_build().glob("index-*.js")
    return js.read_text(encoding="utf-8")


# ---- pages-folder mode: leave_pages_folder_mode, apptest_runs_app_py ------------------------------------------

def test_streamlit_still_has_a_pages_folder_mode_to_leave():
    from streamlit.commands import navigation
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    assert "uses_pages_directory" in vars(PagesManager), (
        f"{_versions()}: PagesManager.uses_pages_directory is gone. leave_pages_folder_mode and "
        "apptest_runs_app_py flip it: check tests/e2e/test_browser_deep_link.py without them and delete both "
        "if a deep link on a fresh server now gets app.py's navigation.")
    runner = inspect.getsource(script_runner)
    assert "PagesManager.uses_pages_directory" in runner, (
        f"{_versions()}: the script runner no longer reads PagesManager.uses_pages_directory, so flipping it does "
        "nothing: delete leave_pages_folder_mode and apptest_runs_app_py if the deep-link browser test passes "
        "without them, else find what now decides between pages/ and st.navigation.")
    assert "uses_pages_directory = False" in inspect.getsource(navigation), (
        f"{_versions()}: st.navigation no longer switches the pages-folder mode off; re-check what "
        "leave_pages_folder_mode assumes (a server behaves as ours once st.navigation has run).")


def test_the_apptest_helper_puts_streamlit_back_as_it_was():
    from streamlit.runtime.pages_manager import PagesManager

    before = PagesManager.__init__
    with internals.apptest_runs_app_py():
        assert PagesManager.__init__ is not before
    assert PagesManager.__init__ is before


MAIN_AT_COLLECTION = sys.modules["__main__"]   # pytest's own, before any test ran


def test_apptest_still_leaves_the_script_it_ran_as_main():
    """Why tests/conftest.py's main_module_kept exists: a spawn pool started after an AppTest run in the same
    process would make its children import AppTest's script, and replace the dying children without end."""
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import streamlit as st\nst.write('hello')", default_timeout=30).run()
    assert sys.modules["__main__"] is not MAIN_AT_COLLECTION, (
        f"{_versions()}: AppTest now puts sys.modules['__main__'] back itself: main_module_kept in "
        "tests/conftest.py can go.")


def test_the_next_test_starts_with_pytests_own_main_again():   # runs after the one above (file order)
    assert sys.modules["__main__"] is MAIN_AT_COLLECTION


# ---- the page icon: known_emoji_icon ------------------------------------------------------------------------

APP_ICON = re.search(r'known_emoji_icon\("([^"]+)"\)', (REPO / "app.py").read_text(encoding="utf-8")).group(1)


def test_the_app_icon_is_an_emoji_in_streamlits_own_catalog():
    from streamlit.emojis import ALL_EMOJIS

    assert APP_ICON in ALL_EMOJIS, (f"{APP_ICON!r} is not in Streamlit's emoji catalog: known_emoji_icon would "
                                    "make set_page_config send a favicon Streamlit itself would refuse")


def test_set_page_config_still_checks_its_icon_through_the_name_we_replace():
    from streamlit.commands import page_config

    source = inspect.getsource(page_config._get_favicon_string)
    assert "is_emoji(page_icon)" in source and "is_emoji" in vars(page_config), (
        f"{_versions()}: set_page_config no longer asks page_config.is_emoji about its icon, so known_emoji_icon "
        "changes nothing: find where the emoji catalog is loaded now (python -X importtime, bench/cold_start.py), "
        "or drop the workaround.")


def test_a_fresh_process_sets_the_app_icon_without_loading_the_emoji_catalog():
    """In a new interpreter (this one may have loaded the catalog already): the favicon Streamlit would send for
    the app's icon, the same with the workaround, without importing streamlit.emojis; any other emoji still goes
    to the catalog."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from streamlit.commands import page_config\n"
        "from cnnviz_ui import streamlit_internals\n"
        f"icon = streamlit_internals.known_emoji_icon({APP_ICON!r})\n"
        "print(page_config._get_favicon_string(icon), 'streamlit.emojis' in sys.modules)\n"
        "print(page_config._get_favicon_string('\\U0001F988'), 'streamlit.emojis' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=True).stdout.split("\n")
    assert out[0] == f"emoji:{APP_ICON} False"
    assert out[1] == "emoji:\U0001F988 True"


# ---- pandas before any chart: import_pandas_whole --------------------------------------------------------------

def test_plotly_still_takes_optional_modules_from_sys_modules_unlocked():
    from _plotly_utils import optional_imports

    source = inspect.getsource(optional_imports.get_module)
    assert "sys.modules.get(name" in source, (
        f"{_versions()}: Plotly's get_module no longer reads sys.modules directly; import_pandas_whole works around "
        "a half-imported pandas seen there. Check whether the race is gone and, if so, drop the call in app.py.")


# ---- the canvas: patch_bundle, keep_drawings, register_asset_folder, swap_canvas_component ----------------------

def test_the_installed_canvas_bundle_still_has_the_shapes_we_patch():
    try:
        internals.keep_drawings(internals.patch_bundle(_stock_bundle(), 30), canvas_frontend.KEEP_FIELD)
    except ValueError as exc:
        pytest.fail(f"{_versions()}: the canvas bundle changed ({exc}). The app now falls back to the stock canvas "
                    "(200 ms before a drawing is sent, drawings lost on a remount): update the patterns in "
                    "streamlit_internals (SENDER, EXPORT, PROPS), or drop the patch if the component now has an "
                    "option for its send delay.")


def test_st_canvas_still_mounts_the_module_attribute_we_swap():
    source = _canvas_source()
    assert re.search(r"^out = st\.components\.v2\.component\(", source, re.M), (
        f"{_versions()}: streamlit_drawable_canvas no longer defines its component as the module attribute `out`; "
        "swap_canvas_component replaces that attribute. Find how st_canvas mounts its component now.")
    assert re.search(r"\bresult = out\(", source), (
        f"{_versions()}: st_canvas no longer calls `out(...)`, so swapping `out` does nothing: the app would run "
        "the stock canvas without a warning. Find how st_canvas mounts its component now.")


def test_streamlit_still_registers_component_assets_from_a_manifest():
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    assert callable(get_bidi_component_manager)
    for method in ("get_component_asset_root", "register_from_manifest"):
        assert hasattr(BidiComponentManager, method), (
            f"{_versions()}: BidiComponentManager.{method} is gone; register_asset_folder uses it to serve the "
            "patched canvas bundle. Look for a public way to give a v2 component an asset folder.")
    fields = set(inspect.signature(ComponentManifest).parameters)
    assert {"name", "version", "components"} <= fields, f"{_versions()}: ComponentManifest takes {sorted(fields)}"
    fields = set(inspect.signature(ComponentConfig).parameters)
    assert {"name", "asset_dir"} <= fields, f"{_versions()}: ComponentConfig takes {sorted(fields)}"


# ---- the quarantine itself ---------------------------------------------------------------------------------------

def test_no_other_app_module_imports_a_private_streamlit_module():
    found = [f"{path.relative_to(REPO)}: {name}" for path in APP_CODE if not _internal(path)
             for name in PRIVATE_IMPORT.findall(path.read_text(encoding="utf-8"))]
    assert found == [], ("Streamlit's internals are used only in cnnviz_ui/streamlit_internals/ (one function "
                         f"per workaround, with its check): move these there: {found}")


def test_no_app_module_or_test_patches_streamlit_or_the_canvas_elsewhere():
    files = APP_CODE + sorted((REPO / "tests").rglob("*.py"))
    found = [f"{path.relative_to(REPO)}: {name}" for path in files
             if not _internal(path) and path.name != Path(__file__).name
             for name in PATCHED_NAMES if name in path.read_text(encoding="utf-8")]
    assert found == [], f"patching Streamlit or the canvas belongs in cnnviz_ui/streamlit_internals/: {found}"


def test_pandas_imported_in_the_background_is_whole_once_a_page_asks_for_it():
    import sys

    assert internals.on_a_server() is False   # no runtime here: AppTest-like processes import pandas in place
    internals.import_pandas_soon()      # a no-op where pandas is already imported (as in most test processes)
    internals.import_pandas_soon()      # never a second thread
    internals.import_pandas_whole()     # what every page but the home page waits on
    assert hasattr(sys.modules["pandas"], "DataFrame")


def test_an_apptest_runtime_is_not_taken_for_a_server():
    """AppTest runs a switched-to page without app.py, so a background pandas import would race its charts."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(
        "import streamlit as st\nfrom cnnviz_ui import streamlit_internals\n"
        "st.write(f'server={streamlit_internals.on_a_server()}')\n").run()
    assert not at.exception and at.markdown[0].value == "server=False"


def test_query_params_still_bind_widgets_the_way_a_following_page_releases_them():
    """class_follow (through streamlit_internals.unbind_link_params / write_link / browser_query_params) relies
    on the session's query-parameter lock, its widget bindings and the rerun's query string."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext
    from streamlit.runtime.state.query_params import QueryParams
    from streamlit.runtime.state.safe_session_state import SafeSessionState

    for cls, name in ((QueryParams, "get_binding_for_param"), (QueryParams, "unbind_widget"),
                      (QueryParams, "update"), (SafeSessionState, "query_params")):
        assert callable(getattr(cls, name, None)), f"{_versions()}: {cls.__name__}.{name} is gone: " \
            "cnnviz_ui/streamlit_internals/link_params.py's unbind_link_params / write_link must be redone"
    assert "query_string" in {f.name for f in dataclasses.fields(ScriptRunContext)}, \
        f"{_versions()}: ScriptRunContext has no query_string: redo streamlit_internals.browser_query_params"


RESTORE_SCRIPT = """
import streamlit as st
from cnnviz_ui import streamlit_internals
st.number_input("Kernel size", 1, 8, 2, key="k", bind="query-params")
st.number_input("Stride", 1, 8, 2, key="s", bind="query-params")
if st.toggle("Padding too", key="show_p"):
    st.number_input("Padding", 0, 4, 0, key="p", bind="query-params")
st.session_state["written"] = streamlit_internals.restore_lost_bound_params()
"""


def test_a_bound_widget_value_the_link_lost_is_written_back_and_a_default_is_not():
    """AppTest's rerun requests carry the query string the test holds, never a widget's new value: the request
    that lost the parameter on a busy server. The widget's value is written back into the link once; a widget
    left at its default stays out of the link."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(RESTORE_SCRIPT, default_timeout=30).run()
    assert at.session_state["written"] == [] and dict(at.query_params) == {}
    at.number_input(key="k").set_value(3).run()
    assert at.session_state["written"] == ["k"] and at.query_params["k"] in ("3", ["3"])
    at.number_input(key="s").set_value(1).run()
    assert at.number_input(key="k").value == 3 and at.query_params["k"] in ("3", ["3"])
    assert at.session_state["written"] == ["s"]            # the link kept k this time: only s was missing
    at.number_input(key="s").set_value(2).run()              # back to the default: no parameter written for it
    assert at.session_state["written"] == [] and at.query_params["k"] in ("3", ["3"])
    at.toggle(key="show_p").set_value(True).run()
    at.number_input(key="p").set_value(1).run()
    assert at.session_state["written"] == ["p"]
    at.query_params.pop("p")                                 # lost again, and this run does not show the widget:
    at.toggle(key="show_p").set_value(False).run()           # it stays out of the link
    assert at.session_state["written"] == [] and "p" not in at.query_params


def test_query_params_still_keep_the_bindings_a_lost_parameter_is_restored_from():
    from streamlit.runtime.state.query_params import QueryParams
    from streamlit.runtime.scriptrunner_utils.shared_run_state import SharedRunState
    from streamlit.runtime.state.session_state import SessionState, WidgetMetadata

    assert "_bindings_by_param" in {f.name for f in dataclasses.fields(QueryParams)}, \
        f"{_versions()}: QueryParams._bindings_by_param is gone: redo streamlit_internals.restore_lost_bound_params"
    for name in ("has_param", "set_corrected_value"):
        assert callable(getattr(QueryParams, name, None)), \
            f"{_versions()}: QueryParams.{name} is gone: redo streamlit_internals.restore_lost_bound_params"
    assert "_new_widget_state" in {f.name for f in dataclasses.fields(SessionState)}
    assert {"serializer", "deserializer", "value_type"} <= {f.name for f in dataclasses.fields(WidgetMetadata)}
    assert "widget_ids_this_run" in SharedRunState().__dict__, \
        f"{_versions()}: SharedRunState.widget_ids_this_run is gone: redo streamlit_internals.restore_lost_bound_params"


# ---- a class: a poll for a page the session has left is dropped (note_page, stale_poll) -------------------------

PAGES = {"hash-class": {"url_pathname": "class_session"}, "hash-pool": {"url_pathname": "pooling"},
         "hash-home": {"url_pathname": ""}}


@pytest.mark.parametrize("auto, fragment, page, shown, dropped", [
    (True, "poller", "hash-class", "pooling", True),    # the browser's timer, for the page the server switched from
    (True, "poller", "hash-pool", "pooling", False),    # the timer of the page the session shows
    (True, "poller", "hash-home", "", False),           # the home page's url path is empty, and still a page
    (True, "poller", "hash-class", "", True),
    (False, "poller", "hash-class", "pooling", False),  # a click or a drawing inside a fragment: never dropped
    (False, "", "hash-class", "pooling", False),        # a full run the browser asked for (a page link): never
    (True, "poller", "unknown", "pooling", False),      # a page this session does not know: left to Streamlit
    (True, "poller", "hash-class", None, False),        # no page noted for the session (not in a class)
])
def test_only_a_timer_poll_for_a_page_the_session_left_is_stale(auto, fragment, page, shown, dropped):
    from streamlit.proto.ClientState_pb2 import ClientState

    state = ClientState(is_auto_rerun=auto, fragment_id=fragment, page_script_hash=page)
    assert internals.stale_poll(state, shown, PAGES) is dropped
    assert internals.stale_poll(None, shown, PAGES) is False


@pytest.mark.parametrize("auto, query, moved, dropped", [
    (True, "pool_kernel=2&pool_stride=2", {"pool_kernel": "2"}, True),   # sent before the follow reached the browser
    (True, "pool_stride=1&pool_kernel=3", {"pool_kernel": "2", "pool_stride": None}, False),   # after: it runs
    (True, "pool_kernel=3", {"pool_kernel": "2", "pool_stride": None}, True),   # a setting the follow added: missing
    (True, "pool_kernel=3&pool_shift=0%2C1", {"pool_shift": "0,-1"}, False),   # a value the page wrote itself since
    (True, "pool_kernel=2", None, False),                                       # no follow under way
    (False, "pool_kernel=2", {"pool_kernel": "2"}, False),                      # the student's own click: never
])
def test_a_timer_poll_from_before_a_follow_on_the_same_page_is_stale(auto, query, moved, dropped):
    from streamlit.proto.ClientState_pb2 import ClientState

    state = ClientState(is_auto_rerun=auto, fragment_id="poller", page_script_hash="hash-pool", query_string=query)
    assert internals.stale_poll(state, "pooling", PAGES, moved) is dropped


def test_a_follow_watches_for_old_values_a_while_and_the_students_own_click_ends_that():
    """`screen` as the wrapped rerun handler asks it (None: dropped): a value from before a follow is dropped for
    MOVED_FOR_S; a click ends the watch (what the student asks for stands); a poll for the page left is dropped
    regardless; a timer poll that runs carries no value for a widget bound to the link, a click keeps them all."""
    from types import SimpleNamespace

    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
    from streamlit.runtime.state.session_state import SessionState

    values = WidgetStates(widgets=[WidgetState(id="kernel-box", int_value=2), WidgetState(id="canvas", json_value="")])

    def poll(query, page="hash-pool", auto=True):
        return ClientState(is_auto_rerun=auto, fragment_id="poller", page_script_hash=page, query_string=query,
                           widget_states=values)

    def dropped(state, now):
        return internals.screen(session, state, now) is None

    session = SimpleNamespace(_pages_manager=SimpleNamespace(get_pages=lambda: PAGES), _session_state=SessionState())
    session._session_state._query_param_bound_widget_ids.add("kernel-box")          # as `bind="query-params"` does
    outside = poll("pool_kernel=2")
    assert internals.screen(session, outside, now=0.0) is outside                       # no page noted: not a class
    setattr(session, internals._SHOWN, "pooling")
    setattr(session, internals._MOVED, ({"pool_kernel": "2"}, 10.0))                   # 2 -> 3, watched until 10
    assert dropped(poll("pool_kernel=2"), now=1.0)
    ran = internals.screen(session, poll("pool_kernel=3"), now=1.0)
    assert [w.id for w in ran.widget_states.widgets] == ["canvas"]                    # the bound box's value: out
    assert ran.query_string == "pool_kernel=3" and ran.is_auto_rerun and ran.fragment_id == "poller"
    assert not dropped(poll("pool_kernel=2"), now=10.0)                                # past it: polls run again
    assert dropped(poll("pool_kernel=2", page="hash-class"), now=10.0)                 # the page left
    click = poll("pool_kernel=2", auto=False)
    assert internals.screen(session, click, now=1.0) is click                          # a click, untouched ...
    assert getattr(session, internals._MOVED) is None
    assert not dropped(poll("pool_kernel=2"), now=1.0)                                 # ... ends the watch
    assert internals.screen(session, None, now=1.0) is None


def test_outside_a_server_no_page_is_noted_and_no_poll_dropped():
    from streamlit.runtime.app_session import AppSession
    from streamlit.testing.v1 import AppTest

    before = AppSession._handle_rerun_script_request
    script = "from cnnviz_ui import streamlit_internals\nstreamlit_internals.note_page('pooling', {'k': '1'}, {})"
    at = AppTest.from_string(script, default_timeout=30).run()
    assert not at.exception
    assert not is_wrapped(AppSession, "_handle_rerun_script_request") and \
        AppSession._handle_rerun_script_request is before


def test_a_browser_rerun_request_and_the_session_pages_are_still_where_note_page_looks():
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.pages_manager import PagesManager

    redo = "cnnviz_ui/streamlit_internals/class_polls.py's note_page"
    assert "self._handle_rerun_script_request(msg.rerun_script)" in inspect.getsource(AppSession.handle_backmsg), (
        f"{_versions()}: a browser's rerun request no longer goes through AppSession._handle_rerun_script_request, so "
        f"a poll for a page the session left runs again (a blank student page): redo {redo}")
    assert "self._pages_manager = PagesManager(" in inspect.getsource(AppSession.__init__), \
        f"{_versions()}: an AppSession keeps no _pages_manager: redo {redo}"
    assert "url_pathname" in inspect.getsource(PagesManager), \
        f"{_versions()}: page infos no longer carry url_pathname: redo {redo}"
    from streamlit.runtime.state.session_state import SessionState
    assert "self._session_state = SessionState()" in inspect.getsource(AppSession.__init__) and \
        hasattr(SessionState, "_omit_query_bound_widget_states"), \
        f"{_versions()}: a session's state no longer leaves out link-bound widgets: redo streamlit_internals.screen"


# ---------------------------------------------------------------- runner_handover: a finished run's last messages

class _Loop:
    """The event loop, stepped by hand: call_later only records what is due."""

    def __init__(self):
        self.due = []

    def call_later(self, delay, fn, *args):
        self.due.append((fn, args))

    def call_soon_threadsafe(self, fn, *args):   # from outside the loop: the loop's own call_later, run there
        fn(*args)

    def step(self):
        due, self.due = self.due, []
        for fn, args in due:
            fn(*args)


class _Runner:
    def __init__(self, takes: bool):
        self.takes, self.asked = takes, []

    def request_rerun(self, data):
        self.asked.append(data)
        return self.takes


class _Session:
    def __init__(self, runner=None, closed=False):
        self._scriptrunner, self.closed, self.started = runner, closed, []


def _start(session, data):
    session.started.append(data)
    session._scriptrunner = _Runner(takes=True)


def _hold(session, loop, data="drawing"):
    from cnnviz_ui.streamlit_internals import runner_handover
    runner_handover.start_or_hold(session, data, _start, loop, lambda s: s.closed)


def test_a_new_run_starts_at_once_when_no_runner_is_finishing():
    session, loop = _Session(), _Loop()
    _hold(session, loop)
    assert session.started == ["drawing"] and loop.due == []


def test_a_new_run_waits_until_the_finished_runner_has_shut_down():
    """The finished runner's last messages (a fragment's answer) are handled before its shutdown event clears it:
    the new run starts only then, so none of them is dropped as coming from a non-current runner."""
    finishing = _Runner(takes=False)
    session, loop = _Session(finishing), _Loop()
    _hold(session, loop)
    assert session.started == [] and len(loop.due) == 1
    loop.step()                                   # still shutting down: it refuses, and the request waits again
    assert session.started == [] and finishing.asked == ["drawing"] and len(loop.due) == 1
    session._scriptrunner = None                  # its shutdown event has been handled
    loop.step()
    assert session.started == ["drawing"] and loop.due == []


def test_a_request_held_back_joins_a_runner_that_started_meanwhile():
    session, loop = _Session(_Runner(takes=False)), _Loop()
    _hold(session, loop)
    running = session._scriptrunner = _Runner(takes=True)   # another request started a run in the meantime
    loop.step()
    assert running.asked == ["drawing"] and session.started == [] and loop.due == []


def test_a_closed_session_starts_nothing_and_a_runner_that_never_shuts_down_is_not_waited_for_ever():
    from cnnviz_ui.streamlit_internals import runner_handover
    session, loop = _Session(_Runner(takes=False)), _Loop()
    _hold(session, loop)
    session.closed = True
    loop.step()
    assert session.started == [] and loop.due == []
    stuck, loop = _Session(_Runner(takes=False)), _Loop()
    _hold(stuck, loop)
    for _ in range(int(runner_handover.GIVE_UP_S / runner_handover.RETRY_S) + 2):
        loop.step()
    assert stuck.started == ["drawing"] and loop.due == []


def test_a_new_script_runner_is_still_made_where_deliver_finished_runs_holds_it_back():
    from streamlit.runtime.app_session import AppSession, AppSessionState
    from streamlit.runtime.scriptrunner import ScriptRunner

    redo = "cnnviz_ui/streamlit_internals/runner_handover.py's deliver_finished_runs"
    request = inspect.getsource(AppSession.request_rerun)
    assert "self._scriptrunner.request_rerun(rerun_data)" in request and \
        "self._create_scriptrunner(rerun_data)" in request, (
            f"{_versions()}: AppSession no longer asks its runner first and then makes a new one: redo {redo}")
    assert list(inspect.signature(AppSession._create_scriptrunner).parameters) == ["self", "initial_rerun_data"], \
        f"{_versions()}: AppSession._create_scriptrunner takes other arguments now: redo {redo}"
    handler = inspect.getsource(AppSession._handle_scriptrunner_event_on_event_loop)
    assert "sender is not self._scriptrunner" in handler and "self._scriptrunner = None" in handler, (
        f"{_versions()}: a non-current runner's events are no longer dropped, or the shutdown no longer clears the "
        f"runner: check whether {redo} is still needed")
    init = inspect.getsource(AppSession.__init__)
    assert "self._event_loop = " in init and "self._state = " in init and \
        hasattr(AppSessionState, "SHUTDOWN_REQUESTED") and hasattr(ScriptRunner, "request_rerun"), \
        f"{_versions()}: an AppSession keeps no _event_loop or _state: redo {redo}"


def test_a_request_held_back_on_the_event_loop_is_looked_at_again_there():
    from cnnviz_ui.streamlit_internals import runner_handover
    session = _Session(_Runner(takes=False))

    async def held():
        loop = asyncio.get_running_loop()
        runner_handover.start_or_hold(session, "drawing", _start, loop, lambda s: s.closed)
        await asyncio.sleep(10 * runner_handover.RETRY_S)
        assert session.started == []
        session._scriptrunner = None
        for _ in range(200):
            if session.started:
                break
            await asyncio.sleep(runner_handover.RETRY_S)

    failed = []
    # a thread of its own: the browser tests before this one leave Playwright's loop running in the main thread
    worker = threading.Thread(target=lambda: failed.extend(_raised(lambda: asyncio.run(held()))))
    worker.start()
    worker.join(30)
    assert failed == [] and session.started == ["drawing"]


def _raised(fn) -> list[BaseException]:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test's own thread
        return [exc]
    return []


def test_wrap_once_wraps_a_method_once_however_often_and_from_however_many_threads_it_is_asked():
    class Owner:
        def greet(self):
            return "hello"

    made = []

    def wrap(original):
        made.append(original)
        return lambda self: original(self) + "!"

    workers = [threading.Thread(target=wrap_once, args=(Owner, "greet", wrap)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wrap_once(Owner, "greet", wrap)
    assert len(made) == 1 and is_wrapped(Owner, "greet") and Owner().greet() == "hello!"
    assert getattr(Owner.greet, WRAPS) is made[0]


def test_deliver_finished_runs_replaces_only_the_runner_factory_and_only_once():
    from streamlit.runtime.app_session import AppSession
    from cnnviz_ui.streamlit_internals import runner_handover

    installed = AppSession._create_scriptrunner
    before = getattr(installed, WRAPS, installed)   # Streamlit's own, where app.py ran in this process already
    try:
        AppSession._create_scriptrunner = before
        runner_handover.deliver_finished_runs()
        patched = AppSession._create_scriptrunner
        runner_handover.deliver_finished_runs()
        assert patched is not before and AppSession._create_scriptrunner is patched
        assert getattr(patched, WRAPS) is before
    finally:
        AppSession._create_scriptrunner = installed
