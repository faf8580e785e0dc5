"""The class logic (cnnviz.classroom), without Streamlit, against both stores (SQLite and Redis).

Stories: the instructor starts a class and leads it, students join with the code, follow, answer once, draw;
and every bad input (a wrong or expired code, a forged instructor action, a flood of answers, an oversized
drawing) is refused with a ClassError while nothing is stored and the class goes on unaffected.
"""
from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import time

import numpy as np
import pytest
from PIL import Image

from cnnviz import class_access, class_wall, classroom
from cnnviz.class_store import open_store
from cnnviz.classroom import ClassError
import test_class_store as backends

redis_server = backends.redis_server                 # the test session's redis-server (a fixture)

OPTIONS = ["2x2", "3x3", "4x4"]


@pytest.fixture(params=backends.BACKENDS)
def store_url(request, tmp_path):
    """A store with nothing in it: a temporary SQLite file, or the test Redis server emptied."""
    return backends.empty_store_url(request, tmp_path)


@pytest.fixture
def store(store_url):
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def lesson(store):
    """A class just started: (store, code, instructor key)."""
    code, key = classroom.start_class(store)
    return store, code, key


def _digit(value: int) -> np.ndarray:
    pixels = np.zeros((28, 28), np.uint8)  # [28, 28]
    pixels[4:24, 10 + value % 8] = 255
    return pixels


def _probs(prediction: int) -> list[float]:
    p = [0.01] * 10
    p[prediction] = 0.91
    return p


def _snapshot(store, code):
    """Everything the class holds, to show a refused action changed nothing."""
    return (classroom.class_info(store, code), classroom.current_view(store, code), classroom.question(store, code),
            [(d.id, d.hidden, d.pixels.tobytes()) for d in classroom.wall(store, code, include_hidden=True)],
            classroom.runs(store, code), store.state(code))


# ---------------------------------------------------------------- start and join

