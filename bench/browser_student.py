"""One student in a browser, for the classroom benchmark: the in-page clock and the drawing gestures.

The page records, with its own clock, the last mouse-up and the last time the prediction area changed;
FINAL_JS reads a finished prediction and its latency from them. draw() and clear() are the gestures a
student makes on the Draw page, waiting for what a person would wait for (the fresh canvas under the pen).
"""
from __future__ import annotations

import asyncio


from livetest import console_text, is_benign
from livetest.drawing import CANVAS, HIT_JS, PREDICTION_JS, SIGNATURE_JS

# Recorded in the page with its own clock: the last mouse-up, and the last time what the prediction area
# shows (input digest, digit, confidence) changed. Sampled every 20 ms, so latencies are +-20 ms.
INIT_JS = """
window.__cnnviz = {lastUp: 0, lastChange: 0, sig: null};
window.addEventListener('mouseup', () => { window.__cnnviz.lastUp = performance.now(); }, true);
setInterval(() => {
  const sig = (%s)();
  if (sig !== window.__cnnviz.sig) { window.__cnnviz.sig = sig; window.__cnnviz.lastChange = performance.now(); }
}, 20);
""" % SIGNATURE_JS

IDLE_JS = """() => document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')
  === 'notRunning'"""

# Done when the screen changed after the last mouse-up, shows a prediction, no script runs, and nothing has
# changed for SETTLE_MS (so a two-stroke digit is judged whole). The latency is up to the last change.
SETTLE_MS = 1000
FINAL_JS = """
() => {
  const c = window.__cnnviz, app = document.querySelector('[data-testid="stApp"]');
  if (!c || !app || c.lastChange <= c.lastUp) return null;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  if (performance.now() - c.lastChange < %d) return null;
  const shown = (%s)();
  if (shown === null) return null;
  return {digit: shown, latency_ms: c.lastChange - c.lastUp};
}
""" % (SETTLE_MS, PREDICTION_JS)


async def open_draw(ctx, base_url: str, errors: list):
    """A new page on the Draw page, with the in-page clock and console/page errors collected in `errors`."""
    page = await ctx.new_page()
    page.on("console", lambda m: m.type == "error" and not is_benign(m)
            and errors.append(f"console: {console_text(m)[:200]}"))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    await page.add_init_script(INIT_JS)
    await page.goto(f"{base_url}/draw", wait_until="domcontentloaded")
    await page.locator("canvas.upper-canvas").first.wait_for(state="visible", timeout=120_000)
    return page


async def canvas_box(page) -> dict:
    """The fresh canvas's box once the layout has stopped moving."""
    canvas = page.locator(CANVAS).first
    await canvas.wait_for(state="visible", timeout=60_000)
    box = await canvas.bounding_box()
    for _ in range(20):
        await asyncio.sleep(0.05)
        again = await canvas.bounding_box()
        if again == box:
            break
        box = again
    return box


async def draw(page, strokes, steps: int = 5) -> None:
    for stroke in strokes:
        box = await canvas_box(page)
        pts = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        await page.mouse.move(*pts[0])
        await page.wait_for_function(HIT_JS, arg=list(pts[0]), polling=50, timeout=60_000)
        await page.locator(CANVAS).first.evaluate("e => { e.dataset.e2eDrawn = '1'; }")  # for _diagnose
        await page.mouse.down()
        for p in pts[1:]:
            await page.mouse.move(*p, steps=steps)
        await page.mouse.up()


async def clear(page) -> None:
    """The page's Clear button; then wait for the old prediction to go and a fresh canvas to be up."""
    await page.locator("canvas.upper-canvas").evaluate_all("els => els.forEach(e => e.dataset.e2eOld = '1')")
    await page.get_by_role("button", name="Clear", exact=True).click()
    await page.wait_for_function(f"() => ({PREDICTION_JS})() === null", timeout=60_000, polling=50)
    await page.locator(CANVAS).first.wait_for(state="visible", timeout=60_000)
    await page.wait_for_function(IDLE_JS, timeout=60_000, polling=50)
    await asyncio.sleep(0.3)          # a person moves the pen back to the canvas meanwhile


async def warm_up(browser, base_url: str) -> None:
    """The instructor opens the home page first. (Until app.py has run once, Streamlit serves a deep link
    like /draw straight from pages/ without the app's navigation: see the e2e deep-link test.)"""
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(base_url, wait_until="domcontentloaded")
    await page.wait_for_function(IDLE_JS, timeout=120_000, polling=100)
    await ctx.close()
