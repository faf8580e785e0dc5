"""The server-wide training limit, seen from two students' browsers on a server that allows one job."""
from __future__ import annotations

import re

import pytest

from e2e_helpers import alerts, choose, exceptions_on, open_page, rerun, wait_until
from livetest import streamlit_server, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def one_job_url(data_root):
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root), "CNNVIZ_MAX_JOBS": "1"}, name="e2e-one-job") as srv:
        yield srv.url


def _start(page) -> None:
    choose(page, "Batch size", "32")
    wait_idle(page)
    rerun(page, page.get_by_role("button", name="Start training").click)


def _step(page) -> int:
    found = wait_until(lambda: re.search(r"step (\d+)/", page.locator('[data-testid="stProgress"]').first.inner_text()),
                       60, "the progress bar to show a step")
    return int(found[1])


def test_a_second_student_is_told_training_is_busy_and_the_first_run_goes_on(browser, one_job_url):
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    open_page(first, one_job_url, "")
    open_page(first, one_job_url, "training")
    _start(first)
    first.wait_for_function("() => /step [1-9]/.test(document.body.innerText)", timeout=90_000)

    open_page(second, one_job_url, "training")
    _start(second)
    wait_until(lambda: any("Training is busy" in a for a in alerts(second)), 30, "the busy message")
    assert exceptions_on(second) == []

    # The second student can still use the rest of the app, and the first run keeps going.
    open_page(second, one_job_url, "pooling")
    assert exceptions_on(second) == []
    before = _step(first)
    first.wait_for_function(f"() => {{ const m = document.body.innerText.match(/step (\\d+)\\//); "
                            f"return m && +m[1] > {before}; }}", timeout=60_000)
    rerun(first, first.get_by_role("button", name="Stop", exact=True).click)
    first.context.close()
    second.context.close()
