"""A Streamlit method replaced by our wrapper of it, once per process (`wrap_once`)."""
from __future__ import annotations

import threading

WRAPS = "_cnnviz_wraps"   # on a replacement made here: the original method it wraps
_lock = threading.Lock()


def wrap_once(owner, name: str, wrap) -> None:
    """Set `owner.name` to `wrap(original)`, unless a replacement made here is there already: so once per process,
    however often and from however many threads it is asked. The replacement keeps the original (`WRAPS`)."""
    if is_wrapped(owner, name):
        return
    with _lock:
        if is_wrapped(owner, name):
            return
        original = getattr(owner, name)
        replacement = wrap(original)
        setattr(replacement, WRAPS, original)
        setattr(owner, name, replacement)


def is_wrapped(owner, name: str) -> bool:
    return hasattr(getattr(owner, name), WRAPS)
