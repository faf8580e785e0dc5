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
import re
import time
from dataclasses import dataclass, field


import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from livetest.canvas_value import Drawing
from livetest.streamlit_session import TIMEOUT_S, Session, _page_cookies


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


# ---------------------------------------------------------------- a class session (bench/load.py --follow)

WALL_CARD = re.compile(r"data-student='([\w-]+)' data-created='([\d.]+)'")
MODEL_READS = re.compile(r"The model reads (\d)")


class ClassSession(Session):
    """A session with a class seat (the cookie a browser keeps after joining) that, like the browser, keeps every
    auto-rerunning fragment polled (the follow poller, the question, the wall), follows page switches, and
    records what a class bench needs: the page and query string shown, the wall's cards, the model's answer."""

    def __init__(self, base_url: str, page: str, seat_cookie: str):
        super().__init__(base_url, page)
        self.seat_cookie = seat_cookie
        self.pages: dict[str, str] = {}                  # page script hash -> url path
        self.shown: list[tuple[float, str, str]] = []    # (time, url path, query string) as they change
        self.query = ""
        self.wall: dict[str, float] = {}                 # student id -> newest drawing's created time on the wall
        self.wall_seen: list[tuple[float, str, float]] = []  # (time seen, student id, created)
        self.model_reads: list[tuple[float, int]] = []
        self._polls: dict[str, float] = {}               # fragment id -> interval
        self._poll_tasks: dict[str, asyncio.Task] = {}

    async def open(self) -> None:
        cookies = await asyncio.to_thread(_page_cookies, f"{self.base_url}/{self.page}")
        cookies = "; ".join(c for c in (cookies, f"cnnviz_class={self.seat_cookie}") if c)
        ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.base_url, max_size=None,
                                           compression=None, open_timeout=TIMEOUT_S,
                                           additional_headers={"Cookie": cookies})
        self._reader = asyncio.create_task(self._read())
        await self.rerun(page_name=self.page)

    async def close(self) -> None:
        for task in self._poll_tasks.values():
            task.cancel()
        await super().close()

    @property
    def url_path(self) -> str | None:
        return self.pages.get(self.page_hash)

    async def rerun(self, fragment_id: str = "", trigger: str | None = None, page_name: str = "",
                    auto: bool = False) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(self.widgets.values())
        if trigger:
            state.widget_states.widgets.add(id=trigger, trigger_value=True)
        await self.ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        async for data in self.ws:
            now = time.monotonic()
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "navigation":
                self.pages.update({p.page_script_hash: p.url_pathname for p in msg.navigation.app_pages})
                if msg.navigation.page_script_hash and msg.navigation.page_script_hash != self.page_hash:
                    self.page_hash = msg.navigation.page_script_hash
                    self._stop_polls(list(self._polls))    # another page: its fragments are gone
                    self.widgets.clear()
                    self.elements.clear()
                    self.shown.append((now, self.url_path or "", self.query))
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
                self.shown.append((now, self.url_path or "", self.query))
            elif kind == "script_finished":
                self.runs_finished += 1
            elif kind == "auto_rerun":
                self._polls[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
                if msg.auto_rerun.fragment_id not in self._poll_tasks:
                    self._poll_tasks[msg.auto_rerun.fragment_id] = asyncio.create_task(
                        self._poll_one(msg.auto_rerun.fragment_id))
            elif kind == "stop_auto_rerun":
                self._stop_polls(list(msg.stop_auto_rerun.fragment_ids))
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element, msg.delta.fragment_id, now)
                element = msg.delta.new_element
                if element.WhichOneof("type") == "html":
                    self._html(element.html.body, now)
            self.changed.set()

    def _html(self, body: str, now: float) -> None:
        for student_id, created in WALL_CARD.findall(body):
            if float(created) > self.wall.get(student_id, 0.0):
                self.wall[student_id] = float(created)
                self.wall_seen.append((now, student_id, float(created)))
        found = MODEL_READS.search(body)
        if found:
            self.model_reads.append((now, int(found[1])))

    def _stop_polls(self, fragment_ids: list[str]) -> None:
        for fid in fragment_ids:
            self._polls.pop(fid, None)
            task = self._poll_tasks.pop(fid, None)
            if task:
                task.cancel()

    async def _poll_one(self, fragment_id: str) -> None:
        """The browser's side of one `st.fragment(run_every=...)`: rerun it every interval while it is shown."""
        while fragment_id in self._polls:
            await asyncio.sleep(self._polls[fragment_id])
            if fragment_id in self._polls:
                await self.rerun(fragment_id=fragment_id, auto=True)


@dataclass
class ClassStudent:
    index: int
    student_id: str
    sent: list = field(default_factory=list)        # (monotonic, wall clock) of each drawing sent to the wall
    answered: set = field(default_factory=set)      # radio keys answered (one per question)
    errors: list = field(default_factory=list)
    session: ClassSession | None = None


async def class_student(base_url: str, me: ClassStudent, code: str, drawings: list[Drawing], start_at: float,
                        stop_at: float, think: float) -> None:
    """A following student: whenever the page is the Class page, answers the open question once and, every
    `think` seconds, draws (a real canvas value) and sends the drawing to the wall."""
    rng = random.Random(me.index)
    session = me.session = ClassSession(base_url, "class_session", f"{code}~student~{me.student_id}~")
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        await session.open()
        await session.wait_for(lambda: session.runs_finished, timeout=120)
        while time.monotonic() < stop_at:
            await asyncio.sleep(think * rng.uniform(0.8, 1.2))
            if time.monotonic() >= stop_at:
                break
            if session.url_path != "class_session":
                continue
            await _answer(session, me, rng)
            await _draw(session, me, drawings[rng.randrange(len(drawings))])
            if session.exceptions:
                me.errors.extend(session.exceptions)
                session.exceptions.clear()
    except Exception as exc:  # the connection broke, the page never came: an error, the class goes on
        me.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await session.close()


async def _answer(session: ClassSession, me: ClassStudent, rng: random.Random) -> None:
    found = session.elements.get("Your answer")
    button = session.elements.get("Answer")
    if not found or not button or found[1].id in me.answered:
        return
    me.answered.add(found[1].id)
    wid, element, fragment = found
    session.widgets[wid] = WidgetState(id=wid, string_value=rng.choice(list(element.options)))
    done = session.runs_finished
    await session.rerun(fragment_id=fragment, trigger=button[0])
    await session.wait_for(lambda: session.runs_finished > done)


async def _draw(session: ClassSession, me: ClassStudent, drawing: Drawing) -> None:
    canvas = session.canvas()
    if canvas is None:
        return
    wid, fragment = canvas
    session.widgets[wid] = WidgetState(id=wid, json_value=drawing.value)
    seen, done = len(session.model_reads), session.runs_finished
    await session.rerun(fragment_id=fragment)
    try:
        await session.wait_for(lambda: (len(session.model_reads) > seen and session.runs_finished > done)
                               or session.url_path != "class_session")
        if session.url_path != "class_session":   # the instructor moved the class meanwhile: no drawing sent
            return
        send = await session.wait_for(lambda: session.elements.get("Send to the wall"))
    except TimeoutError:
        me.errors.append(f"no answer from the model within {TIMEOUT_S:.0f} s (on {session.url_path}, "
                         f"{session.runs_finished - done} runs since, {len(session.model_reads) - seen} model reads)")
        return
    done = session.runs_finished
    me.sent.append((time.monotonic(), time.time()))
    await session.rerun(fragment_id=send[2], trigger=send[0])
    await session.wait_for(lambda: session.runs_finished > done)
