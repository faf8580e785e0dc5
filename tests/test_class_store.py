"""The class store (cnnviz.class_store): SQLite and Redis give the same small atomic operations.

Every test runs against both backends: a temporary SQLite file, and a redis-server started for this test
session as `deploy/serve_class.py --redis` starts one (deploy/class_store.py: a free port, a random password) in a
temporary folder (stopped at the end). Where redis-server is missing, the Redis
cases fail with a message naming the package (scripts/test.sh installs it): they are never skipped.
tests/test_classroom_logic.py uses the same Redis fixture and `empty_store_url`.
"""
from __future__ import annotations

import gc
import multiprocessing
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cnnviz import class_store
from cnnviz.class_store import NoSuchClass, StoreUnavailable, open_store
from deploy import class_store as deployed

BACKENDS = ["sqlite", "redis"]


def start_redis() -> tuple[subprocess.Popen, str, Path]:
    """A throwaway redis-server on a free loopback port, started and checked by deploy/class_store.py:
    (process, URL, its folder)."""
    folder = Path(tempfile.mkdtemp(prefix="cnnviz-redis-"))
    try:
        proc, url = deployed.start_redis(folder)
    except RuntimeError as exc:   # not installed
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"{exc}: the Redis class-store tests need it (scripts/test.sh installs it)")
    try:
        deployed.wait_for_store(url, proc)
    except RuntimeError as exc:
        log = folder / "redis" / "redis.log"
        stop_redis(proc, folder)
        pytest.fail(f"redis-server did not start: {exc}; {log.read_text()[-500:] if log.exists() else ''}")
    return proc, url, folder


def stop_redis(proc: subprocess.Popen, folder: Path) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    proc, url, folder = start_redis()
    try:
        yield url
    finally:
        stop_redis(proc, folder)


def empty_store_url(request, tmp_path) -> str:
    """For the parametrised `store_url` fixtures: a new SQLite file, or the test Redis server emptied."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'classes.sqlite3'}"
    url = request.getfixturevalue("redis_server")
    store = open_store(url)
    store.client.flushdb()
    store.close()
    return url


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    return empty_store_url(request, tmp_path)


@pytest.fixture
def store(store_url):
    store = open_store(store_url)
    yield store
    store.close()


def _class(store, code="ABC234", created=None) -> str:
    assert store.create_class(code, "hash", time.time() if created is None else created)
    return code


# ---------------------------------------------------------------- opening

def test_the_default_store_is_a_sqlite_file_named_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNVIZ_CLASS_STORE", raising=False)
    monkeypatch.setenv("CNNVIZ_CLASS_DB", str(tmp_path / "here.sqlite3"))
    assert class_store.store_url() == f"sqlite://{tmp_path / 'here.sqlite3'}"
    store = open_store()
    store.close()
    assert (tmp_path / "here.sqlite3").exists()
    monkeypatch.setenv("CNNVIZ_CLASS_STORE", "redis://example:6379/0")
    assert class_store.store_url() == "redis://example:6379/0"


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = open_store(f"sqlite://{tmp_path / 'c.sqlite3'}")
    assert store._db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db().execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    store.close()


def test_an_unknown_url_scheme_says_which_ones_work():
    with pytest.raises(ValueError, match="sqlite:///path/to/file or redis://host:port/db"):
        open_store("postgres://db/x")


def test_a_redis_server_that_is_not_there_is_one_clear_sentence():
    port = deployed.free_port()   # nothing listens there
    with pytest.raises(StoreUnavailable) as found:
        open_store(f"redis://127.0.0.1:{port}/0")
    message = str(found.value)
    assert message.startswith(f"The class store (Redis at 127.0.0.1:{port}) cannot be reached")
    assert message.endswith(".") and "\n" not in message


def test_a_sqlite_file_that_cannot_be_created_is_one_clear_sentence(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        open_store(f"sqlite://{tmp_path / 'a_file' / 'classes.sqlite3'}")
    (tmp_path / "garbage.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailable, match="cannot be used"):
        open_store(f"sqlite://{tmp_path / 'garbage.sqlite3'}")


def test_a_redis_server_that_goes_away_mid_class_raises_store_unavailable():
    proc, url, folder = start_redis()
    try:
        store = open_store(url)
        code = _class(store)
        proc.terminate()
        proc.wait(10)
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.state(code)
    finally:
        stop_redis(proc, folder)


def test_a_redis_server_that_refuses_writes_raises_store_unavailable():
    """Out of memory (or its disk full, or a read-only replica): one sentence, not Redis's traceback."""
    proc, url, folder = start_redis()
    try:
        store = open_store(url)
        code = _class(store)
        store.client.config_set("maxmemory-policy", "noeviction")
        store.client.config_set("maxmemory", "1")
        with pytest.raises(StoreUnavailable, match=r"refused a request: .*maxmemory"):
            store.update_state(code, {"page": "pooling"}, bump="version")
    finally:
        stop_redis(proc, folder)


