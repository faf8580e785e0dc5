"""A finished run's last messages reach the browser before the next run takes over (`deliver_finished_runs`)."""
from __future__ import annotations

import asyncio
import logging

from cnnviz_ui.streamlit_internals.wrapping import wrap_once

_LOG = logging.getLogger(__name__)
RETRY_S = 0.002      # how often a held-back request looks again whether the finishing run has handed over
GIVE_UP_S = 2.0      # ... and after how long it starts its run anyway (the runner's shutdown never came)


def hold_back(session) -> bool:
    """Whether a new script runner for `session` (an AppSession) must wait: the previous runner is still there,
    finished but not yet shut down, so its last messages may still be on their way to the session's event loop."""
    return session._scriptrunner is not None


def start_or_hold(session, rerun_data, create, loop, closed, waited: float = 0.0) -> None:
    """Start `session`'s new script runner with `rerun_data` (`create`: Streamlit's own), or, while the previous
    runner has not shut down (`hold_back`), look again RETRY_S later on `loop`; by then a runner that started
    meanwhile takes the request as a rerun (`request_rerun`), as it would have at first. After GIVE_UP_S, start;
    a session that has been closed meanwhile (`closed(session)`) starts nothing."""
    if closed(session):
        return
    if not hold_back(session) or waited >= GIVE_UP_S:
        if waited >= GIVE_UP_S:
            _LOG.warning("a finished script runner did not shut down within %.1f s: starting the next run", waited)
        create(session, rerun_data)
        return
    runner = session._scriptrunner
    if waited > 0 and runner.request_rerun(rerun_data):   # a runner that is running (again) takes it
        return
    _later(loop, start_or_hold, session, rerun_data, create, loop, closed, waited + RETRY_S)


def _later(loop, fn, *args) -> None:
    """fn(*args) RETRY_S from now on `loop`, asked from the loop's own thread or from any other."""
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:   # no loop running in this thread
        on_loop = False
    if on_loop:
        loop.call_later(RETRY_S, fn, *args)
    else:
        loop.call_soon_threadsafe(loop.call_later, RETRY_S, fn, *args)


def deliver_finished_runs() -> None:
    """Install once per process: a browser's rerun request that needs a new script runner while the previous one
    is still shutting down waits until it has, so that what its run sent last (a fragment's answer) is shown.

    Works around: in Streamlit 1.67 a runner that has finished its run refuses further requests
    (`ScriptRunner.request_rerun` is False) before the event loop has handled its last events; `AppSession` then
    starts a new runner at once (`_create_scriptrunner`), and every event of the old one still queued on the loop
    (its last deltas, its end) is dropped as coming from a "non-current ScriptRunner" (logged at debug level
    only). On the Class page, where three fragments poll every second, a student's drawing came back without the
    model's answer (no "Send to the wall" button) about once in 500 drawings in `bench.load --class 2 --follow`:
    the answer's delta was among ~400 messages dropped per 90 s run (bench/NOTES.md §19). Holding the new runner
    back until the old one's shutdown event has been handled (the runner's events reach the loop in order, the
    shutdown last) delivers them all. A full rerun with fastReruns stops the old runner on purpose and clears it
    first, so it never waits here.
    Relies on `AppSession._create_scriptrunner(rerun_data)`, `AppSession._scriptrunner` (None once the shutdown
    event is handled), `AppSession._event_loop`, `AppSession._state` and `ScriptRunner.request_rerun`. Check:
    tests/test_streamlit_internals.py; delete this when Streamlit hands its events over itself."""
    from streamlit.runtime.app_session import AppSession, AppSessionState

    def closed(session) -> bool:
        return session._state == AppSessionState.SHUTDOWN_REQUESTED

    def wrap(create):
        def create_scriptrunner(self, initial_rerun_data) -> None:
            loop = getattr(self, "_event_loop", None)
            if loop is None or not hold_back(self):
                create(self, initial_rerun_data)
                return
            start_or_hold(self, initial_rerun_data, create, loop, closed)
        return create_scriptrunner

    wrap_once(AppSession, "_create_scriptrunner", wrap)
