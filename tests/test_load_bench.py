"""bench/load.py: simulated students over Streamlit's websocket protocol get a prediction for every drawing."""
import asyncio
import concurrent.futures

import pytest

from cnnviz.sketch import STROKES
from livetest import streamlit_server
from livetest.canvas_value import make_drawings


def _load_module():
    from bench import load  # bench/ is a package: run as `python -m bench.load`
    return load


def test_simulated_drawings_have_their_own_digests():
    """Each drawing the students send is tagged with the digest its prediction will carry, all different."""
    drawings = make_drawings()
    assert {d.digit for d in drawings} == set(STROKES)
    assert len({d.digest for d in drawings}) == len(drawings)


def test_a_report_row_has_a_cell_per_column_a_dash_where_nothing_was_measured_and_each_error(capsys):
    from bench.load_report import HEADER, print_row
    row = {"sessions": 20, "trainers": 1, "drawings": 100, "pred_p50_ms": 123.4, "pred_p95_ms": None,
           "pred_max_ms": 500.0, "run_p95_ms": 80.2, "wrong": 0, "errors": 1, "server_cpu_pct": 55.5,
           "workers_cpu_pct": None, "server_rss_mb": 400, "generator_cpu_pct": 3.2, "load_avg": [1.5, 2.5],
           "error_samples": ["no prediction within 30 s"]}
    print_row(row)
    table_row, error = capsys.readouterr().out.splitlines()
    assert table_row.count("|") == HEADER.splitlines()[0].count("|")
    assert table_row == "| 20 | 1 | 100 | 123 | - | 500 | 80 | 0 | 1 | 56 | - | 400 | 3 | 1.5-2.5 |"
    assert error == "    error: no prediction within 30 s"


@pytest.fixture(scope="module")
def server(data_root):
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root)}, name="load-bench") as s:
        yield s


@pytest.mark.slow
def test_two_simulated_students_get_a_prediction_for_every_drawing(server):
    """Two students draw over the protocol for a few seconds: every drawing sent gets the right digit back."""
    load = _load_module()

    async def run():
        drawings = make_drawings()
        await load.open_home(server.url, sessions=1)
        return await load.run_class(server.url, 2, drawings, think=1.0, warmup=0.0, duration=3.0,
                                    server_pids=(server.proc.pid,), min_rounds=2)

    # In its own thread: the browser tests' Playwright keeps an event loop running in this one all session.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, run()).result(timeout=300)
    assert result["errors"] == 0, result["error_samples"]
    assert result["drawings"] >= 4     # two rounds each at least
    assert result["wrong"] == 0
    assert result["server_rss_mb"] > 0


@pytest.fixture
def class_server(data_root, tmp_path):
    store = f"sqlite://{tmp_path / 'classes.sqlite3'}"
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root), "CNNVIZ_CLASS_STORE": store}, name="load-follow") as s:
        yield s, store


@pytest.mark.slow
def test_following_students_land_on_every_view_and_every_drawing_reaches_the_wall(class_server):
    """`--follow`: three students follow the instructor's moves, answer and draw for the wall; every move is
    followed by every student, every drawing sent shows on the instructor's wall, nothing fails."""
    load = _load_module()
    server, store = class_server

    async def run():
        await load.open_home(server.url, sessions=1)
        return await load.run_follow_class(server.url, store, 3, make_drawings(), think=2.0, warmup=3.0,
                                           duration=14.0, move_every=4.0, server_pids=(server.proc.pid,))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, run()).result(timeout=300)
    assert result["errors"] == 0, result["error_samples"]
    assert result["moves"] >= 2 and result["follow_missed"] == 0
    assert result["follow_p95_ms"] is not None
    assert result["drawings"] >= 3 and result["drawings_lost"] == 0
    assert result["answers"] >= 3
