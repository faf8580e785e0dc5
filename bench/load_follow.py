"""The load benchmark's class session (`python -m bench.load --class 2 --follow`): an instructor's moves between
the Class page and Pooling, published through the core, and N simulated students following them, answering and
drawing for the wall (bench/protocol_student.py); the time from each move to each student's page showing it."""
from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import parse_qs

from bench.load_stats import cpu_of, pct
from bench.protocol_student import ClassSession, ClassStudent, class_student
from livetest.canvas_value import Drawing


POOLING_VIEW = ("pooling", {"pool_kernel": "3", "pool_stride": "1"})
CLASS_VIEW = ("class_session", {})


def _shows(shown: list, after: float, view: tuple, before: float = float("inf")) -> float | None:
    """When a session's page first showed `view` (url path and every parameter) after `after` and before `before`
    (the instructor's next move), or None."""
    page, params = view
    for t, url_path, query in shown:
        got = {k: v[-1] for k, v in parse_qs(query).items()}
        if after <= t < before and url_path == page and all(got.get(k) == v for k, v in params.items()):
            return t
    return None


async def run_follow_class(base_url: str, store_url: str, n: int, drawings: list[Drawing], think: float,
                           warmup: float, duration: float, move_every: float, server_pids: tuple = ()) -> dict:
    """An instructor (a session on the Class page, watching the wall) and N following students for warmup +
    duration seconds. The instructor's moves are published through the core (the time of the change); a student
    has landed when its page shows the view. A drawing has arrived when the instructor's wall shows it."""
    from cnnviz import classroom
    from cnnviz.class_store import open_store

    store = open_store(store_url)
    code, key = classroom.start_class(store)
    classroom.publish_view(store, code, key, *CLASS_VIEW)
    classroom.ask_digit(store, code, key, 7)
    teacher = ClassSession(base_url, "class_session", f"{code}~instructor~teacher~{key}")
    await teacher.open()
    await teacher.wait_for(lambda: teacher.runs_finished, timeout=120)
    students = [ClassStudent(i, f"bench{i}") for i in range(n)]
    for s in students:
        classroom.join(store, code, s.student_id)
    t0 = time.monotonic()
    measure_from, stop_at = t0 + warmup, t0 + warmup + duration
    tasks = [asyncio.create_task(class_student(base_url, s, code, drawings, t0 + i * min(think, warmup) / max(n, 1),
                                               stop_at, think)) for i, s in enumerate(students)]
    apps = list(server_pids)
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    cpu0, wall0 = cpu_of(apps), time.monotonic()
    moves, question = [], 0
    while time.monotonic() + 2 * move_every <= stop_at:   # a whole cycle, while the students are there
        question += 1
        classroom.open_question(store, code, key, "quick_check", f"Question {question}: which is larger?",
                                ["3", "7", "5", "2"])
        await asyncio.sleep(move_every)
        for view in (POOLING_VIEW, CLASS_VIEW):   # to Pooling (kernel 3, stride 1) and back to the Class page
            moves.append((time.monotonic(), view))
            classroom.publish_view(store, code, key, *view)
            await asyncio.sleep(move_every / 2)
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    cpu1, wall1 = cpu_of(apps), time.monotonic()
    await asyncio.gather(*tasks)
    await asyncio.sleep(2.0)   # the last drawings reach the wall
    await teacher.close()

    follow, missed, by_page = [], 0, {}
    for i, (moved, view) in enumerate(moves):
        next_move = moves[i + 1][0] if i + 1 < len(moves) else float("inf")
        for s in students:
            landed = _shows(s.session.shown, moved, view, next_move)   # a page that caught up only at a later
            # move to the same view did not follow this one: "not followed", not a slow follow
            if landed is None:
                missed += 1
            else:
                follow.append((landed - moved) * 1000)
                by_page.setdefault(view[0], []).append(follow[-1])
    wall_ms, lost = [], 0
    for s in students:
        seen = [(t, created) for t, sid, created in teacher.wall_seen if sid == s.student_id]
        for sent_mono, sent_wall in s.sent:
            if sent_mono < measure_from:
                continue
            arrived = next((t for t, created in seen if created >= sent_wall - 0.01 and t >= sent_mono), None)
            if arrived is None:
                lost += 1
            else:
                wall_ms.append((arrived - sent_mono) * 1000)
    errors = [e for s in students for e in s.errors] + teacher.exceptions
    wall = wall1 - wall0
    return {
        "sessions": n, "think_s": think, "window_s": round(wall, 1), "moves": len(moves),
        "follow_p50_ms": pct(follow, 50), "follow_p95_ms": pct(follow, 95), "follow_max_ms": max(follow, default=None),
        "follow_missed": missed, "follow_p95_ms_by_page": {page: pct(v, 95) for page, v in by_page.items()},
        "drawings": len(wall_ms), "wall_p50_ms": pct(wall_ms, 50),
        "wall_p95_ms": pct(wall_ms, 95), "wall_max_ms": max(wall_ms, default=None), "drawings_lost": lost,
        "answers": sum(len(s.answered) for s in students), "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "server_cpu_pct": round(100 * sum(cpu1[p] - cpu0.get(p, 0.0) for p in cpu1) / wall, 1) if apps else None,
        "load_avg": [round(v, 1) for v in os.getloadavg()],
    }
