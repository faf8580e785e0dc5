"""A class served by two app processes behind nginx (deploy/serve_class.py), driven in real Chromium.

Four students, two on each process: two draw, two upload a checkpoint and train. Every request of one browser
(its page, its websocket, its uploads) must reach the one process that holds its session, as nginx's access
log shows; and once the class is stopped, nothing it started (nginx, apps, training workers) is left running.
Also: the class store every app process is given (SQLite in the run's folder, a URL, or a redis-server started
by the script), and the warm-up's hand-written protobuf fields checked against Streamlit's own classes.
"""
from __future__ import annotations

import re
import time
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from e2e_helpers import exceptions_on, go_to_page_in_session, main_text, open_page, stop_class, wait_until
from livetest import PAGE_PATHS, REPO, free_port, load_script, streamlit_server
from livetest.drawing import DIGITS, clear_canvas, draw_and_predict

pytestmark = pytest.mark.browser

COOKIE = "cnnviz_node"       # nginx's userid cookie (deploy/nginx.conf.template)
CHECKPOINT = REPO / "checkpoints" / "digitcnn.safetensors"
LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) affinity="(?P<affinity>[^"]*)" '
                  r'upstream=(?P<upstream>\S+)')


def _serve_class():
    return load_script(REPO / "deploy" / "serve_class.py", "serve_class")


def _group_members(pgids: set[int]) -> list[int]:
    """Live processes (not zombies) in any of the process groups `pgids`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] not in ("Z", "X") and int(fields[2]) in pgids:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def served(data_root):
    """Two app processes and nginx; stopped (and their logs kept in artifacts/logs/) even if the test fails."""
    served = _serve_class().start_class(2, env={"CNNVIZ_DATA": str(data_root)}, keep_logs=True)
    try:
        yield served
    finally:
        stop_class(served, "serve-class")


def _log_lines(served) -> list[dict]:
    return [m.groupdict() for m in map(LINE.search, served.access_log().splitlines()) if m]


def _new_browser_id(served, probe: int) -> tuple[str, str, str]:
    """A fresh browser id from nginx (one plain request without the cookie): (cookie value, the affinity key
    nginx logs for it, the process it maps to)."""
    with urllib.request.urlopen(f"{served.url}/_stcore/health?probe={probe}", timeout=10) as reply:
        jar = SimpleCookie()
        for header in reply.headers.get_all("Set-Cookie") or []:   # Streamlit's XSRF cookie comes too
            jar.load(header)
        cookie = jar[COOKIE].value
    line = wait_until(lambda: [x for x in _log_lines(served) if x["path"].endswith(f"probe={probe}")], 10,
                      f"the access log line of probe {probe}")[0]
    return cookie, line["affinity"], line["upstream"]


def _browser_ids(served, per_process: int = 2) -> dict[str, list[tuple[str, str]]]:
    """`per_process` browser ids for each app process: process -> [(cookie value, affinity key)]."""
    ids = {address: [] for address, _ in served.apps}
    for probe in range(64):   # hash-consistent: each new id lands on either process with probability ~1/2
        cookie, affinity, upstream = _new_browser_id(served, probe)
        if len(ids[upstream]) < per_process:
            ids[upstream].append((cookie, affinity))
        if all(len(v) == per_process for v in ids.values()):
            return ids
    raise AssertionError(f"64 new browsers did not give {per_process} on each process: {ids}")


def _student(browser, served, cookie: str, console: list):
    """A browser session that already holds its nginx id, on the home page (as after the instructor's link)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    ctx.set_default_timeout(60_000)
    ctx.add_cookies([{"name": COOKIE, "value": cookie, "url": served.url}])
    page = ctx.new_page()
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    open_page(page, served.url, "")
    return ctx, page


def _step(page) -> int:
    text = page.locator('[data-testid="stProgress"]').first.inner_text(timeout=1000)
    found = re.search(r"step (\d+)/", text)
    return int(found[1]) if found else 0


def _upload_and_start(page) -> None:
    go_to_page_in_session(page, "Training")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(CHECKPOINT))
    wait_until(lambda: f"Active model: uploaded {CHECKPOINT.name}" in main_text(page), 60,
               "the uploaded checkpoint to become the active model")
    page.get_by_role("button", name="Start training").click()


def test_two_processes_behind_nginx_keep_each_student_on_one_process(served, browser):
    ids = _browser_ids(served)
    (a, b) = [address for address, _ in served.apps]
    errors: list[str] = []
    students = {}                                      # name -> (process, affinity, context, page)
    try:
        for name, (process, n) in {"draw-a": (a, 0), "draw-b": (b, 0), "train-a": (a, 1), "train-b": (b, 1)}.items():
            cookie, affinity = ids[process][n]
            students[name] = (process, affinity, *_student(browser, served, cookie, errors))

        for name, digit in (("draw-a", 7), ("draw-b", 1)):
            page = students[name][3]
            go_to_page_in_session(page, "Draw a digit")
            assert draw_and_predict(page, DIGITS[digit]) == digit

        for name in ("train-a", "train-b"):          # both runs start before either is waited for
            _upload_and_start(students[name][3])
        for name in ("train-a", "train-b"):
            page = students[name][3]
            wait_until(lambda: _step(page) >= 2, 90, f"{name}'s run to pass step 2")
            page.get_by_role("button", name="Stop", exact=True).click()
        for name in ("train-a", "train-b"):
            students[name][3].get_by_text("Stopped early").first.wait_for(timeout=90_000)

        page = students["draw-a"][3]                  # the first student still draws while the others trained
        clear_canvas(page)
        assert draw_and_predict(page, DIGITS[4]) == 4
        for name, (_, _, _, page) in students.items():
            assert exceptions_on(page) == [], name
    finally:
        for _, _, ctx, _ in students.values():
            ctx.close()                               # nginx logs a websocket when it closes
    assert errors == []

    def lines_of(affinity):
        return [x for x in _log_lines(served) if x["affinity"] == affinity]

    for name, (process, affinity, _, _) in students.items():
        wait_until(lambda: any(x["path"] == "/_stcore/stream" for x in lines_of(affinity)), 30,
                   f"{name}'s websocket in the access log")
        lines = lines_of(affinity)
        assert {x["upstream"] for x in lines} == {process}, (name, lines)
        if name.startswith("train"):
            uploads = [x for x in lines if x["path"].startswith("/_stcore/upload_file")]
            assert uploads and all(x["status"].startswith("2") for x in uploads), (name, uploads)

    pgids = {proc.pid for _, proc in served.apps} | {served.nginx.pid}   # each started in its own group
    served.stop()
    deadline = time.monotonic() + 30
    while left := _group_members(pgids):
        assert time.monotonic() < deadline, f"still running after the class was stopped: {left}"
        time.sleep(0.1)


