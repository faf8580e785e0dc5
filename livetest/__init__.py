"""A live Streamlit server and a headless Chromium: shared by the browser tests (tests/e2e/) and bench/.

    with streamlit_server(env={"CNNVIZ_DATA": root}, name="bench") as server:   # server.url, server.proc
        browser = launch_browser(playwright)    # sync or async Playwright; await it in async code

`start_server` / `Server.stop()` do the same without a `with`. The server runs `streamlit run app.py` from
the repository root on a port the OS picks, in its own process group; its log lands in artifacts/logs/.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cnnviz_ui.pages_list import URL_PATHS
from deploy.class_store import free_port  # noqa: F401 - one way to find a free port; callers use livetest.free_port
from deploy.serve_class import stop_process  # one way to end a server's process group, shared with deploy

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"   # gitignored: screenshots, server logs, benchmark results

# Every page's URL path, in the sidebar's order ("" is the home page, which must run first in a new server).
PAGE_PATHS = URL_PATHS

# Headless Chromium with nothing that reaches the network or competes for the CPU on its own.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# Console messages that are not the app's fault, matched against "text [url]". Each filter is precise.
BENIGN_CONSOLE = [
    # Opened at a page's own URL (/pooling), Streamlit's frontend first probes for a server mounted under
    # that path (/pooling/_stcore/health and /host-config), gets a 404, then uses the root: its own probe.
    re.compile(r"^Failed to load resource: the server responded with a status of 404 \(Not Found\) "
               r"\[https?://[^/]+/[a-z_]+/_stcore/(health|host-config)\]$"),
]


# ---------------------------------------------------------------- server

@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_path: Path | None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc)


def start_server(port: int | None = None, env: dict | None = None, name: str = "server", timeout: float = 90.0,
                 options: tuple = (), log: bool = True, script: str | Path = "app.py") -> Server:
    """Start `streamlit run app.py [options]` on `port` (default: a free one) and wait until it is healthy.

    `env` is added to this process's environment; log=False sends the output nowhere instead of
    artifacts/logs/<name>-<port>.log; `script` runs another app (a benchmark's baseline) the same way, from the
    repository root. The caller stops it with `server.stop()`.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1", *options]
    full_env = {**os.environ, **(env or {})}
    log_path = None
    if log:
        (ARTIFACTS / "logs").mkdir(parents=True, exist_ok=True)
        log_path = ARTIFACTS / "logs" / f"{name}-{port}.log"
    with open(log_path or os.devnull, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_for_health(server.url, proc, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def streamlit_server(port: int | None = None, env: dict | None = None, name: str = "server",
                     timeout: float = 90.0, options: tuple = (), log: bool = True):
    """start_server(...) as a context manager: yields the Server and stops it afterwards."""
    server = start_server(port, env, name, timeout, options, log)
    try:
        yield server
    finally:
        server.stop()


def wait_for_health(url: str, proc: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    """Poll /_stcore/health until it answers "ok"; fail fast if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        time.sleep(0.05)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f} s")


def machine() -> str:
    """This machine in one line (cores, CPU model, memory, OS), for a benchmark's header."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, {platform.system()} {platform.release()}"


def process_stats(pid: int) -> dict:
    """CPU seconds (user+system) and resident memory in MB of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu_s = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    rss_kb = next((int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:")), 0)  # a zombie has no resident memory line
    return {"cpu_s": cpu_s, "rss_mb": rss_kb / 1024, "ppid": int(fields[1])}


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = process_stats(int(entry.name))["ppid"]
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, ppid in parents.items() if ppid in frontier]
        found += children
        frontier = children
    return found


# ---------------------------------------------------------------- browser

def chromium_path() -> str:
    """Debian's Chromium (Playwright's own download is not used)."""
    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("Debian's chromium is not installed: run `bash scripts/test.sh`, which installs it")
    return exe


def launch_browser(playwright, extra_flags: tuple = ()):
    """Launch headless Chromium with CHROMIUM_FLAGS; returns a Browser (an awaitable in async Playwright)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=[*CHROMIUM_FLAGS, *extra_flags])


def console_text(msg) -> str:
    """A console message as "text [url]" (the url says which resource failed)."""
    url = (msg.location or {}).get("url") or ""
    return f"{msg.text} [{url}]" if url else msg.text


def is_benign(msg) -> bool:
    """True for a console message that BENIGN_CONSOLE says is not the app's fault."""
    text = console_text(msg)
    return any(rx.search(text) for rx in BENIGN_CONSOLE)


SCRIPT_STATE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a ? a.getAttribute('data-test-script-state') : null; }"""


def wait_idle(page, timeout: float = 60.0, settle: float = 0.3) -> None:
    """Wait until the Streamlit script is not running (and stays so for `settle` seconds); sync Playwright."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if page.evaluate(SCRIPT_STATE_JS) == "notRunning":
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(50)
    raise TimeoutError(f"script still running after {timeout:.0f} s")


def load_script(path: Path, name: str):
    """A script that is not in a package (bench/load.py, deploy/serve_class.py) imported as module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module                  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
