"""The class store a served class shares: chosen, started (a redis-server of ours) and checked before any app starts.

The app processes open the store themselves (cnnviz/class_store.py, from $CNNVIZ_CLASS_STORE); here it is only
started and checked, by a Python process started from the repository root, as an app process opens it. Also
`free_port`, for the servers deploy/serve_class.py starts. Only the standard library here.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STORE_CHECK = """
import sys
from cnnviz.class_store import StoreUnavailable, open_store
try:
    open_store(sys.argv[1]).close()
except (StoreUnavailable, ValueError) as exc:
    sys.exit(str(exc))
"""


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port the OS says is free right now on `address`."""
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def shown_url(url: str) -> str:
    """A store URL fit to print: its password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def check_store(url: str, timeout: float = 60.0) -> None:
    """Open the store `url` as an app process will (a Python started from the repository root, importing
    cnnviz) and create its tables; RuntimeError with the store's own sentence when it cannot be used."""
    done = subprocess.run([sys.executable, "-c", STORE_CHECK, url], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={k: v for k, v in os.environ.items() if k != "CNNVIZ_CLASS_STORE"})
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no message)"]
        raise RuntimeError(f"the class store {shown_url(url)} cannot be used: {lines[-1]}")


def wait_for_store(url: str, redis: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    """check_store(url), tried again for up to `timeout` s while `redis` (our redis-server, just started) is
    still running; RuntimeError when the store cannot be used."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check_store(url)
        except RuntimeError:
            if redis is None or redis.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def redis_binary() -> str:
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if exe is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    return exe


def start_redis(prefix: Path, address: str = "127.0.0.1", port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A redis-server for the class store, its data and log in `prefix`, a random password: (process, URL)."""
    port = port or free_port(address)
    password = secrets.token_hex(16)
    (prefix / "redis").mkdir(exist_ok=True)
    conf = prefix / "redis" / "redis.conf"   # the password in a file of ours, not on a command line
    conf.write_text(f"port {port}\nbind {address}\nrequirepass {password}\ndir {prefix / 'redis'}\n"
                    "appendonly yes\nappendfsync everysec\nsave \"\"\nlogfile redis.log\n")
    conf.chmod(0o600)
    proc = subprocess.Popen([redis_binary(), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    host = "127.0.0.1" if address in ("0.0.0.0", "") else address
    return proc, f"redis://:{password}@{host}:{port}/0"