def test_the_warm_up_runs_every_page_of_a_process_once(data_root):
    """serve_class warms each new process up (every page once, home first) so a lecture's first class does not
    pay the first runs; on a healthy process it finds nothing to report."""
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root)}, name="warm-up") as srv:
        problems = _serve_class().warm_up([srv.url.removeprefix("http://")])
        log = srv.log()
    assert problems == [], problems
    assert "Traceback" not in log


def test_the_warm_up_reports_a_process_it_cannot_reach_instead_of_failing():
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    problems = _serve_class().warm_up([address], timeout=5)
    assert len(problems) == len(PAGE_PATHS) and all(p.startswith(address + "/") for p in problems), problems



def test_the_warm_up_speaks_streamlit_s_protobufs_as_streamlit_writes_them():
    serve = _serve_class()
    for page in ("", "pooling"):
        msg = BackMsg()
        msg.ParseFromString(serve.rerun_message(page))
        assert msg.WhichOneof("type") == "rerun_script" and msg.rerun_script.page_name == page
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY      # 0: still written, being in a oneof
    assert serve.run_outcome(finished.SerializeToString()) == (True, None)
    failed = ForwardMsg()
    failed.delta.fragment_id = "f"
    failed.delta.new_element.exception.type = "ValueError"
    failed.delta.new_element.exception.message = "kernel larger than the input"
    failed.metadata.delta_path.extend([0, 3])
    assert serve.run_outcome(failed.SerializeToString()) == (False, "ValueError: kernel larger than the input")
    other = ForwardMsg()
    other.delta.new_element.markdown.body = "x" * 300                  # a long field before nothing of interest
    assert serve.run_outcome(other.SerializeToString()) == (False, None)


def test_the_warm_up_walks_the_same_pages_as_the_app():
    paths = _serve_class().page_paths()
    assert paths[0] == "" and sorted(paths) == sorted(PAGE_PATHS)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_every_app_process_gets_the_class_store_checked_before_it_starts(data_root):
    """By default, a SQLite file in the run's folder: created (tables and all) before the apps start."""
    serve = _serve_class()
    served = serve.start_class(2, env={"CNNVIZ_DATA": str(data_root)}, with_nginx=False, warm=False)
    try:
        assert served.store_url == f"sqlite://{served.prefix / 'classes.sqlite3'}"
        assert (served.prefix / "classes.sqlite3").exists()
        for _, proc in served.apps:
            assert _environ(proc.pid)["CNNVIZ_CLASS_STORE"] == served.store_url
    finally:
        served.stop()


def test_a_class_store_named_in_the_apps_environment_is_the_one_they_share(data_root, tmp_path):
    """A caller that names the store in `env` (as a restarted process will get it) gets that one, created."""
    url = f"sqlite://{tmp_path / 'kept.sqlite3'}"
    served = _serve_class().start_class(1, env={"CNNVIZ_DATA": str(data_root), "CNNVIZ_CLASS_STORE": url},
                                        with_nginx=False, warm=False)
    try:
        assert served.store_url == url and (tmp_path / "kept.sqlite3").exists()
        assert _environ(served.apps[0][1].pid)["CNNVIZ_CLASS_STORE"] == url
    finally:
        served.stop()


def test_a_class_store_that_cannot_be_reached_stops_the_start_with_its_sentence():
    serve = _serve_class()
    port = free_port()
    with pytest.raises(RuntimeError, match=rf"class store redis://:\*\*\*@127.0.0.1:{port}/0 cannot be used: "
                                           rf"The class store \(Redis at 127.0.0.1:{port}\) cannot be reached"):
        serve.start_class(1, with_nginx=False, warm=False, class_store=f"redis://:pw@127.0.0.1:{port}/0")


def test_redis_started_by_the_script_is_the_class_store_and_stops_with_the_class(data_root):
    """--redis: a redis-server with a random password in the run's folder, pinged before the apps start."""
    serve = _serve_class()
    served = serve.start_class(1, env={"CNNVIZ_DATA": str(data_root)}, with_nginx=False, warm=False, redis=True)
    try:
        url = served.store_url
        assert re.fullmatch(r"redis://:[0-9a-f]{32}@127\.0\.0\.1:\d+/0", url), url
        assert _environ(served.apps[0][1].pid)["CNNVIZ_CLASS_STORE"] == url
        serve.check_store(url)                                                   # reachable with the password
        with pytest.raises(RuntimeError, match="cannot be used"):
            serve.check_store(re.sub(r":[0-9a-f]{32}@", ":wrong@", url))          # and not without it
        redis = served.redis
    finally:
        served.stop()
    assert redis.poll() is not None
