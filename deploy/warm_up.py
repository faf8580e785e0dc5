"""The warm-up of a class's app processes: every page run once in each, before the class comes in.

A new Streamlit process pays each page's first run (imports, the model, Plotly's validators: bench/NOTES.md
section 9); `warm_up` pays it before nginx starts, so the first student does not wait. It loads each page as a
browser does: its HTML, then one run over Streamlit's websocket, spoken here with the standard library only
(deploy/ imports nothing else but cnnviz).
"""
from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import hashlib
import os
import socket
import time
import urllib.request
from pathlib import Path

PAGES = Path(__file__).resolve().parents[1] / "pages"


def page_paths() -> list[str]:
    """Every page's URL path, home ("") first: Streamlit names a page after its file (pages/pooling.py: pooling)."""
    return ["", *sorted(p.stem for p in PAGES.glob("*.py") if p.stem != "home")]


# -- Streamlit's protocol, the few fields needed
# A page runs when a session asks for it over Streamlit's websocket (/_stcore/stream) with a BackMsg, and the
# run's end comes back as a ForwardMsg: both protobufs. The few fields needed are written and read by hand
# below (their numbers are those of Streamlit's BackMsg/ClientState/ForwardMsg/Delta/Element/Exception .proto
# files; tests/e2e/test_serve_class.py checks them against Streamlit's own classes).

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _message_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def rerun_message(page: str) -> bytes:
    """BackMsg{rerun_script (11): ClientState{page_name (4): page}}: run `page` ("" the default page)."""
    return _message_field(11, _message_field(4, page.encode()) if page else b"")


def _fields(buf: bytes):
    """The top-level fields of a protobuf message: (number, int for a varint or bytes for a length)."""
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
        elif wire == 2:
            size, i = _read_varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire in (1, 5):
            value, i = None, i + (8 if wire == 1 else 4)
        else:
            raise ValueError(f"protobuf wire type {wire} is not expected in a ForwardMsg")
        yield number, value


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def _first(buf: bytes, number: int):
    return next((value for n, value in _fields(buf) if n == number), None)


def run_outcome(forward_msg: bytes) -> tuple[bool, str | None]:
    """(the run finished: ForwardMsg.script_finished (6), the exception a page showed: ForwardMsg.delta (5) ->
    Delta.new_element (3) -> Element.exception (8) -> Exception.type (1), .message (2), as "type: message")."""
    finished, exception = False, None
    for number, value in _fields(forward_msg):
        if number == 6:
            finished = True
        elif number == 5 and (element := _first(value, 3)) is not None \
                and (found := _first(element, 8)) is not None:
            exception = f"{(_first(found, 1) or b'').decode()}: {(_first(found, 2) or b'').decode()}"
    return finished, exception


class WebSocket:
    """A websocket client (RFC 6455) to an app process's /_stcore/stream: enough for a warm-up."""

    def __init__(self, address: str, timeout: float):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.file = self.sock.makefile("rb")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Sec-WebSocket-Protocol: streamlit\r\nOrigin: http://{address}\r\n\r\n").encode())
        head = b"".join(iter(self.file.readline, b"\r\n"))
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if not head.startswith(b"HTTP/1.1 101") or accept not in head:
            raise ConnectionError(f"no websocket at {address}/_stcore/stream: {head[:80]!r}")

    def send(self, payload: bytes, opcode: int = 2) -> None:
        mask, n = os.urandom(4), len(payload)
        size = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 \
            else bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.sock.sendall(bytes([0x80 | opcode]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> bytes:
        """The next whole message (fragments joined; pings answered)."""
        parts = []
        while True:
            first, second = self._exactly(2)
            n = second & 0x7F
            if n >= 126:
                n = int.from_bytes(self._exactly(2 if n == 126 else 8), "big")
            data = self._exactly(n)
            opcode = first & 0x0F
            if opcode == 8:
                raise ConnectionError("the app process closed the websocket")
            if opcode == 9:
                self.send(data, opcode=10)
            elif opcode in (0, 1, 2):
                parts.append(data)
                if first & 0x80:
                    return b"".join(parts)

    def _exactly(self, n: int) -> bytes:
        data = self.file.read(n)
        if len(data) < n:
            raise ConnectionError("the app process closed the connection")
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send(b"\x03\xe8", opcode=8)   # 1000: normal closure
        self.file.close()
        self.sock.close()


def visit(address: str, page: str, timeout: float) -> str | None:
    """Load `page` of one app process as a browser does (its HTML, then one run over the websocket); None when
    the run ended cleanly, else the problem in one line."""
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(f"http://{address}/{page}", timeout=timeout) as reply:
            reply.read()
        with contextlib.closing(WebSocket(address, timeout)) as ws:
            ws.send(rerun_message(page))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the run did not end within {timeout:.0f} s")
                ws.sock.settimeout(left)
                finished, exception = run_outcome(ws.receive())
                if exception:
                    return f"{address}/{page}: {exception[:200]}"
                if finished:
                    return None
    except Exception as exc:  # noqa: BLE001 - a warm-up problem is reported, never fatal
        return f"{address}/{page}: {type(exc).__name__} {exc}"


def warm_up(addresses: list[str], timeout: float = 180.0) -> list[str]:
    """Open every page once in each app process, home first, so that the first class does not pay each page's
    first run (imports, the model, Plotly's validators: bench/NOTES.md section 9). Returns the problems seen
    (a page that did not finish in time, or showed an exception); the class is served either way."""
    pages = page_paths()

    def one_process(address: str) -> list[str | None]:
        first = visit(address, pages[0], timeout)       # app.py's first run sets up the navigation the others need
        with concurrent.futures.ThreadPoolExecutor(len(pages)) as pool:
            return [first, *pool.map(lambda page: visit(address, page, timeout), pages[1:])]

    with concurrent.futures.ThreadPoolExecutor(max(1, len(addresses))) as pool:
        return [p for found in pool.map(one_process, addresses) for p in found if p]
