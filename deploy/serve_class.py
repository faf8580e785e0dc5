"""Serve a class: K cnnviz processes behind nginx, one class store they share, one command, Ctrl-C stops it all.

    python deploy/serve_class.py 2 8080                     # 2 app processes + nginx on port 8080
    python deploy/serve_class.py 4 8080 --address 0.0.0.0   # reachable from the room's network
    python deploy/serve_class.py 2 8080 --redis             # the class store in a redis-server started here
    python deploy/serve_class.py 2 --apps-only --first-app-port 8601 --app-address 0.0.0.0 \
        --class-store redis://:secret@10.0.0.10:6379/0      # an app machine (all of them share one Redis)
    python deploy/serve_class.py 0 8080 --backend 10.0.0.11:8601 --backend 10.0.0.11:8602    # front machine

The app processes listen on loopback ports (free ones, or --first-app-port upwards) and share one cookie
secret ($STREAMLIT_SERVER_COOKIE_SECRET where set, the same on every machine; else a random one), so any of
them accepts the cookies another one set. They also share one class store (where the Class page keeps each
class: cnnviz/class_store.py), passed to each as $CNNVIZ_CLASS_STORE and checked before any starts:
--class-store URL, else a SQLite file in this run's folder (one machine), or with --redis a redis-server
started here. nginx (Debian's /usr/sbin/nginx; no root needed) runs in the foreground from a temporary prefix
folder holding its config, pid, temp files and logs, and keeps each browser on one process
(deploy/nginx.conf.template says how). The app logs are in the same folder, which is printed at the start
and removed at the end unless --keep-logs. Before nginx starts, each app process runs every page once
(deploy/warm_up.py). docs/SERVING.md: serving across machines.

Only the standard library here (`python deploy/serve_class.py` or `python -m deploy.serve_class`); the class
store is started and checked by deploy/class_store.py.
"""
from __future__ import annotations

import argparse
import contextlib
import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy.class_store import check_store  # noqa: F401 - the tests reach it here
from deploy.class_store import free_port, shown_url, start_redis, wait_for_store
from deploy.warm_up import page_paths, rerun_message, run_outcome, warm_up  # noqa: F401 - the tests reach them here

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group started for `proc` (start_new_session=True: the process and its children, such
    as an app's training workers; nothing else), then SIGKILL if it hangs. livetest stops its servers with it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def nginx_binary() -> str:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light or nginx)")
    return exe


def nginx_config(prefix: Path, listen: str, backends: list[str]) -> str:
    """The template filled in: nginx on `listen` (port or address:port) in front of `backends` (host:port)."""
    if not backends:
        raise ValueError("nginx needs at least one app process: give K >= 1 or a --backend")
    servers = "\n".join(f"        server {b} max_fails=3 fail_timeout=10s;" for b in backends)
    user = worker_user()
    text = TEMPLATE.read_text()
    user_line = f"user {user[0]} {user[1]};          # started as root: workers drop to this user" if user else ""
    for name, value in (("@PREFIX@", str(prefix)), ("@LISTEN@", listen), ("@SERVERS@", servers),
                        ("@USER@", user_line)):
        text = text.replace(name, value)
    return text


def worker_user() -> tuple[str, str] | None:
    """(user, group) nginx's workers run as when it is started as root (they drop to nobody), else None."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_name, grp.getgrgid(nobody.pw_gid).gr_name


def make_prefix() -> Path:
    """nginx's prefix folder with its temp folders, writable by its workers (which may not be us: see above)."""
    prefix = Path(tempfile.mkdtemp(prefix="cnnviz-class-"))
    user = worker_user()
    if user:
        prefix.chmod(0o755)  # the workers must reach their temp folders (uploads are buffered there)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir()
        if user:
            shutil.chown(prefix / sub, *user)
    return prefix


def healthy(url: str) -> bool:
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    return False


@dataclass
class Class:
    """K app processes (their urls and Popen objects), nginx, the class store they share (its URL, and the
    redis-server when started here), and the prefix folder with every log."""
    prefix: Path
    url: str | None = None
    apps: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    keep_logs: bool = False
    store_url: str | None = None
    redis: subprocess.Popen | None = None

    def access_log(self) -> str:
        path = self.prefix / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in [self.nginx] + [p for _, p in self.apps] + [self.redis]:   # the store last
            if proc is not None:
                stop_process(proc)
        if not self.keep_logs:
            shutil.rmtree(self.prefix, ignore_errors=True)


def start_apps(k: int, prefix: Path, address: str, first_port: int | None, cookie_secret: str,
               env: dict | None = None, options: tuple = ()) -> list[tuple[str, subprocess.Popen]]:
    apps = []
    for i in range(k):
        port = first_port + i if first_port else free_port(address)
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", address, "--server.headless", "true",
               *options]
        shared = {"STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret}   # not allowed as a command-line flag
        with open(prefix / f"app-{port}.log", "a") as log:   # a process restarted on the port: after the first
            proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **shared, **(env or {})}, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        host = "127.0.0.1" if address in ("0.0.0.0", "") else address
        apps.append((f"{host}:{port}", proc))
    return apps


