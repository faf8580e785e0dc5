"""Follow me: the instructor's view published, the students' pages following it (the seat itself: class_seat).

app.py calls `follow(page)` before every page and `publish(page)` after it. For a browser in no class both do
nothing (no store is opened). An instructor's run publishes its page and query parameters (less lecture mode)
whenever they change; a student's page carries a small poller (a fragment rerun every second) that switches to
the instructor's view when its version moves, shows the pause banner and freezes the page while the class is
paused, and offers "Break away" / "Follow again". Nothing here may break a page: a store that cannot be reached
or a class that ended is said in one line, and the page below runs as usual.
"""
from __future__ import annotations

import logging
import time

import streamlit as st
from streamlit.errors import StreamlitAPIException

from cnnviz_ui import links, pages_list, streamlit_internals
from cnnviz_ui.class_seat import (  # noqa: F401 -- the seat's names, used through this module too
    COOKIE, SEAT, Seat, _PUBLISHED, act, cookie_script, cookie_value, new_student_id, parse_cookie, seat, store,
    take_seat)

log = logging.getLogger(__name__)

_PAGE = "_class_page"         # url path of the page this run shows
POLL_S = 1.0                  # a student's poller: the view lands within POLL_S + one page run
LEAD_POLL_S = 2.0             # the instructor's: catches settings a fragment changed (a stepper's step)
RETRY_EVERY_S = 3.0           # a view that did not fully land is applied again, at most this often ...
RETRY_FOR_S = 20.0            # ... and only this long after it appeared (a page that rewrites its own link cannot loop)
_TRIES = "_class_follow_tries"  # how many times the current view was applied
_SEEN_AT = "_class_follow_seen_at"    # when (time.monotonic) this page first acted on the current view
_TRIED_AT = "_class_follow_tried_at"  # when it last applied it

# A following student's page that Streamlit's app left blank ("Bad delta path index": a fragment's output landing
# in a page the browser has already replaced, seen under heavy load after a follow) reloads itself: the new session
# finds its seat from the cookie and the instructor's view from the store. At most once in 30 s, so never a loop.
# (Its own element is hidden, so that the bar keeps its height.)
BLANK_ERROR = "Bad delta path index"   # how Streamlit's app words the error that leaves the page blank
BLANK_GUARD_JS = """<style>
.st-key-class_bar [data-testid="stElementContainer"]:has(.cnnviz-blank-guard) { display: none; }
</style><span class="cnnviz-blank-guard"></span><script>
(() => {
  const w = window.top;
  if (w.__cnnvizBlankGuard) return;
  w.__cnnvizBlankGuard = true;
  const reload = (error) => {
    const text = String((error && (error.message || error)) || '');
    if (!text.includes('%(error)s')) return;
    const last = +(w.sessionStorage.getItem('cnnviz-blank-reload') || 0);
    if (Date.now() - last < 30000) return;
    w.sessionStorage.setItem('cnnviz-blank-reload', String(Date.now()));
    w.setTimeout(() => w.location.reload(), 300);
  };
  w.addEventListener('error', (e) => reload(e.error || e.message));
  w.addEventListener('unhandledrejection', (e) => reload(e.reason));
})();
</script>""" % {"error": BLANK_ERROR}

PAUSED_CSS = """<style>
[data-testid="stMain"] .stMainBlockContainer, [data-testid="stSidebar"] { pointer-events: none; }
.st-key-class_bar { pointer-events: auto; }
</style>"""


# ---------------------------------------------------------------- the per-run hook

def _params() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params if k != links.LECTURE}


def follow(page) -> None:
    """Before the page runs: the instructor's lead line (sidebar) or the student's poller (top of the page)."""
    try:
        st.session_state[_PAGE] = page.url_path
        current = seat()
        if current is None:
            return
        if current.instructor:
            if current.lead:  # a widget the instructor changed is in the URL already: publish before the page runs
                _publish(current, page.url_path)
            with st.sidebar:
                _lead_bar()
        else:
            streamlit_internals.note_page(page.url_path)   # a poll sent for another page is dropped from now on
            _student_bar()
    except Exception as exc:  # noqa: BLE001 - the hook never breaks a page (Streamlit's own stop/rerun pass)
        log.warning("class follow hook: %s", exc)