def test_a_class_gets_a_short_unambiguous_code_and_a_secret_key_stored_only_as_a_hash(lesson):
    store, code, key = lesson
    assert len(code) == 6 and set(code) <= set(class_access.CODE_ALPHABET)
    assert not set(code) & set("0O1IL")
    assert len(key) >= 20
    record = store.class_record(code)
    assert key not in str(record) and record["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


def test_students_join_with_the_code_as_typed_and_are_counted_once(lesson):
    store, code, _ = lesson
    assert classroom.join(store, code, "browser-1").students == 1
    info = classroom.join(store, f" {code.lower()[:3]}-{code.lower()[3:]} ", "browser-2")
    assert (info.code, info.students) == (code, 2)
    assert classroom.join(store, code, "browser-1").students == 2       # a reload joins again, counted once
    assert info.expires == pytest.approx(info.created + 86_400)


@pytest.mark.parametrize("typed", ["", "ABC", "ABCDEFG", "ABC10O", "ABC 23!", None])
def test_a_code_that_cannot_be_one_is_refused(store, typed):
    with pytest.raises(ClassError, match="is not a class code"):
        classroom.join(store, typed, "browser-1")


def test_a_wrong_code_is_refused_and_the_real_class_is_unaffected(lesson):
    store, code, _ = lesson
    wrong = "A" * 6 if code != "A" * 6 else "B" * 6
    before = _snapshot(store, code)
    with pytest.raises(ClassError, match=f"No class with the code {wrong} is running"):
        classroom.join(store, wrong, "browser-1")
    assert store.class_record(wrong) is None and _snapshot(store, code) == before


def test_a_class_older_than_a_day_is_removed_when_a_class_starts_or_a_student_joins(store):
    old, _ = classroom.start_class(store, now=time.time() - 86_401)
    with pytest.raises(ClassError, match=f"No class with the code {old} is running"):
        classroom.join(store, old, "browser-1")
    assert store.class_record(old) is None                              # join removed it first
    older, _ = classroom.start_class(store, now=time.time() - 90_000)
    new, _ = classroom.start_class(store)
    assert store.class_record(older) is None and store.class_record(new) is not None


def test_remove_expired_keeps_young_classes(lesson):
    store, code, _ = lesson
    assert classroom.remove_expired(store) == []
    assert classroom.remove_expired(store, max_age_s=0) == [code]
    with pytest.raises(ClassError):
        classroom.current_view(store, code)


def test_a_class_removed_between_the_check_and_the_write_is_refused_too(lesson, monkeypatch):
    store, code, key = lesson
    record = store.class_record(code)
    store.remove_expired(time.time() + 1)                              # gone, but the check already passed
    monkeypatch.setattr(classroom, "check_instructor", lambda *a: record["code"])
    with pytest.raises(ClassError, match="has ended"):
        classroom.publish_view(store, code, key, "pooling", {})
    assert store.state(code) == {}


# ---------------------------------------------------------------- the instructor key

@pytest.mark.parametrize("forged", ["", "guess", None, 12345, "x" * 1000])
def test_a_forged_instructor_key_is_refused_for_every_instructor_action(lesson, forged):
    store, code, key = lesson
    qid = classroom.open_question(store, code, key, "quick_check", "Which?", OPTIONS)
    classroom.ask_digit(store, code, key, 3)
    classroom.submit_drawing(store, code, "s1", _digit(3), 3, _probs(3))
    drawing = classroom.wall(store, code)[0].id
    before = _snapshot(store, code)
    actions = [lambda: classroom.check_instructor(store, code, forged),
               lambda: classroom.publish_view(store, code, forged, "pooling", {"kernel": "3"}),
               lambda: classroom.set_paused(store, code, forged, True),
               lambda: classroom.open_question(store, code, forged, "quick_check", "Mine?", OPTIONS),
               lambda: classroom.reveal(store, code, forged, qid),
               lambda: classroom.ask_digit(store, code, forged, 5),
               lambda: classroom.hide_drawing(store, code, forged, drawing)]
    for action in actions:
        with pytest.raises(ClassError, match="Only the instructor can do that"):
            action()
    assert _snapshot(store, code) == before


def test_another_class_s_key_does_not_open_this_class(store):
    code_a, key_a = classroom.start_class(store)
    code_b, key_b = classroom.start_class(store)
    assert classroom.check_instructor(store, code_a.lower(), key_a) == code_a
    with pytest.raises(ClassError, match="Only the instructor"):
        classroom.publish_view(store, code_a, key_b, "pooling", {})


# ---------------------------------------------------------------- follow me

def test_students_read_the_view_the_instructor_publishes(lesson):
    store, code, key = lesson
    assert classroom.current_view(store, code).version == 0
    assert classroom.publish_view(store, code, key, "pooling", {"pool_kernel": "3", "pool_stride": "1"}) == 1
    view = classroom.current_view(store, code)
    assert (view.page, view.params, view.version, view.paused) == (
        "pooling", {"pool_kernel": "3", "pool_stride": "1"}, 1, False)
    assert time.time() - view.updated < 60
    classroom.publish_view(store, code, key, "convolution", {})
    assert (classroom.current_view(store, code).page, classroom.current_view(store, code).version) == ("convolution", 2)


def test_pausing_and_resuming_moves_the_view_on(lesson):
    store, code, key = lesson
    classroom.publish_view(store, code, key, "pooling", {"k": "2"})
    assert classroom.set_paused(store, code, key, True) == 2
    view = classroom.current_view(store, code)
    assert view.paused and (view.page, view.params) == ("pooling", {"k": "2"})
    classroom.set_paused(store, code, key, False)
    assert not classroom.current_view(store, code).paused and classroom.current_view(store, code).version == 3


@pytest.mark.parametrize("page, params", [("pooling?x=1", {}), ("a" * 65, {}), (None, {}),
                                          ("pooling", {"k": 3}), ("pooling", {"k": "v" * 501}),
                                          ("pooling", {f"k{i}": "1" for i in range(41)}), ("pooling", "k=3")])
def test_a_malformed_view_is_refused(lesson, page, params):
    store, code, key = lesson
    before = _snapshot(store, code)
    with pytest.raises(ClassError):
        classroom.publish_view(store, code, key, page, params)
    assert _snapshot(store, code) == before


# ---------------------------------------------------------------- predict, then reveal

def test_answers_stay_hidden_until_the_reveal_then_show_as_counts(lesson):
    store, code, key = lesson
    qid = classroom.open_question(store, code, key, "pool_window", "Max of this window?", OPTIONS,
                                  payload={"window": [[1, 2], [3, 4]]})
    for student, choice in [("s1", "3x3"), ("s2", "3x3"), ("s3", "2x2")]:
        classroom.join(store, code, student)
        classroom.answer(store, code, qid, student, choice)
    asked = classroom.question(store, code)
    assert (asked.id, asked.kind, asked.payload, asked.answered, asked.revealed, asked.counts) == (
        qid, "pool_window", {"window": [[1, 2], [3, 4]]}, 3, False, None)
    assert classroom.my_answer(store, code, qid, "s1") == "3x3" and classroom.my_answer(store, code, qid, "s9") is None
    shown = classroom.reveal(store, code, key, qid)
    assert shown.revealed and shown.counts == {"2x2": 1, "3x3": 2, "4x4": 0} and shown.answered == 3
    assert classroom.question(store, code) == shown


def test_no_question_yet_is_none_and_a_new_question_closes_the_last(lesson):
    store, code, key = lesson
    assert classroom.question(store, code) is None
    first = classroom.open_question(store, code, key, "quick_check", "One?", OPTIONS)
    second = classroom.open_question(store, code, key, "predict_digit", "Two?", ["7", "1"])
    assert second != first and classroom.question(store, code).prompt == "Two?"
    with pytest.raises(ClassError, match="closed"):
        classroom.answer(store, code, first, "s1", "2x2")
    classroom.answer(store, code, second, "s1", "7")
    assert classroom.question(store, code).answered == 1
    with pytest.raises(ClassError, match="Only the open question"):
        classroom.reveal(store, code, key, first)


def test_a_flood_of_answers_from_one_browser_counts_once(lesson):
    store, code, key = lesson
    qid = classroom.open_question(store, code, key, "quick_check", "Which?", OPTIONS)
    classroom.answer(store, code, qid, "s1", "2x2")
    before = _snapshot(store, code)
    refused = 0
    for i in range(50):
        with pytest.raises(ClassError, match="already answered") as found:
            classroom.answer(store, code, qid, "s1", OPTIONS[i % 3])
        refused += found is not None
    assert refused == 50 and _snapshot(store, code) == before
    assert classroom.reveal(store, code, key, qid).counts == {"2x2": 1, "3x3": 0, "4x4": 0}


def test_answers_after_the_reveal_or_outside_the_options_are_refused(lesson):
    store, code, key = lesson
    qid = classroom.open_question(store, code, key, "quick_check", "Which?", OPTIONS)
    for bad in ["5x5", "", None, 2]:
        with pytest.raises(ClassError, match="not one of the question's options"):
            classroom.answer(store, code, qid, "s1", bad)
    assert store.student_count(code) == 0                               # nothing stored, not even the student
    classroom.reveal(store, code, key, qid)
    with pytest.raises(ClassError, match="already revealed"):
        classroom.answer(store, code, qid, "s2", "2x2")
    assert classroom.question(store, code).counts == {"2x2": 0, "3x3": 0, "4x4": 0}


@pytest.mark.parametrize("kind, prompt, options, payload", [
    ("essay", "Why?", OPTIONS, None), ("quick_check", "", OPTIONS, None), ("quick_check", "x" * 501, OPTIONS, None),
    ("quick_check", "Why?", ["only one"], None), ("quick_check", "Why?", ["a", "a"], None),
    ("quick_check", "Why?", [str(i) for i in range(13)], None), ("quick_check", "Why?", ["a", 2], None),
    ("quick_check", "Why?", OPTIONS, {"pixels": object()}), ("quick_check", "Why?", OPTIONS, {"big": "x" * 30_000})])
def test_a_malformed_question_is_refused(lesson, kind, prompt, options, payload):
    store, code, key = lesson
    with pytest.raises(ClassError):
        classroom.open_question(store, code, key, kind, prompt, options, payload)
    assert classroom.question(store, code) is None


def _answer_as(url: str, code: str, qid: int, students: list[str], choice: str) -> int:
    """In a spawned process (another app process): answer for every student; how many were accepted."""
    store, accepted = open_store(url), 0
    for student in students:
        try:
            classroom.answer(store, code, qid, student, choice)
            accepted += 1
        except ClassError:
            pass
    store.close()
    return accepted


def test_app_processes_answering_at_once_keep_one_answer_per_student(store_url):
    store = open_store(store_url)
    code, key = classroom.start_class(store)
    qid = classroom.open_question(store, code, key, "quick_check", "Which?", OPTIONS)
    students = [f"s{i}" for i in range(20)]
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        accepted = pool.starmap(_answer_as, [(store_url, code, qid, students, option) for option in OPTIONS])
    assert sum(accepted) == len(students)
    shown = classroom.reveal(store, code, key, qid)
    assert sum(shown.counts.values()) == shown.answered == len(students)
    assert classroom.class_info(store, code).students == len(students)
    store.close()


# ---------------------------------------------------------------- the digit wall

def test_drawings_gather_on_the_wall_one_per_student_per_ask(lesson):
    store, code, key = lesson
    seven = classroom.ask_digit(store, code, key, 7)
    assert (classroom.current_ask(store, code).id, classroom.current_ask(store, code).label) == (seven, 7)
    first = classroom.submit_drawing(store, code, "s1", _digit(1), 1, _probs(1))
    again = classroom.submit_drawing(store, code, "s1", _digit(7), 7, _probs(7))   # drew again: replaced
    classroom.submit_drawing(store, code, "s2", _digit(2), 7, np.array(_probs(7), np.float32))
    one = classroom.ask_digit(store, code, key, 1)
    classroom.submit_drawing(store, code, "s1", _digit(3), 1, _probs(1))
    drawings = classroom.wall(store, code)
    assert again == first and len(drawings) == 3
    assert [(d.student_id, d.ask_id, d.label, d.prediction) for d in drawings] == [
        ("s1", seven, 7, 7), ("s2", seven, 7, 7), ("s1", one, 1, 1)]
    assert np.array_equal(drawings[0].pixels, _digit(7)) and drawings[0].pixels.dtype == np.uint8
    assert drawings[0].probabilities == pytest.approx(_probs(7))
    assert [d.student_id for d in classroom.wall(store, code, ask_id=one)] == ["s1"]


def test_a_hidden_drawing_leaves_the_wall_and_its_statistics(lesson):
    store, code, key = lesson
    classroom.ask_digit(store, code, key, 7)
    for i in range(5):
        classroom.submit_drawing(store, code, f"s{i}", _digit(i), 7, _probs(7))
    assert classroom.wall_stats(classroom.wall(store, code)).count == 5
    hidden = classroom.wall(store, code)[2].id
    classroom.hide_drawing(store, code, key, hidden)
    assert [d.id for d in classroom.wall(store, code)].count(hidden) == 0
    assert [d.hidden for d in classroom.wall(store, code, include_hidden=True)] == [False, False, True, False, False]
    assert classroom.wall_stats(classroom.wall(store, code, include_hidden=True)) is None   # 4 shown: too few
    classroom.hide_drawing(store, code, key, hidden, hidden=False)
    assert len(classroom.wall(store, code)) == 5
    with pytest.raises(ClassError, match="no such drawing"):
        classroom.hide_drawing(store, code, key, hidden + 1000)


def test_wall_statistics_show_from_five_drawings_with_the_confusion_matrix():
    def drawing(i, label, prediction):
        return class_wall.Drawing(i, f"s{i}", 1, label, _digit(label), prediction, tuple(_probs(prediction)), 0.0,
                                  False)
    drawings = [drawing(0, 7, 7), drawing(1, 7, 1), drawing(2, 7, 7), drawing(3, 1, 1)]
    assert classroom.wall_stats(drawings) is None
    drawings.append(drawing(4, 3, 8))
    stats = classroom.wall_stats(drawings)
    expected = np.zeros((10, 10), int)
    expected[7, 7], expected[7, 1], expected[1, 1], expected[3, 8] = 2, 1, 1, 1
    assert np.array_equal(stats.confusion, expected) and stats.confusion.sum() == 5
    assert (stats.count, stats.correct, stats.accuracy) == (5, 3, pytest.approx(0.6))
    assert classroom.wall_stats(drawings[:2], min_count=2).accuracy == pytest.approx(0.5)


def test_the_wall_exports_as_pngs_and_a_csv_of_labels_and_predictions(lesson):
    store, code, key = lesson
    classroom.ask_digit(store, code, key, 4)
    classroom.submit_drawing(store, code, "s1", _digit(4), 4, _probs(4))
    classroom.submit_drawing(store, code, "s2", _digit(5), 9, _probs(9))
    files, text = classroom.wall_export(classroom.wall(store, code))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["file"] for r in rows] == list(files)
    assert [(r["label"], r["prediction"], r["correct"]) for r in rows] == [("4", "4", "1"), ("4", "9", "0")]
    assert float(rows[1]["probability"]) == pytest.approx(0.91)
    for name, pixels in zip(files, (_digit(4), _digit(5))):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(files[name]))), pixels)


