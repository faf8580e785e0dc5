"""The kept-drawing wrapper of the canvas bundle (cnnviz_ui/canvas_frontend.py), in Chromium, with no server.

Streamlit mounts and unmounts the canvas at moments that depend on the load: under load, CI met a canvas that
went before the drawing it had been given back had finished loading. Here the bundle the app serves is
mounted and unmounted by hand, in the order of such a race, so it happens every time: the last mount must get
the drawing and send it, and nothing may fail on a canvas that has gone.
"""
from __future__ import annotations

import pytest

from cnnviz_ui.canvas_frontend import KEEP_FIELD, write_patched_build
from e2e_helpers import ConsoleLog

pytestmark = pytest.mark.browser

ORIGIN = "http://canvas.test"

HARNESS = """<!doctype html><html><head><link rel="stylesheet" href="index-style.css"></head><body>
<script type="module">
import mount from "./index-fast.js";
window.sent = [];
window.mounts = 0;
window.lastUp = 0;  // the last mouse-up, so that a stroke's own send can be told from a load's
window.addEventListener("pointerup", () => { window.lastUp = performance.now(); }, true);
window.failures = [];  // what the page raised (Playwright sees it too): a wait can end on it
window.addEventListener("error", (e) => window.failures.push(String(e.message)));
window.addEventListener("unhandledrejection",
  (e) => window.failures.push(String(e.reason && e.reason.message || e.reason)));
window.mountCanvas = (key) => {  // a canvas as st_canvas mounts it on the draw page, with no drawing of its own
  const id = ++window.mounts, parent = document.createElement("div");
  parent.id = `mount-${id}`;
  parent.innerHTML = '<div class="canvas-root"></div>';
  document.body.appendChild(parent);
  const data = {fillColor: "#eee", strokeWidth: 18, strokeColor: "#FFFFFF", backgroundColor: "#000000",
    backgroundImageURL: null, realtimeUpdateStreamlit: true, canvasWidth: 280, canvasHeight: 280,
    drawingMode: "freedraw", initialDrawing: {objects: [], background: "#000000"}, displayRadius: 3,
    returnImageData: true, disabled: false, backgroundImageFit: "stretch", maxDisplayHeight: null,
    fontSize: 20, label: null, KEEP_FIELD: key};
  const setStateValue = (name, value) => window.sent.push({mount: id, name, at: performance.now(),
    strokes: ((value && value.raw && value.raw.objects) || []).length, image: !!(value && value.data)});
  const cleanup = mount({data, parentElement: parent, setStateValue});
  return {id, unmount: () => { cleanup(); parent.remove(); }};
};
window.canvases = {};
window.ready = true;
</script></body></html>""".replace("KEEP_FIELD", KEEP_FIELD)


@pytest.fixture
def harness(browser, tmp_path):
    """A page with the served bundle loaded and `mountCanvas(key)` to mount it; its errors in `.errors`."""
    build = write_patched_build(tmp_path) / "build"
    files = {"index.html": (HARNESS, "text/html"),
             "index-fast.js": ((build / "index-fast.js").read_text(encoding="utf-8"), "text/javascript"),
             "index-style.css": ((build / "index-style.css").read_text(encoding="utf-8"), "text/css")}
    ctx = browser.new_context(viewport={"width": 600, "height": 600})
    ctx.set_default_timeout(15_000)

    def serve(route):
        name = route.request.url.removeprefix(ORIGIN + "/")
        if name in files:
            body, kind = files[name]
            route.fulfill(status=200, body=body, content_type=kind)
        else:
            route.fulfill(status=404, body="")

    ctx.route(f"{ORIGIN}/**", serve)
    page = ctx.new_page()
    log = ConsoleLog().attach(page)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    page.errors = log.errors
    yield page
    ctx.close()


def sends(page, mount_id: int) -> list[dict]:
    """What canvas `mount_id` has sent so far, oldest first, without the send times."""
    return [{k: v for k, v in s.items() if k != "at"} for s in page.evaluate("window.sent") if s["mount"] == mount_id]


def draw_stroke(page, mount_id: int) -> dict:
    """Draw one stroke with the mouse on canvas `mount_id`; return what that canvas sent for it (its first send
    after the mouse-up)."""
    box = page.locator(f"#mount-{mount_id} canvas.upper-canvas").bounding_box()
    x, y = box["x"] + 140, box["y"] + 60
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(x, y + 10 * step)
    page.mouse.up()
    after_up = f"window.sent.find(s => s.mount === {mount_id} && s.at > window.lastUp)"
    page.wait_for_function(f"!!{after_up}")
    sent = page.evaluate(f"({{...{after_up}}})")
    sent.pop("at")
    return sent


def test_a_canvas_that_goes_before_its_kept_drawing_loads_keeps_it_for_the_next_one(harness):
    first = harness.evaluate("() => { const c = mountCanvas('canvas-1'); window.canvases.a = c; return c.id; }")
    assert draw_stroke(harness, first)["strokes"] == 1
    # Streamlit replaces the canvas, and replaces the new one again before it has loaded the kept drawing:
    # all in one task, so the second canvas's load cannot finish before it goes.
    second = harness.evaluate("""() => {
        window.canvases.a.unmount();
        const b = mountCanvas('canvas-1');
        b.unmount();
        return b.id; }""")
    # A third canvas under the same key must get the drawing and send it. Its load started after the second
    # one's, so once it has sent, the second canvas's load has ended too (on a canvas that has gone).
    third = harness.evaluate("() => mountCanvas('canvas-1').id")
    harness.wait_for_function(f"window.sent.some(s => s.mount === {third}) || window.failures.length > 0")
    assert harness.errors == []
    assert sends(harness, second) == [], "a canvas that went sent"
    assert sends(harness, third)[0] == {"mount": third, "name": "drawing", "strokes": 1, "image": True}


def test_a_canvas_with_a_new_key_starts_empty_and_sends_nothing_of_the_old_drawing(harness):
    first = harness.evaluate("() => { const c = mountCanvas('canvas-1'); window.canvases.a = c; return c.id; }")
    assert draw_stroke(harness, first)["strokes"] == 1
    # the page's Clear gives the canvas a new key: a stroke on it is the only stroke there
    fresh = harness.evaluate("() => { window.canvases.a.unmount(); return mountCanvas('canvas-2').id; }")
    assert draw_stroke(harness, fresh)["strokes"] == 1
    assert [s["strokes"] for s in sends(harness, fresh)] == [1]
    # and the old key's drawing is gone too: a canvas mounted again under it starts empty
    again = harness.evaluate("() => mountCanvas('canvas-1').id")
    assert draw_stroke(harness, again)["strokes"] == 1
    assert [s["strokes"] for s in sends(harness, again)] == [1]
    assert harness.errors == []