def publish(page) -> None:
    """After the instructor's page has run: its view, when it changed, becomes the class's view."""
    try:
        current = st.session_state.get(SEAT)
        if current is not None and current.instructor and current.lead:
            _publish(current, page.url_path)
    except Exception as exc:  # noqa: BLE001 - as above: a store problem never breaks the instructor's page
        log.warning("class publish: %s", exc)


def _publish(current: Seat, url_path: str) -> None:
    view = (url_path, _params())
    if st.session_state.get(_PUBLISHED) == view:
        return
    from cnnviz import classroom
    classroom.publish_view(store(), current.code, current.key, *view)
    st.session_state[_PUBLISHED] = view


@st.fragment(run_every=LEAD_POLL_S)
def _lead_bar() -> None:
    current = st.session_state.get(SEAT)
    if current is None or not current.instructor:
        return
    with st.container(key="class_lead"):
        current.lead = st.toggle(f"Class {current.code}: students follow me", value=current.lead,
                                 key="class_lead_toggle", help="Every following student's page shows what yours "
                                 "shows (page and settings), within about 2 seconds.")
        if current.lead:
            try:
                _publish(current, st.session_state.get(_PAGE, ""))
            except Exception as exc:  # noqa: BLE001 - StoreUnavailable, ClassError: said, never raised
                st.caption(f"Not published: {exc}")


def _entry(url_path: str):
    return next((e for e in pages_list.PAGES if e.url_path == url_path), None)


def _go(view) -> None:
    """Switch this student's page to the instructor's view (page and link parameters)."""
    entry = _entry(view.page)
    if entry is None:
        return
    streamlit_internals.note_page(view.page, view.params, _params())   # a poll from before the move must not run
    if view.page != st.session_state.get(_PAGE):
        for key in view.params:  # a widget state left from an earlier visit must not win over the link
            st.session_state.pop(key, None)
        st.switch_page(entry.file, query_params=dict(view.params))
    for key in set(_params()) | set(view.params):   # the same page: each setting takes the instructor's value
        _set_param(key, view.params.get(key))
    _unbind(view.params)   # so that the switch may write the whole link (the widgets hold the values already)
    st.switch_page(entry.file, query_params=dict(view.params))


def _sync_link(current: Seat, view) -> None:
    """Once per view: when the browser's address bar lost part of the view's link (a widget's own URL sync can drop
    a parameter the page shows), write the link again. The browser's query string comes with every rerun."""
    shown = {k: v for k, v in streamlit_internals.browser_query_params().items() if k != links.LECTURE}
    if all(shown.get(k) == v for k, v in view.params.items()):
        return
    current.synced = view.version
    _unbind(view.params)
    streamlit_internals.write_link({**shown, **view.params})


def _unbind(params: dict[str, str]) -> None:
    """Release the link parameters bound to widgets (each binds again when its widget runs)."""
    streamlit_internals.unbind_link_params(params)


def _set_param(key: str, text: str | None) -> None:
    """One link parameter set to `text` (None: back to its default): the link, and where a widget holds the
    setting, the widget's own value too. A bound widget's parameter cannot be set in the link (Streamlit refuses);
    and a widget whose state missed an earlier view keeps that state over a link that already holds the text, so
    the link alone could never correct it."""
    try:
        if text is None:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != text:
            st.query_params[key] = text
    except StreamlitAPIException:  # bound to a widget: "modify the widget value instead"
        pass
    if not links.held_by_widget(key):
        return
    value = None if text is None else _widget_value(key, text)
    if value is None:
        st.session_state.pop(key, None)  # the widget starts again from its default (or the link)
    else:
        st.session_state[key] = value


def _widget_value(key: str, text: str):
    """The value a bound widget shows for the URL text `text`, read the way links.py writes it: a labelled option
    by its label, a switch as true/false, numbers as numbers; None when it cannot be read."""
    labels = links.labels_of(key)
    if labels:
        return next((value for value, label in labels.items() if str(label) == text), None)
    current = st.session_state.get(key)
    try:
        if isinstance(current, bool):
            return text == "true"
        if isinstance(current, int):
            return int(float(text))
        if isinstance(current, float):
            return float(text)
    except ValueError:
        return None
    return text