@pytest.mark.parametrize("pixels, prediction, probabilities, message", [
    (np.zeros((280, 280), np.uint8), 7, _probs(7), "28x28 picture of bytes"),
    (np.zeros((28, 28, 3), np.uint8), 7, _probs(7), "28x28 picture of bytes"),
    (np.zeros((28, 28), np.float32), 7, _probs(7), "28x28 picture of bytes"),
    (np.zeros((28, 28), np.uint8).tolist(), 7, _probs(7), "28x28 picture of bytes"),
    (b"\x00" * 784, 7, _probs(7), "28x28 picture of bytes"),
    (np.zeros((28, 28), np.uint8), 10, _probs(7), "answer is a digit"),
    (np.zeros((28, 28), np.uint8), True, _probs(7), "answer is a digit"),
    (np.zeros((28, 28), np.uint8), 7, [0.1] * 9, "10 numbers"),
    (np.zeros((28, 28), np.uint8), 7, [0.5] * 10, "add up to 1"),
    (np.zeros((28, 28), np.uint8), 7, [float("nan")] * 10, "10 numbers"),
    (np.zeros((28, 28), np.uint8), 7, "lots", "10 numbers")])
def test_an_oversized_or_malformed_drawing_is_refused_and_nothing_stored(lesson, pixels, prediction, probabilities,
                                                                         message):
    store, code, key = lesson
    classroom.ask_digit(store, code, key, 7)
    before = _snapshot(store, code)
    with pytest.raises(ClassError, match=message):
        classroom.submit_drawing(store, code, "s1", pixels, prediction, probabilities)
    assert _snapshot(store, code) == before