def wait_healthy(apps: list[tuple[str, subprocess.Popen]], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(apps)
    while waiting:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not healthy after {timeout:.0f} s: {[a for a, _ in waiting]}")
        for app in list(waiting):
            if app[1].poll() is not None:
                raise RuntimeError(f"the app process on {app[0]} exited with code {app[1].returncode}")
            if healthy(f"http://{app[0]}"):
                waiting.remove(app)
        time.sleep(0.2)


def start_class(k: int, port: int | None = None, address: str = "127.0.0.1", backends: tuple = (),
                app_address: str = "127.0.0.1", first_app_port: int | None = None, env: dict | None = None,
                with_nginx: bool = True, keep_logs: bool = False, options: tuple = (), warm: bool = True,
                class_store: str | None = None, redis: bool = False, redis_address: str = "127.0.0.1",
                redis_port: int | None = None) -> Class:
    """Start the class store (redis=True: a redis-server started here, else `class_store`, else CNNVIZ_CLASS_STORE in
    `env`, else SQLite in the run's folder; when there are app processes here or redis=True) and check that it can
    be used (deploy/class_store.py), K app
    processes sharing it and (unless with_nginx=False) nginx in front of them and of `backends`; return once
    every process answers and (warm=True) has run every page once. The caller stops it all with `Class.stop()`."""
    prefix = make_prefix()
    served = Class(prefix, keep_logs=keep_logs)
    try:
        if k > 0 or redis:    # the store: redis=True, else class_store, else the one `env` names, else SQLite
            if redis:
                served.redis, served.store_url = start_redis(prefix, redis_address, redis_port)
            else:
                served.store_url = (class_store or (env or {}).get("CNNVIZ_CLASS_STORE")
                                    or f"sqlite://{prefix / 'classes.sqlite3'}")
            wait_for_store(served.store_url, served.redis)   # our redis-server gets up to 20 s to start
        secret = os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)  # set it: many machines
        env = {**(env or {}), "CNNVIZ_CLASS_STORE": served.store_url} if served.store_url else env
        served.apps = start_apps(k, prefix, app_address, first_app_port, secret, env, options)
        wait_healthy(served.apps)
        if warm:
            for problem in warm_up([a for a, _ in served.apps]):
                print(f"warm-up: {problem}", file=sys.stderr, flush=True)
        if with_nginx:
            port = port or free_port()
            conf = prefix / "nginx.conf"
            conf.write_text(nginx_config(prefix, f"{address}:{port}", [a for a, _ in served.apps] + list(backends)))
            served.nginx = subprocess.Popen([nginx_binary(), "-p", str(prefix), "-c", str(conf)],
                                            stdout=subprocess.DEVNULL, stderr=open(prefix / "nginx.out", "w"),
                                            start_new_session=True)
            host = "127.0.0.1" if address in ("0.0.0.0", "") else address
            served.url = f"http://{host}:{port}"
            deadline = time.monotonic() + 30
            while not healthy(served.url):
                if served.nginx.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: " + (prefix / "nginx.out").read_text()[-2000:])
                time.sleep(0.1)
    except BaseException:
        served.stop()
        raise
    return served


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("k", type=int, help="app processes on this machine (about 1.5 per CPU core)")
    ap.add_argument("port", type=int, nargs="?", default=8080, help="nginx's port (default 8080)")
    ap.add_argument("--address", default="127.0.0.1", help="nginx's address; 0.0.0.0 for the whole network")
    ap.add_argument("--backend", action="append", default=[], metavar="HOST:PORT",
                    help="an app process on another machine, also served by this nginx (repeat)")
    ap.add_argument("--apps-only", action="store_true", help="start the app processes only (no nginx)")
    ap.add_argument("--app-address", default="127.0.0.1", help="the app processes' address (0.0.0.0 with "
                    "--apps-only, for an nginx on another machine)")
    ap.add_argument("--first-app-port", type=int, help="app ports from here upwards (default: free ones)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the folder with the logs at the end")
    ap.add_argument("--class-store", metavar="URL", default=os.environ.get("CNNVIZ_CLASS_STORE"),
                    help="where classes live, shared by every app process: sqlite:///path/file.sqlite3 (one "
                    "machine) or redis://[:password@]host:6379/0 (several); default $CNNVIZ_CLASS_STORE, else a "
                    "SQLite file in this run's folder")
    ap.add_argument("--redis", action="store_true", help="start a redis-server here as the class store (with "
                    "a random password; its URL is printed, for the app machines' --class-store)")
    ap.add_argument("--redis-address", default="127.0.0.1", help="the redis-server's address (0.0.0.0: "
                    "reachable by app processes on other machines)")
    ap.add_argument("--redis-port", type=int, default=None, help="the redis-server's port (default: a free one)")
    args = ap.parse_args(argv)
    if args.apps_only and args.k < 1:
        ap.error("--apps-only needs K >= 1")
    if args.redis and args.class_store:
        ap.error("give either --redis (a store started here) or --class-store URL, not both")
    if args.apps_only and not args.redis and not (args.class_store or "").startswith(("redis", "unix")):
        print("note: app processes on several machines must share one class store: give them all the same "
              "--class-store redis://... (a SQLite file serves the processes of one machine only)", flush=True)

    print(f"starting {args.k} app processes; each opens every page once before the class comes in", flush=True)
    try:
        served = start_class(args.k, args.port, args.address, tuple(args.backend), args.app_address,
                             args.first_app_port, with_nginx=not args.apps_only, keep_logs=args.keep_logs,
                             class_store=args.class_store, redis=args.redis, redis_address=args.redis_address,
                             redis_port=args.redis_port)
    except (RuntimeError, TimeoutError) as exc:
        print(f"cannot serve the class: {exc}", file=sys.stderr, flush=True)
        return 1
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print(f"app processes: {', '.join(a for a, _ in served.apps) or 'none here'}", flush=True)
    if served.store_url:
        where = "a redis-server started here" if served.redis else "given" if args.class_store else "SQLite, this run"
        print(f"class store ({where}): {served.store_url if served.redis else shown_url(served.store_url)}",
              flush=True)
    if served.url:
        print(f"serving the class at {served.url} (nginx, {len(served.apps) + len(args.backend)} processes)")
    print(f"logs in {served.prefix}; Ctrl-C stops everything", flush=True)
    try:
        while not stopping:
            if served.nginx is not None and served.nginx.poll() is not None:
                print("nginx stopped: " + (served.prefix / "error.log").read_text()[-1000:], file=sys.stderr)
                break
            if served.redis is not None and served.redis.poll() is not None:
                print("the class store's redis-server stopped: the Class page says so; every other page goes on",
                      file=sys.stderr, flush=True)
                served.redis = None
            for address, proc in served.apps:
                if proc.poll() is not None and not getattr(proc, "_reported", False):
                    proc._reported = True
                    print(f"app process {address} exited ({proc.returncode}); nginx sends its browsers to the "
                          "others (they reconnect into a new session)", file=sys.stderr, flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping...", flush=True)
        served.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