def _landed(view) -> bool:
    """Whether this page shows the instructor's view: the same page, and every setting of the view held by its
    widget (a bound widget's value, read the way links.py writes it) or, for a setting that is not one widget (a
    custom setting such as the pooling window's shift, a tuple in session state), by the link. Comparing such a
    tuple with the link's text found the view never landed: the poller re-ran the whole page every few seconds."""
    if view.page != st.session_state.get(_PAGE):
        return False
    shown = _params()
    for key, text in view.params.items():
        if links.held_by_widget(key):
            if st.session_state[key] != _widget_value(key, text):
                return False
        elif shown.get(key) != text:
            return False
    return True


def _apply(view) -> None:
    st.session_state[_TRIES] = st.session_state.get(_TRIES, 0) + 1
    st.session_state[_TRIED_AT] = time.monotonic()
    _go(view)


def _may_retry() -> bool:
    """Whether a view that has not landed may be applied again now: RETRY_EVERY_S after the last try (a slow page
    run gets the time to land), within RETRY_FOR_S of the view's first appearance on this page. Bounded by time,
    not by a count: under load a count is spent before the first slow run has even ended."""
    now = time.monotonic()
    seen_at = st.session_state.setdefault(_SEEN_AT, now)   # a view acted on before this session: from now
    tried_at = st.session_state.get(_TRIED_AT)
    return now - seen_at < RETRY_FOR_S and (tried_at is None or now - tried_at >= RETRY_EVERY_S)


@st.fragment(run_every=POLL_S)
def _student_bar() -> None:
    try:
        _follow_view()
    except Exception as exc:  # noqa: BLE001 - the poller never breaks a page (Streamlit's stop/rerun pass)
        log.warning("class follow poller: %s", exc)


def _follow_view() -> None:
    current = st.session_state.get(SEAT)
    if current is None or current.instructor:
        return
    from cnnviz import classroom
    from cnnviz.class_store import StoreUnavailable
    with st.container(key="class_bar"):
        st.html(BLANK_GUARD_JS, unsafe_allow_javascript=True)
        try:
            view = classroom.current_view(store(), current.code)
        except StoreUnavailable as exc:
            st.caption(f"Class {current.code}: not reachable just now ({exc}). This page works as usual.")
            return
        except ValueError as exc:  # ClassError: the class ended
            take_seat(None)
            st.info(f"Class {current.code} has ended: {exc}")
            return
        if view.paused:
            st.html(PAUSED_CSS)
            st.warning(f"**Class {current.code} is paused by the instructor:** eyes on the projector. This page is "
                       "frozen until the instructor resumes.", icon=":material/pause_circle:")
            return
        if current.following and view.version and view.version != current.seen_version:  # 0: nothing published
            current.seen_version = view.version
            st.session_state[_SEEN_AT] = time.monotonic()
            st.session_state[_TRIES] = 0
            if view.page is not None and (view.page, dict(view.params)) != (st.session_state.get(_PAGE), _params()):
                _apply(view)
        elif current.following and view.page is not None and not _landed(view) and _may_retry():
            # the view did not fully land (a setting lost on the way, or a page run slowed by a busy server that
            # ended with the old value): again, every few seconds for a while, never for ever
            _apply(view)
        elif current.following and view.page == st.session_state.get(_PAGE) and current.synced != view.version:
            _sync_link(current, view)
        text, button = st.columns([5, 1.3], vertical_alignment="center")
        if current.following:
            text.caption(f"Class {current.code}: you follow the instructor's page.")
            if button.button("Break away", key="class_break_away", icon=":material/call_split:",
                             help="Explore on your own; the instructor's moves no longer move your page"):
                current.following = False
                st.rerun()
        else:
            text.caption(f"Class {current.code}: you explore on your own.")
            if button.button("Follow again", key="class_follow_again", icon=":material/group:",
                             help="Back to the instructor's page, and follow it from now on"):
                current.following, current.seen_version = True, -1
                st.rerun()