# ---------------------------------------------------------------- the operations

def test_a_class_is_created_once_per_code(store):
    assert store.create_class("ABC234", "h1", 100.0)
    assert not store.create_class("ABC234", "h2", 200.0)          # the first one stays
    assert store.class_record("ABC234") == {"code": "ABC234", "key_hash": "h1", "created": 100.0}
    assert store.class_record("ZZZ999") is None


def test_students_are_counted_once_and_capped(store):
    code = _class(store)
    assert store.add_student(code, "s1", cap=2) and store.add_student(code, "s1", cap=2)
    assert store.add_student(code, "s2", cap=2)
    assert not store.add_student(code, "s3", cap=2)               # full
    assert store.add_student(code, "s2", cap=2)                   # a member may come back
    assert store.student_count(code) == 2


def test_update_state_merges_values_and_bumps_a_counter_in_one_step(store):
    code = _class(store)
    assert store.state(code) == {}
    assert store.update_state(code, {"page": "pooling"}, bump="version") == 1
    assert store.update_state(code, {"params": "{}"}, bump="version") == 2
    assert store.update_state(code, {"paused": "1"}) == 0           # no counter: nothing bumped
    assert store.update_state(code, {}, bump="ask_id") == 1          # counters are independent
    assert store.state(code) == {"page": "pooling", "params": "{}", "paused": "1", "version": "2", "ask_id": "1"}


def test_the_first_answer_is_kept(store):
    code = _class(store)
    assert store.add_answer(code, 1, "s1", "a")
    assert not store.add_answer(code, 1, "s1", "b")
    assert store.add_answer(code, 2, "s1", "b")                       # another question
    assert store.answers(code, 1) == {"s1": "a"} and store.answers(code, 2) == {"s1": "b"}
    assert store.answers(code, 3) == {}


def test_an_item_replaces_its_slot_keeps_its_id_and_respects_the_cap(store):
    code = _class(store)
    first = store.put_item(code, "drawing", "1:s1", b"one", cap=2)
    second = store.put_item(code, "drawing", "1:s2", b"two", cap=2)
    assert store.put_item(code, "drawing", "1:s3", b"three", cap=2) is None   # full
    assert store.put_item(code, "drawing", "1:s1", b"uno", cap=2) == first    # a slot already there: replaced
    assert store.put_item(code, "run", "s1:r", b"run", cap=2) is not None     # another kind, its own cap
    assert [(i.id, i.slot, i.data, i.hidden) for i in store.items(code, "drawing")] == [
        (first, "1:s1", b"uno", False), (second, "1:s2", b"two", False)]
    assert [i.data for i in store.items(code, "run")] == [b"run"]


def test_an_item_can_be_hidden_and_shown_again(store):
    code = _class(store)
    item = store.put_item(code, "drawing", "1:s1", b"x", cap=10)
    assert store.set_hidden(code, "drawing", item, True)
    assert store.items(code, "drawing")[0].hidden
    store.put_item(code, "drawing", "1:s1", b"y", cap=10)                    # redrawn: still hidden
    assert store.items(code, "drawing")[0].hidden
    assert store.set_hidden(code, "drawing", item, False)
    assert not store.items(code, "drawing")[0].hidden
    assert not store.set_hidden(code, "drawing", item + 1000, True)           # no such item


def test_every_write_to_a_class_that_does_not_exist_is_refused_and_stores_nothing(store):
    writes = [lambda: store.add_student("NOPE22", "s1", 10), lambda: store.update_state("NOPE22", {"a": "b"}, "v"),
              lambda: store.add_answer("NOPE22", 1, "s1", "a"), lambda: store.put_item("NOPE22", "run", "x", b"", 9),
              lambda: store.set_hidden("NOPE22", "run", 1, True)]
    for write in writes:
        with pytest.raises(NoSuchClass):
            write()
    assert store.student_count("NOPE22") == 0 and store.state("NOPE22") == {}
    assert store.answers("NOPE22", 1) == {} and store.items("NOPE22", "run") == []


