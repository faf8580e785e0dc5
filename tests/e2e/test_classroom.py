"""A small classroom (bench/classroom.py, shortened): four students draw at once while a fifth trains.

Every student must only ever see the prediction for their own digit: sessions never leak into each other.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest


pytestmark = pytest.mark.browser


def _bench():
    from bench import classroom  # bench/ is a package: run as `python -m bench.classroom`
    return classroom


def test_four_students_drawing_at_once_each_see_only_their_own_digit(server, base_url):
    classroom = _bench().run_classroom(base_url, server.proc.pid, n=4, duration=15, think=2.0, train=True,
                                       min_rounds=3)
    with ThreadPoolExecutor(1) as pool:              # its own thread: the sync browser fixture owns this one
        result = pool.submit(asyncio.run, classroom).result()
    print(result)
    assert result["errors"] == []
    assert result["wrong_predictions"] == []
    assert result["drawings"] >= 12                    # every student drew (and cleared) three times
    assert result["students_correct"] == 4
