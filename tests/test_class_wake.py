"""cnnviz_ui/class_wake.py: the watcher that wakes following students' pollers when their class's view moves,
with a fake store (a dict of versions, or a real SQLite class store) and a fake wake that records its calls."""
from __future__ import annotations

import threading

import pytest

from cnnviz import classroom
from cnnviz.class_store import StoreUnavailable, open_store
from cnnviz_ui import class_wake
from cnnviz_ui.class_wake import STALE_S, WAKE_FOR_S, Watcher

STORE = object()   # what a registration hands over; the fake read below ignores it


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Class:
    """A fake class store: the view version of each class code; a code in `down` fails like an unreachable store."""

    def __init__(self, **versions: int):
        self.versions, self.down, self.reads = dict(versions), set(), []

    def read(self, store, code: str) -> int:
        self.reads.append(code)
        if code in self.down:
            raise StoreUnavailable("the store is down")
        return self.versions[code]


class Wake:
    def __init__(self, gone=()):
        self.calls, self.gone = [], set(gone)

    def __call__(self, session_id: str, fragment_id: str) -> bool:
        self.calls.append((session_id, fragment_id))
        return session_id not in self.gone


def watcher(store: Class, wake: Wake, clock: Clock) -> Watcher:
    return Watcher(wake, read=store.read, clock=clock)


def test_a_move_wakes_the_pollers_behind_it_once_they_read_it_no_more():
    store, wake, clock = Class(A=3), Wake(), Clock()
    w = watcher(store, wake, clock)
    w.register(STORE, "A", "s1", "f1", 3, start=False)
    w.register(STORE, "A", "s2", "f2", 3, start=False)
    assert w.check() == [] and wake.calls == []                  # nothing moved
    store.versions["A"] = 4
    assert sorted(w.check()) == ["s1", "s2"] and sorted(wake.calls) == [("s1", "f1"), ("s2", "f2")]
    w.register(STORE, "A", "s1", "f1b", 4, start=False)          # s1's poller ran (on another page: a new fragment)
    wake.calls.clear()
    clock.now += 0.2
    assert w.check() == ["s2"] and wake.calls == [("s2", "f2")]  # s2 busy: woken again until its poller reads it
    w.register(STORE, "A", "s2", "f2", 4, start=False)
    wake.calls.clear()
    assert w.check() == [] and wake.calls == []
    store.versions["A"] = 5
    assert sorted(w.check()) == ["s1", "s2"] and ("s1", "f1b") in wake.calls   # the fragment it registered last


def test_one_read_per_class_per_pass_however_many_students():
    store, wake, clock = Class(A=1, B=1), Wake(), Clock()
    w = watcher(store, wake, clock)
    for i in range(30):
        w.register(STORE, "AB"[i % 2], f"s{i}", f"f{i}", 1, start=False)
    w.check()
    assert sorted(store.reads) == ["A", "B"]


def test_only_the_following_sessions_of_the_class_that_moved_are_woken():
    store, wake, clock = Class(A=1, B=1), Wake(), Clock()
    w = watcher(store, wake, clock)
    w.register(STORE, "A", "a1", "fa1", 1, start=False)
    w.register(STORE, "A", "a2", "fa2", 1, start=False)
    w.register(STORE, "B", "b1", "fb1", 1, start=False)
    w.forget("a2")                                               # broke away
    store.versions["A"] = 2
    assert w.check() == ["a1"] and wake.calls == [("a1", "fa1")]
    assert w.sessions() == {"a1": "A", "b1": "B"}


def test_a_student_left_behind_too_long_is_left_to_its_own_poll():
    store, wake, clock = Class(A=7), Wake(), Clock()
    w = watcher(store, wake, clock)
    w.register(STORE, "A", "s1", "f1", 6, start=False)          # a poller that never reports the new version
    assert w.check() == ["s1"]
    clock.now += WAKE_FOR_S / 2
    assert w.check() == ["s1"]
    clock.now += WAKE_FOR_S
    assert w.check() == []
    store.versions["A"] = 8                                      # the next move: woken again
    assert w.check() == ["s1"]


def test_stale_registrations_and_sessions_this_process_no_longer_holds_are_dropped():
    store, wake, clock = Class(A=1), Wake(gone={"closed"}), Clock()
    w = watcher(store, wake, clock)
    w.register(STORE, "A", "closed", "f1", 1, start=False)
    w.register(STORE, "A", "quiet", "f2", 1, start=False)
    clock.now += STALE_S / 2
    w.register(STORE, "A", "live", "f3", 1, start=False)
    store.versions["A"] = 2
    assert sorted(w.check()) == ["live", "quiet"]               # "closed": the wake found no such session
    assert set(w.sessions()) == {"live", "quiet"}
    clock.now += STALE_S / 2 + 1                                 # "quiet" stopped polling (its page was closed)
    w.register(STORE, "A", "live", "f3", 2, start=False)
    store.versions["A"] = 3
    assert w.check() == ["live"] and set(w.sessions()) == {"live"}


def test_a_store_error_or_a_failing_wake_is_skipped_and_the_rest_still_woken():
    store, wake, clock = Class(A=1, B=1), Wake(), Clock()
    w = watcher(store, wake, clock)
    w.register(STORE, "A", "a1", "fa", 1, start=False)
    w.register(STORE, "B", "b1", "fb", 1, start=False)
    store.versions.update(A=2, B=2)
    store.down.add("A")
    assert w.check() == ["b1"]
    store.down.clear()
    assert "a1" in w.check()                                     # the store is back: A's move reaches its student

    def broken(session_id, fragment_id):
        raise RuntimeError("event loop closed")
    w2 = Watcher(broken, read=store.read, clock=clock)
    w2.register(STORE, "A", "a1", "fa", 1, start=False)
    assert w2.check() == [] and w2.sessions() == {"a1": "A"}    # kept: the next move may wake it


def test_the_version_is_read_from_a_real_class_store(tmp_path):
    store = open_store(f"sqlite://{tmp_path / 'classes.sqlite3'}")
    try:
        code, key = classroom.start_class(store)
        before = class_wake.read_version(store, code)
        classroom.publish_view(store, code, key, "pooling", {"pool_kernel": "3"})
        assert class_wake.read_version(store, code) > before
        w = Watcher(Wake(), clock=Clock())
        w.register(store, code, "s1", "f1", before, start=False)
        assert w.check() == ["s1"]
    finally:
        store.close()


def test_the_thread_wakes_on_a_move_and_ends_when_nobody_follows():
    store, woken = Class(A=1), threading.Event()

    def wake(session_id, fragment_id):
        woken.set()
        return True
    w = Watcher(wake, read=store.read, tick_s=0.01)
    w.register(STORE, "A", "s1", "f1", 1)
    thread = w._thread
    assert thread is not None and thread.daemon                  # never keeps the process alive
    store.versions["A"] = 2
    assert woken.wait(30)
    w.forget("s1")
    thread.join(30)
    assert not thread.is_alive() and w._thread is None
    w.register(STORE, "A", "s1", "f1", 2)                        # the next registration starts a new one
    assert w._thread is not None and w._thread is not thread
    w.forget("s1")
    w._thread.join(30)


@pytest.mark.parametrize("following", [True, False])
def test_a_poller_outside_a_server_registers_nothing(following, monkeypatch):
    """Under AppTest or without a runtime there is no fragment to wake: class_follow leaves the watcher alone."""
    from cnnviz_ui import class_follow
    registered = []
    monkeypatch.setattr(class_follow._WATCHER, "register", lambda *a, **k: registered.append(a))
    class_follow._watch("ABCDEF", following, 3)
    assert registered == []