def test_remove_expired_removes_old_classes_with_everything_they_hold(store):
    old, new = _class(store, "OLD234", created=time.time() - 90_000), _class(store, "NEW234")
    for code in (old, new):
        store.add_student(code, "s1", 10)
        store.update_state(code, {"page": "home"}, bump="version")
        store.add_answer(code, 1, "s1", "a")
        store.put_item(code, "drawing", "1:s1", b"x", 10)
    assert store.remove_expired(time.time() - 86_400) == [old]
    assert store.class_record(old) is None and store.state(old) == {} and store.answers(old, 1) == {}
    assert store.items(old, "drawing") == [] and store.student_count(old) == 0
    assert store.class_record(new) is not None and store.state(new)["page"] == "home"
    assert store.answers(new, 1) == {"s1": "a"} and len(store.items(new, "drawing")) == 1
    assert store.remove_expired(time.time() - 86_400) == []


def test_closing_and_reopening_the_store_loses_nothing(store_url):
    """An app process restarted: a new process opens the same store and finds the class as it was."""
    store = open_store(store_url)
    code = _class(store)
    store.add_student(code, "s1", 10)
    store.update_state(code, {"page": "pooling"}, bump="version")
    store.add_answer(code, 1, "s1", "a")
    item = store.put_item(code, "drawing", "1:s1", b"pixels", 10)
    store.set_hidden(code, "drawing", item, True)
    store.close()
    again = open_store(store_url)
    assert again.class_record(code)["key_hash"] == "hash"
    assert again.student_count(code) == 1 and again.state(code) == {"page": "pooling", "version": "1"}
    assert again.answers(code, 1) == {"s1": "a"}
    assert [(i.id, i.data, i.hidden) for i in again.items(code, "drawing")] == [(item, b"pixels", True)]
    again.close()


def test_one_store_serves_many_threads_and_closes_the_connections_of_ended_ones(tmp_path):
    """An app process shares one store among its sessions, each rerun on a thread of its own: a thread's
    connection must not outlive it (hundreds of reruns would otherwise run out of file descriptors)."""
    path = tmp_path / "c.sqlite3"
    store = open_store(f"sqlite://{path}")
    code = _class(store)

    def connections() -> int:
        gc.collect()
        return sum(type(o) is sqlite3.Connection for o in gc.get_objects())

    before = connections()
    for batch in range(10):
        threads = [threading.Thread(target=store.add_answer, args=(code, 1, f"s{batch}-{i}", "a")) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(store.answers(code, 1)) == 200
    assert connections() <= before               # (this thread's own, opened by open_store, is in `before`)
    store.close()


# ---------------------------------------------------------------- several processes

def _answer_all(url: str, code: str, students: list[str], choice: str) -> int:
    """In a spawned process: answer question 1 for every student; how many answers were accepted."""
    store = open_store(url)
    accepted = sum(store.add_answer(code, 1, s, choice) for s in students)
    for s in students:                                         # and the counters race too
        store.update_state(code, {"last": s}, bump="version")
        store.put_item(code, "drawing", f"1:{s}", choice.encode(), cap=1000)
    store.close()
    return accepted


def _publish_then_read(url: str, code: str, page: str, wait_for: str) -> str:
    """In a spawned process: write `page`, then wait (up to 30 s) for the other process's `wait_for`."""
    store = open_store(url)
    store.update_state(code, {f"page_{page}": page})
    deadline = time.monotonic() + 30
    while store.state(code).get(f"page_{wait_for}") != wait_for:
        if time.monotonic() > deadline:
            return "never saw it"
        time.sleep(0.01)
    store.close()
    return "seen"


def test_processes_answering_at_once_still_give_one_answer_per_student(store_url):
    store = open_store(store_url)
    code = _class(store)
    students = [f"s{i}" for i in range(30)]
    processes = 4
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        accepted = pool.starmap(_answer_all, [(store_url, code, students, f"choice{p}") for p in range(processes)])
    assert sum(accepted) == len(students)                        # each student answered exactly once
    answers = store.answers(code, 1)
    assert sorted(answers) == sorted(students)
    assert set(answers.values()) <= {f"choice{p}" for p in range(processes)}
    assert store.state(code)["version"] == str(processes * len(students))   # no increment lost
    assert len(store.items(code, "drawing")) == len(students)     # one slot per student, whoever wrote last
    store.close()


def test_two_processes_see_each_others_writes_at_once(store_url):
    store = open_store(store_url)
    code = _class(store)
    store.close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        first = pool.apply_async(_publish_then_read, (store_url, code, "a", "b"))
        second = pool.apply_async(_publish_then_read, (store_url, code, "b", "a"))
        assert (first.get(60), second.get(60)) == ("seen", "seen")
