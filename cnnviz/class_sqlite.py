"""The class store in one SQLite file (WAL mode): shared by every app process on one machine.

Each thread gets its own connection (closed when the thread ends); every read-modify-write runs in one
`BEGIN IMMEDIATE` transaction (the write lock is taken first, so two processes never both read the old value),
waiting up to BUSY_TIMEOUT_S for another writer. See `cnnviz.class_store` for the operations.
"""
from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from pathlib import Path

from cnnviz.class_store import Item, NoSuchClass, StoreUnavailable

BUSY_TIMEOUT_S = 10.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (code TEXT PRIMARY KEY, key_hash TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS students (code TEXT, student_id TEXT, PRIMARY KEY (code, student_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (code TEXT, field TEXT, value TEXT NOT NULL, PRIMARY KEY (code, field))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers (code TEXT, question_id INTEGER, student_id TEXT, choice TEXT NOT NULL,
    PRIMARY KEY (code, question_id, student_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, kind TEXT NOT NULL,
    slot TEXT NOT NULL, data BLOB NOT NULL, hidden INTEGER NOT NULL DEFAULT 0, UNIQUE (code, kind, slot));
"""
TABLES = ("classes", "students", "state", "answers", "items")


def _said(exc: Exception) -> str:
    return " ".join(str(exc).split()).rstrip(".")    # one line, no closing full stop (the sentence adds one)


def _reachable(method):
    """Turn SQLite's own errors (a file it cannot open or read, a lock held past the timeout) into
    StoreUnavailable; a mistake in our SQL (IntegrityError, ProgrammingError) stays what it is."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"The class store (SQLite file {self.path}) cannot be used: {_said(exc)}.") from exc
    return wrapper


class SqliteStore:
    def __init__(self, url: str):
        self.url = url
        self.path = Path(url.removeprefix("sqlite://")) if url.startswith("sqlite://") else Path(url)
        self._local = threading.local()   # a thread's connection closes when the thread ends (or on close())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"The class store's folder {self.path.parent} cannot be created: {exc}.") from exc
        self._set_up()

    @_reachable
    def _set_up(self) -> None:
        """WAL mode (kept in the file) and the tables, once per store."""
        db = self._db()
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("it cannot be switched to WAL mode (a network file system?)")
        db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)   # busy timeout too
            db.execute("PRAGMA synchronous = NORMAL")     # WAL: durable across a crashed process
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _write(self, code: str | None = None):
        """One write transaction holding the write lock from its start; with `code`, the class must exist."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if code is not None and db.execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone() is None:
                raise NoSuchClass(code)
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @_reachable
    def ping(self) -> None:
        self._db().execute("SELECT count(*) FROM classes").fetchone()

    @_reachable
    def create_class(self, code: str, key_hash: str, created: float) -> bool:
        with self._write() as db:
            return db.execute("INSERT OR IGNORE INTO classes VALUES (?, ?, ?)", (code, key_hash, created)).rowcount == 1

    @_reachable
    def class_record(self, code: str) -> dict | None:
        row = self._db().execute("SELECT code, key_hash, created FROM classes WHERE code = ?", (code,)).fetchone()
        return dict(zip(("code", "key_hash", "created"), row)) if row else None

    @_reachable
    def add_student(self, code: str, student_id: str, cap: int) -> bool:
        with self._write(code) as db:
            if db.execute("SELECT 1 FROM students WHERE code = ? AND student_id = ?", (code, student_id)).fetchone():
                return True
            if db.execute("SELECT count(*) FROM students WHERE code = ?", (code,)).fetchone()[0] >= cap:
                return False
            db.execute("INSERT INTO students VALUES (?, ?)", (code, student_id))
            return True

    @_reachable
    def student_count(self, code: str) -> int:
        return self._db().execute("SELECT count(*) FROM students WHERE code = ?", (code,)).fetchone()[0]

    @_reachable
    def update_state(self, code: str, values: dict[str, str], bump: str | None = None) -> int:
        with self._write(code) as db:
            count = 0
            if bump is not None:
                row = db.execute("SELECT value FROM state WHERE code = ? AND field = ?", (code, bump)).fetchone()
                count = int(row[0]) + 1 if row else 1
                values = {**values, bump: str(count)}
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
                           [(code, field, str(value)) for field, value in values.items()])
            return count

    @_reachable
    def state(self, code: str) -> dict[str, str]:
        return dict(self._db().execute("SELECT field, value FROM state WHERE code = ?", (code,)).fetchall())

    @_reachable
    def add_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool:
        with self._write(code) as db:
            return db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?)",
                              (code, question_id, student_id, choice)).rowcount == 1

    @_reachable
    def answers(self, code: str, question_id: int) -> dict[str, str]:
        return dict(self._db().execute("SELECT student_id, choice FROM answers WHERE code = ? AND question_id = ?",
                                       (code, question_id)).fetchall())

    @_reachable
    def put_item(self, code: str, kind: str, slot: str, data: bytes, cap: int) -> int | None:
        with self._write(code) as db:
            row = db.execute("SELECT id FROM items WHERE code = ? AND kind = ? AND slot = ?",
                             (code, kind, slot)).fetchone()
            if row:
                db.execute("UPDATE items SET data = ? WHERE id = ?", (data, row[0]))
                return row[0]
            if db.execute("SELECT count(*) FROM items WHERE code = ? AND kind = ?", (code, kind)).fetchone()[0] >= cap:
                return None
            return db.execute("INSERT INTO items (code, kind, slot, data) VALUES (?, ?, ?, ?)",
                              (code, kind, slot, data)).lastrowid

    @_reachable
    def items(self, code: str, kind: str) -> list[Item]:
        rows = self._db().execute("SELECT id, slot, data, hidden FROM items WHERE code = ? AND kind = ? ORDER BY id",
                                  (code, kind)).fetchall()
        return [Item(i, slot, bytes(data), bool(hidden)) for i, slot, data, hidden in rows]

    @_reachable
    def set_hidden(self, code: str, kind: str, item_id: int, hidden: bool) -> bool:
        with self._write(code) as db:
            return db.execute("UPDATE items SET hidden = ? WHERE code = ? AND kind = ? AND id = ?",
                              (int(hidden), code, kind, item_id)).rowcount == 1

    @_reachable
    def remove_expired(self, before: float) -> list[str]:
        """Remove every class created before `before` (a time.time()), with all it holds; their codes."""
        if self._db().execute("SELECT 1 FROM classes WHERE created < ? LIMIT 1", (before,)).fetchone() is None:
            return []                     # the usual case (every join asks): a read, no write lock
        with self._write() as db:
            codes = [c for (c,) in db.execute("SELECT code FROM classes WHERE created < ?", (before,)).fetchall()]
            db.execute("DELETE FROM classes WHERE created < ?", (before,))
            for table in TABLES[1:]:      # and anything a write left behind for a class already gone
                db.execute(f"DELETE FROM {table} WHERE code NOT IN (SELECT code FROM classes)")
            return codes

    def close(self) -> None:
        """Close this thread's connection (another thread's closes when that thread ends)."""
        db, self._local.db = getattr(self._local, "db", None), None
        if db is not None:
            db.close()
