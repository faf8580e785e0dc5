"""Where a class lives: one store shared by every app process (SQLite in a file, or Redis across machines).

    store = open_store()                       # $CNNVIZ_CLASS_STORE, else SQLite at $CNNVIZ_CLASS_DB or
    store = open_store("sqlite:///srv/c.db")   #   ~/.cache/cnnviz/classes.sqlite3
    store = open_store("redis://10.0.0.5:6379/0")

Both backends offer the same few small operations, each atomic on its own, so the class logic
(`cnnviz.classroom`) never reads-then-writes where two processes could race. A class is a code with:
    record    its hashed instructor key and the time it was created
    students  the anonymous ids that joined (capped)
    state     a dict of strings (the followed view, the open question, the digit asked for) with counters
              that `update_state` increments and returns in the same step
    answers   per question: student id -> choice, the first answer kept (`add_answer` is an insert-if-absent)
    items     per kind ("drawing", "run"): id -> bytes, one per slot (a later put replaces the slot's bytes and
              keeps its id), a hidden flag, and a cap checked in the same step as the insert
Every write to a class that no longer exists raises `NoSuchClass`; a store that cannot be reached raises
`StoreUnavailable`. Nothing is kept in process memory: two processes see each other's writes at once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ENV_STORE = "CNNVIZ_CLASS_STORE"   # a store URL: sqlite:///path/to/file or redis://host:port/db
ENV_DB = "CNNVIZ_CLASS_DB"         # the SQLite file when no URL is given


class StoreUnavailable(RuntimeError):
    """The class store cannot be reached (its message is one sentence a class page can show)."""


class NoSuchClass(LookupError):
    """A write to a class the store does not hold (never created, or removed as expired)."""


@dataclass(frozen=True)
class Item:
    """One stored item of a class (a drawing, a shared run): its id, its slot, its bytes, hidden or not."""
    id: int
    slot: str
    data: bytes
    hidden: bool


class Store(Protocol):
    url: str

    def create_class(self, code: str, key_hash: str, created: float) -> bool: ...
    def class_record(self, code: str) -> dict | None: ...      # {"code", "key_hash", "created"}
    def add_student(self, code: str, student_id: str, cap: int) -> bool: ...   # False: the class is full
    def student_count(self, code: str) -> int: ...
    def update_state(self, code: str, values: dict[str, str], bump: str | None = None) -> int: ...
    def state(self, code: str) -> dict[str, str]: ...
    def add_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool: ...
    def answers(self, code: str, question_id: int) -> dict[str, str]: ...
    def put_item(self, code: str, kind: str, slot: str, data: bytes, cap: int) -> int | None: ...
    def items(self, code: str, kind: str) -> list[Item]: ...
    def set_hidden(self, code: str, kind: str, item_id: int, hidden: bool) -> bool: ...
    def remove_expired(self, before: float) -> list[str]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


def default_sqlite_path() -> Path:
    return Path(os.environ.get(ENV_DB) or Path.home() / ".cache" / "cnnviz" / "classes.sqlite3")


def store_url(url: str | None = None) -> str:
    """The URL `open_store(url)` opens: `url`, else $CNNVIZ_CLASS_STORE, else the default SQLite file."""
    url = url or os.environ.get(ENV_STORE) or ""
    return url if url else f"sqlite://{default_sqlite_path().resolve()}"


def open_store(url: str | None = None) -> Store:
    """The store at `url` (see `store_url`), reached and ready, or StoreUnavailable.

    `sqlite:///abs/path.sqlite3` (or a plain file path) is a SQLite file in WAL mode, shared by the processes
    of one machine; `redis://host:port/db` (or rediss://, unix://) is a Redis server, shared across machines."""
    url = store_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from cnnviz.class_redis import RedisStore
        return RedisStore(url)
    if "://" in url and not url.startswith("sqlite://"):
        raise ValueError(f"unknown class store URL {url!r}: use sqlite:///path/to/file or redis://host:port/db")
    from cnnviz.class_sqlite import SqliteStore
    return SqliteStore(url)
