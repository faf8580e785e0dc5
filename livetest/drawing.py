"""Drawing on the Draw page with a real mouse, and reading back what it predicts.

Digits are polylines in a unit square, drawn the way a person draws them; shared by the e2e tests and
bench/classroom.py.
"""
from __future__ import annotations

import math
import time

from livetest import wait_idle

# The digit the Draw page predicts (its st.metric labelled "Prediction"), or null when none is shown.
PREDICTION_JS = """() => {
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    if (label && value && label.innerText.trim() === 'Prediction') {
      const d = parseInt(value.innerText.trim(), 10);
      return Number.isNaN(d) ? null : d;
    }
  }
  return null;
}"""


# Everything that changes on screen when a new prediction lands: the input's digest (the Draw page tags its
# 28x28 preview with it), the predicted digit and its confidence.
SIGNATURE_JS = """() => {
  const tag = document.querySelector('.cnnviz-prediction');
  const value = document.querySelector('[data-testid="stMetricValue"]');
  const delta = document.querySelector('[data-testid="stMetricDelta"]');
  return [tag ? tag.dataset.digest : '', value ? value.innerText : '', delta ? delta.innerText : ''].join('|');
}"""


def shown_prediction(page) -> int | None:
    return page.evaluate(PREDICTION_JS)


def signature(page) -> str:
    return page.evaluate(SIGNATURE_JS)


def wait_for_prediction(page, before: str | None = None, timeout: float = 60.0, settle: float = 0.8) -> int:
    """Wait for a prediction that differs from the screen `before` (a signature) and stays put for `settle`
    seconds with no script running (so a two-stroke digit is judged whole); return the digit shown."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now_sig, state, shown = page.evaluate(
            f"() => [({SIGNATURE_JS})(), document.querySelector('[data-testid=\"stApp\"]')"
            f"?.getAttribute('data-test-script-state'), ({PREDICTION_JS})()]")
        if now_sig != last:
            last, since = now_sig, time.monotonic()
        ready = shown is not None and state == "notRunning" and (before is None or now_sig != before)
        if ready and time.monotonic() - since >= settle:
            return shown
        page.wait_for_timeout(50)
    raise TimeoutError(f"no new prediction within {timeout:.0f} s")


def draw_and_predict(page, strokes, **kwargs) -> int:
    """Draw `strokes` and return the digit the page predicts for the whole drawing."""
    before = signature(page)
    draw_strokes(page, strokes, **kwargs)
    return wait_for_prediction(page, before)


def clear_canvas(page) -> None:
    """The Draw page's Clear button; waits until the prediction is gone and a fresh canvas is up."""
    page.locator("canvas.upper-canvas").evaluate_all("els => els.forEach(e => e.dataset.e2eOld = '1')")
    page.get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_function(f"() => ({PREDICTION_JS})() === null")
    page.locator(CANVAS).first.wait_for(state="visible")
    wait_idle(page)


CANVAS = "canvas.upper-canvas:not([data-e2e-old])"   # fabric's mouse layer; not one a Clear replaced

# True when the element under (x, y), looking into shadow roots, is a live canvas: the pointer will land on it.
HIT_JS = """([x, y]) => {
  let el = document.elementFromPoint(x, y);
  while (el && el.shadowRoot) {
    const inner = el.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === el) break;
    el = inner;
  }
  return !!el && el.classList.contains('upper-canvas') && !el.dataset.e2eOld;
}"""


def canvas_box(page, index: int = 0, timeout: float = 30.0) -> dict:
    """Bounding box of the drawable canvas, once it has stopped moving (the layout settles after a rerun)."""
    canvas = page.locator(CANVAS).nth(index)
    canvas.wait_for(state="visible", timeout=timeout * 1000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for _ in range(20):
        page.wait_for_timeout(50)
        again = canvas.bounding_box()
        if again == box:
            break
        box = again
    return box


def draw_strokes(page, strokes, index: int = 0, steps_per_segment: int = 6) -> float:
    """Draw polylines given in unit-square coordinates (0..1, y down) with real mouse drags.

    Returns the time.monotonic() of the last mouse-up (the start of the latency clock).
    """
    last_up = time.monotonic()
    for stroke in strokes:
        box = canvas_box(page, index)      # per stroke: a rerun after the last one may have moved it
        px = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*px[0])
        page.wait_for_function(HIT_JS, arg=list(px[0]), polling=50)
        page.mouse.down()
        for point in px[1:]:
            page.mouse.move(*point, steps=steps_per_segment)
        page.mouse.up()
        last_up = time.monotonic()
    return last_up


def place(strokes, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0):
    """The same strokes scaled about the centre of the box and shifted (to draw small, in a corner...)."""
    return [[(0.5 + (x - 0.5) * scale + dx, 0.5 + (y - 0.5) * scale + dy) for x, y in s] for s in strokes]


def _arc(cx, cy, rx, ry, a0, a1, n=24):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


# Digits drawn the way a person draws them, in a unit box (y down). Angles in degrees, 0 = right, 90 = down.
DIGITS = {
    0: [_arc(0.5, 0.5, 0.22, 0.32, -90, 270, 36)],
    1: [[(0.45, 0.24), (0.53, 0.17), (0.53, 0.83)]],
    2: [_arc(0.5, 0.34, 0.2, 0.16, 200, 380, 18)[:-4] + [(0.66, 0.43), (0.3, 0.8), (0.72, 0.8)]],
    3: [_arc(0.48, 0.33, 0.19, 0.15, 210, 450, 20), _arc(0.48, 0.64, 0.21, 0.18, -90, 150, 20)],
    4: [[(0.58, 0.18), (0.3, 0.6), (0.74, 0.6)], [(0.6, 0.36), (0.6, 0.84)]],
    5: [[(0.68, 0.2), (0.36, 0.2), (0.33, 0.47)] + _arc(0.48, 0.62, 0.2, 0.18, -120, 150, 20)],
    6: [[(0.64, 0.18), (0.45, 0.35), (0.33, 0.6)] + _arc(0.5, 0.64, 0.17, 0.16, 180, 540, 28)],
    7: [[(0.3, 0.22), (0.7, 0.22), (0.45, 0.82)]],
    8: [_arc(0.5, 0.33, 0.15, 0.14, 90, 450, 24), _arc(0.5, 0.65, 0.19, 0.17, -90, 270, 28)],
    9: [_arc(0.5, 0.36, 0.17, 0.15, 0, 360, 28) + [(0.66, 0.5), (0.6, 0.84)]],
}
