"""The class store in Redis: shared by app processes on several machines (`redis://host:port/db`).

Every write that must check something first (the class exists, the cap, the first answer) is one Lua script,
which Redis runs atomically. A class's keys all start with `cnnviz:class:<code>:`; the sorted set
`cnnviz:classes` holds each code with its creation time, for `remove_expired`.
"""
from __future__ import annotations

import functools

import redis

from cnnviz.class_store import Item, NoSuchClass, StoreUnavailable

CLASSES = "cnnviz:classes"
GONE = -2   # what a script returns when the class does not exist

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'key_hash', ARGV[2], 'created', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""
ADD_STUDENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""
UPDATE_STATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local count = 0
if ARGV[1] ~= '' then count = redis.call('HINCRBY', KEYS[2], ARGV[1], 1) end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return count
"""
ADD_ANSWER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
"""
PUT_ITEM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local id = redis.call('HGET', KEYS[2], ARGV[1])
if id then redis.call('HSET', KEYS[3], id, ARGV[2]); return tonumber(id) end
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[3]) then return -1 end
id = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HSET', KEYS[3], id, ARGV[2])
return id
"""
SET_HIDDEN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
if ARGV[2] == '1' then redis.call('SADD', KEYS[3], ARGV[1]) else redis.call('SREM', KEYS[3], ARGV[1]) end
return 1
"""


def _said(exc: Exception) -> str:
    return " ".join(str(exc).split()).rstrip(".")    # one line, no closing full stop (the sentence adds one)


def _reachable(method):
    """Turn a refused or lost connection, or a server that refuses writes (out of memory, its disk full, a
    read-only replica), into StoreUnavailable naming the server."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailable(f"The class store (Redis at {self.where}) cannot be reached: {_said(exc)}.") from exc
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(f"The class store (Redis at {self.where}) refused a request: {_said(exc)}.") from exc
    return wrapper


def _checked(code: str, result: int) -> int:
    if result == GONE:
        raise NoSuchClass(code)
    return result


class RedisStore:
    def __init__(self, url: str):
        self.url = url
        self.client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        kwargs = self.client.connection_pool.connection_kwargs
        self.where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        scripts = {"create": CREATE, "add_student": ADD_STUDENT, "update_state": UPDATE_STATE,
                   "add_answer": ADD_ANSWER, "put_item": PUT_ITEM, "set_hidden": SET_HIDDEN}
        self._scripts = {name: self.client.register_script(text) for name, text in scripts.items()}
        self.ping()

    def _key(self, code: str, *parts) -> str:
        return ":".join(("cnnviz:class", code, *map(str, parts)))

    def _run(self, name: str, code: str, keys: list[str], args: list) -> int:
        return _checked(code, int(self._scripts[name](keys=[self._key(code, "record"), *keys], args=args)))

    @_reachable
    def ping(self) -> None:
        self.client.ping()

    @_reachable
    def create_class(self, code: str, key_hash: str, created: float) -> bool:
        keys = [self._key(code, "record"), CLASSES]
        return self._scripts["create"](keys=keys, args=[code, key_hash, repr(created)]) == 1

    @_reachable
    def class_record(self, code: str) -> dict | None:
        found = self.client.hgetall(self._key(code, "record"))
        if not found:
            return None
        return {"code": code, "key_hash": found[b"key_hash"].decode(), "created": float(found[b"created"])}

    @_reachable
    def add_student(self, code: str, student_id: str, cap: int) -> bool:
        return self._run("add_student", code, [self._key(code, "students")], [student_id, cap]) == 1

    @_reachable
    def student_count(self, code: str) -> int:
        return self.client.scard(self._key(code, "students"))

    @_reachable
    def update_state(self, code: str, values: dict[str, str], bump: str | None = None) -> int:
        pairs = [str(x) for field, value in values.items() for x in (field, value)]
        return self._run("update_state", code, [self._key(code, "state")], [bump or "", *pairs])

    @_reachable
    def state(self, code: str) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self._key(code, "state")).items()}

    @_reachable
    def add_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool:
        return self._run("add_answer", code, [self._key(code, "answers", question_id)], [student_id, choice]) == 1

    @_reachable
    def answers(self, code: str, question_id: int) -> dict[str, str]:
        found = self.client.hgetall(self._key(code, "answers", question_id))
        return {k.decode(): v.decode() for k, v in found.items()}

    @_reachable
    def put_item(self, code: str, kind: str, slot: str, data: bytes, cap: int) -> int | None:
        keys = [self._key(code, kind, "slots"), self._key(code, kind, "data"), self._key(code, kind, "seq")]
        found = self._run("put_item", code, keys, [slot, data, cap])
        return None if found == -1 else found

    @_reachable
    def items(self, code: str, kind: str) -> list[Item]:
        with self.client.pipeline(transaction=True) as pipe:    # one consistent view of the three keys
            pipe.hgetall(self._key(code, kind, "slots"))
            pipe.hgetall(self._key(code, kind, "data"))
            pipe.smembers(self._key(code, kind, "hidden"))
            slots, data, hidden = pipe.execute()
        slot_of = {int(i): s.decode() for s, i in slots.items()}
        hidden = {int(i) for i in hidden}
        return [Item(i, slot_of.get(i, ""), data[key], i in hidden)
                for i, key in sorted((int(k), k) for k in data)]

    @_reachable
    def set_hidden(self, code: str, kind: str, item_id: int, hidden: bool) -> bool:
        keys = [self._key(code, kind, "data"), self._key(code, kind, "hidden")]
        return self._run("set_hidden", code, keys, [item_id, "1" if hidden else "0"]) == 1

    @_reachable
    def remove_expired(self, before: float) -> list[str]:
        """Remove every class created before `before` (a time.time()), with all it holds; their codes."""
        removed = []
        for raw in self.client.zrangebyscore(CLASSES, "-inf", f"({before!r}"):
            code = raw.decode()
            self.client.delete(self._key(code, "record"))   # first: from now on every write to it is refused
            keys = list(self.client.scan_iter(match=self._key(code, "*"), count=500))
            if keys:
                self.client.delete(*keys)
            self.client.zrem(CLASSES, code)
            removed.append(code)
        return removed

    def close(self) -> None:
        self.client.close()