def test_drawing_before_any_ask_or_past_the_cap_is_refused(lesson, monkeypatch):
    store, code, key = lesson
    with pytest.raises(ClassError, match="not asked for a digit"):
        classroom.submit_drawing(store, code, "s1", _digit(1), 1, _probs(1))
    monkeypatch.setattr(class_wall, "MAX_DRAWINGS", 3)
    classroom.ask_digit(store, code, key, 1)
    for i in range(3):
        classroom.submit_drawing(store, code, f"s{i}", _digit(1), 1, _probs(1))
    with pytest.raises(ClassError, match=r"wall is full \(3 drawings\)"):
        classroom.submit_drawing(store, code, "s9", _digit(1), 1, _probs(1))
    assert len(classroom.wall(store, code)) == 3
    classroom.submit_drawing(store, code, "s0", _digit(2), 1, _probs(1))   # redrawing one still fits


@pytest.mark.parametrize("label", [10, -1, "7", 7.0, None, True])
def test_asking_for_something_that_is_not_a_digit_is_refused(lesson, label):
    store, code, key = lesson
    with pytest.raises(ClassError, match="digit from 0 to 9"):
        classroom.ask_digit(store, code, key, label)
    assert classroom.current_ask(store, code) is None


@pytest.mark.parametrize("student", ["", "x" * 65, "a b", "<script>", None, 7])
def test_a_malformed_student_id_is_refused(lesson, student):
    store, code, key = lesson
    with pytest.raises(ClassError, match="class id is not valid"):
        classroom.join(store, code, student)
    assert store.student_count(code) == 0


