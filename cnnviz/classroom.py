"""A class session: the instructor starts a class and leads; students join with its code, follow, answer, draw.

    code, key = start_class(store)                       # the key is shown to the instructor once
    join(store, code, student_id)                        # an anonymous id per browser
    publish_view(store, code, key, "pooling", {"kernel": "3"});  current_view(store, code)
    qid = open_question(store, code, key, "quick_check", "Which is larger?", ["a", "b"])
    answer(store, code, qid, student_id, "a");  reveal(store, code, key, qid);  question(store, code).counts

Everything lives in the store (`cnnviz.class_store`), never in this process, so every app process sees the
same class and a restarted process loses nothing. Every refused action (a wrong or expired code, a forged
instructor key, a second answer, an oversized drawing...) raises ClassError with a sentence for the user and
stores nothing. This module is the class's one API: codes, keys and joining (`cnnviz.class_access`) and the
digit wall and runs board (`cnnviz.class_wall`) are re-exported here; the follow-me view and the questions
are below.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from cnnviz.class_access import (  # noqa: F401 -- re-exported: the class's one API
    MAX_AGE_S, ClassError, ClassInfo, check_instructor, class_info, guarded, join, joined, normalize_code,
    remove_expired, running_class, start_class, valid_student)
from cnnviz.class_store import Store
from cnnviz.class_wall import (  # noqa: F401 -- re-exported: the digit wall and the runs board
    MAX_DRAWINGS, MAX_RUNS, Drawing, WallStats, ask_digit, current_ask, hide_drawing, runs, share_run, submit_drawing,
    wall, wall_export, wall_stats)

QUESTION_KINDS = ("quick_check", "predict_digit", "pool_window")
MAX_OPTIONS, MAX_TEXT, MAX_PAYLOAD = 12, 500, 20_000
MAX_PARAMS = 40
_PAGE = re.compile(r"[A-Za-z0-9_/-]{0,64}")


@dataclass(frozen=True)
class View:
    """What the instructor shows: the page (its URL path), its link parameters; `version` counts every change
    of the view, the pause included (0: nothing published yet)."""
    page: str
    params: dict[str, str]
    version: int
    paused: bool
    updated: float


@dataclass(frozen=True)
class Question:
    """The open (or last) question. `counts` (choice -> answers, every option listed) is None until revealed."""
    id: int
    kind: str
    prompt: str
    options: list[str]
    payload: dict
    opened: float
    revealed: bool
    answered: int
    counts: dict[str, int] | None


# ---------------------------------------------------------------- follow me

def publish_view(store: Store, code, key, page: str, params: dict[str, str]) -> int:
    """The instructor's page and its link parameters become the class's view; returns its new version."""
    code = check_instructor(store, code, key)
    if not isinstance(page, str) or not _PAGE.fullmatch(page):
        raise ClassError("A page is named by its URL path (letters, digits, _ and /, up to 64).")
    if not isinstance(params, dict) or len(params) > MAX_PARAMS or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= MAX_TEXT
            for k, v in params.items()):
        raise ClassError(f"A view's parameters are up to {MAX_PARAMS} short texts (name -> value).")
    values = {"page": page, "params": json.dumps(params, sort_keys=True), "updated": repr(time.time())}
    return guarded(code, lambda: store.update_state(code, values, bump="version"))


def set_paused(store: Store, code, key, paused: bool) -> int:
    """Pause (students' controls frozen) or resume the class; the view's version moves on."""
    code = check_instructor(store, code, key)
    values = {"paused": "1" if paused else "0", "updated": repr(time.time())}
    return guarded(code, lambda: store.update_state(code, values, bump="version"))


def current_view(store: Store, code) -> View:
    code = running_class(store, code)["code"]
    state = store.state(code)
    return View(state.get("page", ""), json.loads(state.get("params", "{}")), int(state.get("version", 0)),
                state.get("paused") == "1", float(state.get("updated", 0.0)))


# ---------------------------------------------------------------- predict, then reveal

def open_question(store: Store, code, key, kind: str, prompt: str, options: list[str],
                  payload: dict | None = None) -> int:
    """Open a question (closing the one before); the class's answers stay hidden until `reveal`. Its id."""
    code = check_instructor(store, code, key)
    if kind not in QUESTION_KINDS:
        raise ClassError(f"A question's kind is one of {', '.join(QUESTION_KINDS)}, not {str(kind)[:40]!r}.")
    if not isinstance(prompt, str) or not 0 < len(prompt) <= MAX_TEXT:
        raise ClassError(f"A question needs a prompt of up to {MAX_TEXT} characters.")
    if (not isinstance(options, (list, tuple)) or not 2 <= len(options) <= MAX_OPTIONS
            or not all(isinstance(o, str) and 0 < len(o) <= 80 for o in options) or len(set(options)) < len(options)):
        raise ClassError(f"A question needs 2 to {MAX_OPTIONS} different options, each up to 80 characters.")
    try:
        text = json.dumps({"kind": kind, "prompt": prompt, "options": list(options), "payload": payload or {},
                           "opened": time.time()})
    except (TypeError, ValueError):
        raise ClassError("A question's payload must be plain data (numbers, texts, lists, dicts).") from None
    if len(text) > MAX_PAYLOAD:
        raise ClassError(f"A question's payload is limited to {MAX_PAYLOAD // 1000} kB.")
    return guarded(code, lambda: store.update_state(code, {"question": text, "revealed": "0", "counts": "{}"},
                                                          bump="question_id"))


def question(store: Store, code) -> Question | None:
    """The open question (or the last one, once revealed); None when none was asked."""
    code = running_class(store, code)["code"]
    state = store.state(code)
    if "question" not in state:
        return None
    data, qid = json.loads(state["question"]), int(state["question_id"])
    counts = json.loads(state["counts"]) if state.get("revealed") == "1" else None
    answered = sum(counts.values()) if counts is not None else len(store.answers(code, qid))
    return Question(qid, data["kind"], data["prompt"], data["options"], data["payload"], data["opened"],
                    counts is not None, answered, counts)


def answer(store: Store, code, question_id: int, student_id, choice: str) -> None:
    """A student's one answer to the open question; a second one, or one after the reveal, is refused."""
    code, student = running_class(store, code)["code"], valid_student(student_id)
    asked = question(store, code)
    if asked is None or str(asked.id) != str(question_id):
        raise ClassError("That question is closed: the instructor has moved on to another one.")
    if asked.revealed:
        raise ClassError("The answers to this question are already revealed: it takes no more answers.")
    if choice not in asked.options:
        raise ClassError("That is not one of the question's options.")
    joined(store, code, student)
    if not guarded(code, lambda: store.add_answer(code, asked.id, student, choice)):
        raise ClassError("You have already answered this question: one answer per student.")


def my_answer(store: Store, code, question_id: int, student_id) -> str | None:
    """The choice this student gave to the question, or None."""
    code = running_class(store, code)["code"]
    try:
        return store.answers(code, int(question_id)).get(valid_student(student_id))
    except (TypeError, ValueError):
        raise ClassError("That is not a question of this class.") from None


def reveal(store: Store, code, key, question_id: int) -> Question:
    """Show the class's answers to the open question as counts, fixed now: later answers are refused."""
    code = check_instructor(store, code, key)
    asked = question(store, code)
    if asked is None or str(asked.id) != str(question_id):
        raise ClassError("Only the open question can be revealed.")
    if not asked.revealed:
        counts = {option: 0 for option in asked.options}
        for choice in store.answers(code, asked.id).values():
            counts[choice] = counts.get(choice, 0) + 1
        guarded(code, lambda: store.update_state(code, {"revealed": "1", "counts": json.dumps(counts)}))
    return question(store, code)
