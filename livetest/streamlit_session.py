"""One browser-less session of the app: the websocket protocol Streamlit's frontend speaks (/_stcore/stream, the
BackMsg / ForwardMsg protobufs that ship with Streamlit), keeping what a simulated student needs from it
(the widgets, the prediction shown, a training run's progress). Used by bench/load.py."""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
import urllib.request

import websockets  # a dependency of streamlit itself
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

PREDICTION = re.compile(r"class='cnnviz-prediction' data-digest='(\w+)' data-prediction='(\d)'")
STEP = re.compile(r"step (\d+)/")
TIMEOUT_S = 30.0


def _page_cookies(url: str) -> str:
    """GET the page; its Set-Cookie headers as one Cookie header value."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as reply:
        reply.read()
        return "; ".join(c.split(";", 1)[0] for c in reply.headers.get_all("Set-Cookie") or [])


class Session:
    """One websocket session: sends reruns, reads ForwardMsgs and keeps what a student needs from them."""

    def __init__(self, base_url: str, page: str):
        self.base_url, self.page = base_url.rstrip("/"), page
        self.ws = None
        self.page_hash = ""
        self.widgets: dict[str, WidgetState] = {}       # values this client holds (sent on every rerun)
        self.elements: dict[str, tuple[str, object, str]] = {}  # label/name -> (widget id, element, fragment)
        self.predictions: list[tuple[float, str, int]] = []     # (time, digest, digit)
        self.runs_finished = 0
        self.exceptions: list[str] = []
        self.steps: int | None = None                    # training step shown by the live view
        self.auto_rerun: tuple[float, str] | None = None
        self.changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._poller: asyncio.Task | None = None

    async def open(self) -> None:
        """Load the page's HTML as a browser does (keeping its cookies: a load balancer's affinity cookie),
        then open the websocket with them and ask for the page."""
        cookies = await asyncio.to_thread(_page_cookies, f"{self.base_url}/{self.page}")
        ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.base_url,
                                           max_size=None, compression=None, open_timeout=TIMEOUT_S,
                                           additional_headers={"Cookie": cookies} if cookies else None)
        self._reader = asyncio.create_task(self._read())
        await self.rerun(page_name=self.page)

    async def close(self) -> None:
        for task in (self._poller, self._reader):
            if task:
                task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def rerun(self, fragment_id: str = "", trigger: str | None = None, page_name: str = "",
                    auto: bool = False) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
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
            if kind == "navigation" and msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "script_finished":
                self.runs_finished += 1
            elif kind == "auto_rerun":
                self.auto_rerun = (msg.auto_rerun.interval, msg.auto_rerun.fragment_id)
                if self._poller is None:
                    self._poller = asyncio.create_task(self._poll())
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element, msg.delta.fragment_id, now)
            self.changed.set()

    def _element(self, element, fragment_id: str, now: float) -> None:
        kind = element.WhichOneof("type")
        body = getattr(element, kind)
        if kind == "html":
            found = PREDICTION.search(body.body)
            if found:
                self.predictions.append((now, found[1], int(found[2])))
        elif kind == "exception":
            self.exceptions.append(f"{body.type}: {body.message}"[:200])
        elif kind == "progress":
            found = STEP.search(body.text)
            if found:
                self.steps = int(found[1])
        elif kind == "bidi_component":
            self.elements[body.component_name] = (body.id, body, fragment_id)
        elif getattr(body, "label", "") and getattr(body, "id", ""):
            self.elements[body.label] = (body.id, body, fragment_id)

    async def _poll(self) -> None:
        """The browser's side of `st.fragment(run_every=...)`: rerun that fragment every interval."""
        while self.auto_rerun:
            interval, fragment_id = self.auto_rerun
            await asyncio.sleep(interval)
            await self.rerun(fragment_id=fragment_id, auto=True)

    async def wait_for(self, condition, timeout: float = TIMEOUT_S):
        """Wait until condition() is truthy; return it. TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
        return result

    def canvas(self):
        return next(((wid, frag) for name, (wid, _, frag) in self.elements.items() if "canvas" in name), None)
