"""A class: a student's page moved by the server, and the browser's timer polls from before the move."""
from __future__ import annotations

import time

from cnnviz_ui.streamlit_internals.link_params import link_of
from cnnviz_ui.streamlit_internals.server import on_a_server
from cnnviz_ui.streamlit_internals.wrapping import wrap_once


_SHOWN = "_cnnviz_shown_page"   # on an AppSession: the url path of the page its last full run showed (note_page)
_MOVED = "_cnnviz_moved_link"   # on an AppSession: ({key: value before}, until) what a follow just changed (note_page)
MOVED_FOR_S = 6.0   # how long a poll with a value from before the follow is dropped: the page run, and the way back


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
    - its link and widget values. A poll that came in while the poller ran waits in the session's queue and is
      merged with the switch's rerun (`ScriptRequests`: the newer request's link wins, but the widget values are
      the older one's when the newer has none); one that comes in later runs next, with the old link. Either way
      the instructor's kernel size went back to the student's old one (seen in the browser class test: the box
      kept 2 under a link saying 3). `screen` leaves link-bound widget values out of a student's timer polls,
      and a poll with a link value from before the move is dropped.
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
    if ctx is None or not on_a_server():
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
        link = link_of(client_state.query_string)
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
    if len(kept.widgets) == len(client_state.widget_states.widgets):   # no bound value in it: nothing to copy
        return client_state
    from streamlit.proto.ClientState_pb2 import ClientState
    screened = ClientState()
    screened.CopyFrom(client_state)
    screened.widget_states.CopyFrom(kept)
    return screened


def _drop_stale_polls() -> None:
    from streamlit.runtime.app_session import AppSession

    def wrap(handle):
        def handle_rerun_script_request(self, client_state=None):
            screened = screen(self, client_state, time.monotonic())
            if screened is None and client_state is not None:   # a stale poll: dropped
                return
            handle(self, screened)
        return handle_rerun_script_request

    wrap_once(AppSession, "_handle_rerun_script_request", wrap)
