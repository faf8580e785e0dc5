"""One simulated student, and one simulated trainer, for the load benchmark (bench/load.py): what a session
does over Streamlit's own websocket protocol, with no browser.

A student opens the Draw page, waits a think time, presses the page's Clear, and sends a real drawing (the
canvas component's value) as the widget state of the canvas the server just mounted; it records the time
from sending to the arrival of that drawing's prediction, and to the end of the rerun. A trainer opens the
Training page, submits the form and keeps its live view polled, as the browser does.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field


from streamlit.proto.WidgetStates_pb2 import WidgetState

from livetest.canvas_value import Drawing
from livetest.streamlit_session import TIMEOUT_S, Session


@dataclass
class Student:
    index: int
    pred_ms: list = field(default_factory=list)      # send -> prediction arrives
    run_ms: list = field(default_factory=list)       # send -> the rerun has finished
    wrong: int = 0
    errors: list = field(default_factory=list)
    sent: int = 0


async def student(base_url: str, me: Student, drawings: list[Drawing], start_at: float, measure_from: float,
                  stop_at: float, think: float, clear: bool, min_rounds: int = 0) -> None:
    rng = random.Random(me.index)
    session = Session(base_url, "draw")
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        await session.open()
        await session.wait_for(lambda: session.runs_finished and session.canvas(), timeout=120)  # a cold start
        rounds = 0
        while time.monotonic() < stop_at or rounds < min_rounds:
            await asyncio.sleep(think * rng.uniform(0.8, 1.2))
            if time.monotonic() >= stop_at and rounds >= min_rounds:
                break
            rounds += 1
            wid, fragment = session.canvas()
            if clear and "Clear" in session.elements:
                old, done = wid, session.runs_finished
                session.widgets.pop(wid, None)
                await session.rerun(fragment_id=session.elements["Clear"][2], trigger=session.elements["Clear"][0])
                await session.wait_for(lambda: session.runs_finished > done and session.canvas()[0] != old)
                wid, fragment = session.canvas()
            drawing = drawings[rng.randrange(len(drawings))]
            session.widgets[wid] = WidgetState(id=wid, json_value=drawing.value)
            seen, done = len(session.predictions), session.runs_finished
            sent = time.monotonic()
            await session.rerun(fragment_id=fragment)
            try:
                t, _, digit = await session.wait_for(
                    lambda: next((p for p in session.predictions[seen:] if p[1] == drawing.digest), None))
                await session.wait_for(lambda: session.runs_finished > done)
            except TimeoutError:
                if sent >= measure_from:
                    me.errors.append(f"no prediction within {TIMEOUT_S:.0f} s")
                continue
            if sent >= measure_from:
                me.sent += 1
                me.pred_ms.append((t - sent) * 1000)
                me.run_ms.append((time.monotonic() - sent) * 1000)
                me.wrong += digit != drawing.digit
            if session.exceptions:
                me.errors.extend(session.exceptions)
                session.exceptions.clear()
    except Exception as exc:  # the connection broke, the page never came: an error, the class goes on
        me.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await session.close()


async def trainer(base_url: str, report: dict, stop: asyncio.Event, epochs: int = 10) -> None:
    """A session on the Training page that submits the form (`epochs` epochs) and keeps its live view polled."""
    session = Session(base_url, "training")
    try:
        await session.open()
        await session.wait_for(lambda: session.runs_finished and "Start training" in session.elements, timeout=120)
        epochs_id, element, _ = session.elements["Epochs"]
        session.widgets[epochs_id] = WidgetState(id=epochs_id, int_value=min(epochs, int(element.max)))
        await session.rerun(trigger=session.elements["Start training"][0])
        await session.wait_for(lambda: session.steps, timeout=180)
        report["first_step"] = session.steps
        await stop.wait()
        report["last_step"] = session.steps
        report["errors"] = session.exceptions
        if "Stop" in session.elements:    # end the job, so that the next class starts without it
            stop_id, _, fragment = session.elements["Stop"]
            done = session.runs_finished
            await session.rerun(fragment_id=fragment, trigger=stop_id)
            await session.wait_for(lambda: session.runs_finished > done)
    except Exception as exc:
        report["errors"] = [f"trainer: {type(exc).__name__}: {exc}"[:200]]
    finally:
        await session.close()