# ---------------------------------------------------------------- the runs board

RUN = {"name": "wide conv", "parameters": 206_922, "test_accuracy": 0.987, "receptive_field": 10,
       "multiply_adds": 1_200_000, "kind": "training run"}


def test_shared_runs_gather_on_the_board_and_a_run_shared_again_replaces_itself(lesson):
    store, code, _ = lesson
    first = classroom.share_run(store, code, "s1", RUN)
    classroom.share_run(store, code, "s2", {**RUN, "name": "gap head", "kind": "design", "test_accuracy": None})
    assert classroom.share_run(store, code, "s1", {**RUN, "test_accuracy": 0.99}) == first
    board = classroom.runs(store, code)
    assert [(r["name"], r["kind"], r["test_accuracy"], r["parameters"]) for r in board] == [
        ("wide conv", "training run", 0.99, 206_922), ("gap head", "design", None, 206_922)]
    assert board[0]["receptive_field"] == 10 and board[0]["multiply_adds"] == 1_200_000


@pytest.mark.parametrize("record", [
    "a run", {**RUN, "name": ""}, {**RUN, "name": "x" * 81}, {**RUN, "kind": "poem"}, {**RUN, "parameters": -1},
    {**RUN, "parameters": "many"}, {**RUN, "test_accuracy": 1.5}, {**RUN, "notes": "x" * 3000},
    {**RUN, "test_accuracy": float("nan")}, {**RUN, "extra": object()}])
