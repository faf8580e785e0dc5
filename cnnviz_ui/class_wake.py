"""Follow me, pushed: a class's move wakes its following students' pollers in this process at once.

A following student's page polls the class's view every POLL_S (cnnviz_ui/class_follow.py), so a move waited up
to a whole poll before the page even looked. Here one watcher thread per app process reads the view version of
each class followed in this process every TICK_S (one store read per class, however many students) and, when a
class's version is past the one a student's poller last read, wakes that poller now through `wake(session_id,
fragment_id)` (cnnviz_ui.streamlit_internals.wake_fragment: a server-side rerun of the fragment). The poll stays
the fallback: a student in another process, a wake that found the session busy, a store that did not answer.

Each poller run registers its session (`Watcher.register`: the class, the poller's fragment, the version read);
a student who broke away or left is forgotten (`Watcher.forget`), a registration not renewed for STALE_S is
dropped, and so is one whose session this process no longer holds. The thread starts with the first
registration and ends when none is left: a process where nobody follows a class runs nothing. Nothing here
touches Streamlit; a failing read or wake is logged and skipped.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

TICK_S = 0.2        # how often the watcher reads each followed class's version
WAKE_FOR_S = 3.0    # a student still behind a version this long after the watcher saw it is left to its own poll
STALE_S = 15.0      # a registration its poller has not renewed this long is dropped (the poller runs every second)


def read_version(store, code: str) -> int:
    """The class's view version (it moves with every published view and every pause or resume)."""
    from cnnviz import classroom
    return classroom.current_view(store, code).version


@dataclass
class _Seat:
    code: str
    fragment_id: str
    seen: int                          # the version this session's poller last read
    renewed: float                     # when it last registered
    waking: tuple[int, float] | None = None   # the version it is woken for, since when


class Watcher:
    """The sessions following a class in this process, and the thread that wakes them on a move."""

    def __init__(self, wake: Callable[[str, str], bool], read: Callable[[object, str], int] = read_version,
                 tick_s: float = TICK_S, clock: Callable[[], float] = time.monotonic):
        self._wake, self._read, self._tick_s, self._clock = wake, read, tick_s, clock
        self._lock = threading.Lock()
        self._seats: dict[str, _Seat] = {}     # session id -> its seat
        self._stores: dict[str, object] = {}   # class code -> the store its version is read from
        self._failing: set[str] = set()        # classes whose last read failed (said once, not every tick)
        self._thread: threading.Thread | None = None

    def register(self, store, code: str, session_id: str, fragment_id: str, seen_version: int,
                 start: bool = True) -> None:
        """Session `session_id` follows class `code`; its poller is fragment `fragment_id` and just read
        `seen_version`. Starts the watcher thread if none runs (`start`: False in tests that tick by hand)."""
        with self._lock:
            self._seats[session_id] = _Seat(code, fragment_id, seen_version, self._clock())
            self._stores[code] = store
            if start and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cnnviz-class-wake", daemon=True)
                self._thread.start()

    def forget(self, session_id: str) -> None:
        """This session no longer follows (it broke away, left the class, or the class ended)."""
        with self._lock:
            self._seats.pop(session_id, None)

    def sessions(self) -> dict[str, str]:
        """Session id -> class code, for every registered session."""
        with self._lock:
            return {sid: seat.code for sid, seat in self._seats.items()}

    def check(self) -> list[str]:
        """One pass: drop stale registrations, read each followed class's version once, wake every session whose
        poller is behind it (for WAKE_FOR_S at most per version). Returns the sessions woken."""
        now = self._clock()
        with self._lock:
            for sid in [sid for sid, seat in self._seats.items() if now - seat.renewed > STALE_S]:
                del self._seats[sid]
            codes = {seat.code for seat in self._seats.values()}
            self._stores = {code: store for code, store in self._stores.items() if code in codes}
            stores = dict(self._stores)
        versions = {code: version for code, store in stores.items()
                    if (version := self._version(store, code)) is not None}
        with self._lock:
            due = []
            for sid, seat in self._seats.items():
                version = versions.get(seat.code)
                if version is None or version <= seat.seen:
                    seat.waking = None
                    continue
                if seat.waking is None or seat.waking[0] != version:
                    seat.waking = (version, now)
                if now - seat.waking[1] <= WAKE_FOR_S:
                    due.append((sid, seat))
        woken = []
        for sid, seat in due:
            try:
                held = self._wake(sid, seat.fragment_id)
            except Exception as exc:  # noqa: BLE001 - a missed wake leaves the browser's poll to do it
                log.warning("class wake: session %s: %s", sid, exc)
                continue
            if held:
                woken.append(sid)
            else:   # this process holds no such session any more
                with self._lock:
                    if self._seats.get(sid) is seat:
                        del self._seats[sid]
        return woken

    def _version(self, store, code: str) -> int | None:
        try:
            version = self._read(store, code)
        except Exception as exc:  # noqa: BLE001 - StoreUnavailable, a class that ended: the pollers say it
            if code not in self._failing:
                log.warning("class wake: class %s not read (%s); its pages keep their own poll", code, exc)
                self._failing.add(code)
            return None
        self._failing.discard(code)
        return version

    def _run(self) -> None:
        while True:
            time.sleep(self._tick_s)
            with self._lock:
                if not self._seats:   # nobody follows here any more: the thread ends (the next register starts one)
                    self._thread = None
                    return
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the watcher never dies of one bad pass
                log.warning("class wake: %s", exc)
