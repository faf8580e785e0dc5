"""Who may do what in a class: its code, the instructor key, the students' anonymous ids, ClassError.

A class is running from `start_class` until MAX_AGE_S later (or until `remove_expired` removes it). Every
refused action raises ClassError, a ValueError whose message is written for the person who tried it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from cnnviz.class_store import NoSuchClass, Store


class ClassError(ValueError):
    """An action the class refuses (nothing was stored); the message says why, for the user."""


CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read off a projector without doubt
CODE_LENGTH = 6
MAX_AGE_S = 86400.0              # a class ends a day after it started
MAX_STUDENTS = 500               # anonymous ids per class (bounds a script inventing new ones)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class ClassInfo:
    code: str
    created: float
    students: int               # how many joined so far

    @property
    def expires(self) -> float:
        return self.created + MAX_AGE_S


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()   # the key is 128 random bits: no slow hash needed


def normalize_code(code) -> str:
    """The code as typed (any case, spaces and dashes allowed), or ClassError when it cannot be one."""
    text = re.sub(r"[\s-]", "", str(code or "")).upper()
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        raise ClassError(f"'{str(code or '')[:20]}' is not a class code: a code is {CODE_LENGTH} letters and digits, "
                         "as shown on the projector.")
    return text


def valid_student(student_id) -> str:
    if not isinstance(student_id, str) or not _ID.fullmatch(student_id):
        raise ClassError("This browser's class id is not valid: reload the page and join again.")
    return student_id


def running_class(store: Store, code) -> dict:
    """The class's record, or ClassError when no class with this code is running (never was, or ended)."""
    code = normalize_code(code)
    record = store.class_record(code)
    if record is None or record["created"] < time.time() - MAX_AGE_S:
        raise ClassError(f"No class with the code {code} is running (a class ends a day after it starts): "
                         "check the code with your instructor.")
    return record


def guarded(code: str, action):
    """Run a store write; a class removed meanwhile is refused like an unknown code."""
    try:
        return action()
    except NoSuchClass:
        raise ClassError(f"The class {code} has ended: ask your instructor for the new code.") from None


def remove_expired(store: Store, max_age_s: float = MAX_AGE_S) -> list[str]:
    """Remove every class started more than `max_age_s` ago, with everything it holds; their codes."""
    return store.remove_expired(time.time() - max_age_s)


def start_class(store: Store, now: float | None = None) -> tuple[str, str]:
    """A new class: (its code, the instructor key). The key is stored only as a hash: show it once."""
    remove_expired(store)
    key = secrets.token_urlsafe(16)
    for _ in range(20):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if store.create_class(code, _hash(key), time.time() if now is None else now):
            return code, key
    raise ClassError("No free class code was found: try again.")   # 31^6 codes: practically never


def join(store: Store, code, student_id) -> ClassInfo:
    """A student joins (again: joining twice is harmless). ClassError for a wrong or expired code."""
    remove_expired(store)
    return class_info(store, joined(store, code, student_id))


def class_info(store: Store, code) -> ClassInfo:
    record = running_class(store, code)
    return ClassInfo(record["code"], record["created"], store.student_count(record["code"]))


def check_instructor(store: Store, code, key) -> str:
    """The normalized code when `key` is this class's instructor key, else ClassError (nothing changes)."""
    record = running_class(store, code)
    if not isinstance(key, str) or not hmac.compare_digest(_hash(key), record["key_hash"]):
        raise ClassError("Only the instructor can do that: this browser does not hold the class's instructor key.")
    return record["code"]


def joined(store: Store, code, student_id) -> str:
    """The normalized code, the student now (or already) one of the class's; ClassError when it is full."""
    record = running_class(store, code)
    student = valid_student(student_id)
    if not guarded(record["code"], lambda: store.add_student(record["code"], student, MAX_STUDENTS)):
        raise ClassError(f"The class {record['code']} is full ({MAX_STUDENTS} students).")
    return record["code"]