def test_a_malformed_run_is_refused(lesson, record):
    store, code, _ = lesson
    with pytest.raises(ClassError):
        classroom.share_run(store, code, "s1", record)
    assert classroom.runs(store, code) == [] and store.student_count(code) == 0


# ---------------------------------------------------------------- an app process restarted

def test_a_class_survives_its_app_process_restarting(store_url):
    """Everything is in the store: a fresh store opened on the same URL finds the whole class."""
    store = open_store(store_url)
    code, key = classroom.start_class(store)
    classroom.publish_view(store, code, key, "pooling", {"pool_kernel": "3"})
    qid = classroom.open_question(store, code, key, "quick_check", "Which?", OPTIONS)
    classroom.answer(store, code, qid, "s1", "3x3")
    classroom.ask_digit(store, code, key, 7)
    classroom.submit_drawing(store, code, "s1", _digit(7), 7, _probs(7))
    classroom.share_run(store, code, "s1", RUN)
    before = _snapshot(store, code)
    store.close()
    again = open_store(store_url)
    assert _snapshot(again, code) == before
    with pytest.raises(ClassError, match="already answered"):
        classroom.answer(again, code, qid, "s1", "2x2")
    assert classroom.reveal(again, code, key, qid).counts == {"2x2": 0, "3x3": 1, "4x4": 0}
    again.close()
