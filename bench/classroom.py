"""A classroom under load: N students drawing at once in one Chromium while one more student trains.

Each student is its own page (its own browser context, so its own Streamlit session) on the Draw page.
Student i draws digit i % 10 with real mouse drags, waits for the prediction, thinks, clears the canvas,
and draws again until the time is up. One further session starts a short training run on the Training page.

Per N it reports: predictions correct (a student who ever sees another digit than the one they drew, or
no prediction, counts as wrong), p50/p95 latency from the last mouse-up of a drawing to its final prediction
on screen (measured with the page's own clock), the server's CPU and memory at the start and end, and
errors (exception blocks, browser-console errors, timeouts).

    python -m bench.classroom --data ../shared/data --sessions 4 8 12 16 --duration 60   # the load table
    python -m bench.classroom --churn 100                                 # memory after sessions leave

The browser runs on the same cores as the server, so the figures are for server + 2N Chromium pages
sharing the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.browser_student import FINAL_JS, clear, draw, open_draw, warm_up
from livetest import ARTIFACTS, launch_browser, machine, process_stats, streamlit_server
from livetest.drawing import DIGITS, PREDICTION_JS, place

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Student:
    digit: int
    latencies_ms: list = field(default_factory=list)
    seen: list = field(default_factory=list)       # the digit shown after each drawing
    errors: list = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return bool(self.seen) and all(d == self.digit for d in self.seen)


async def _diagnose(page, student: Student, round_: int) -> str:
    """What the page looked like when a round failed (and a screenshot under artifacts/screenshots/)."""
    try:
        state = await page.evaluate(f"""() => ({{c: window.__cnnviz, shown: ({PREDICTION_JS})(),
            state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')}})""")
        state["canvases"] = await page.locator("canvas.upper-canvas").count()
        # 1: the canvas drawn on is still the one shown; 0: it was replaced by a new one since
        state["drawn_canvas_shown"] = await page.locator("canvas.upper-canvas[data-e2e-drawn]").count()
        lower = page.locator("canvas.lower-canvas")   # fabric's painted layer (inside the component's shadow DOM)
        state["ink_px"] = await lower.first.evaluate("""c => {   // is the stroke still painted on the canvas?
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
            return n; }""", timeout=5_000) if await lower.count() else None
        path = ARTIFACTS / "screenshots" / f"classroom-fail-digit{student.digit}-round{round_}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=True)
        return f" | page: {state}"
    except Exception as exc:  # the page itself is gone
        return f" | page unavailable: {exc!r}"[:200]


async def student_loop(page, student: Student, stop_at: float, think: float, index: int, min_rounds: int = 1):
    """Draw, wait for the prediction, think, clear, draw again ... until the time is up."""
    variants = [dict(), dict(scale=0.6, dx=-0.15, dy=-0.12), dict(scale=0.8, dx=0.08, dy=0.1)]
    round_ = 0
    await asyncio.sleep(index * think / 4)       # students do not all start in the same second
    while time.monotonic() < stop_at or round_ < min_rounds:
        try:
            if round_:
                await clear(page)
            await draw(page, place(DIGITS[student.digit], **variants[(round_ + index) % len(variants)]))
            result = await page.wait_for_function(FINAL_JS, timeout=30_000, polling=25)
            shown = await result.json_value()
            student.seen.append(shown["digit"])
            student.latencies_ms.append(shown["latency_ms"])
            if await page.locator('[data-testid="stException"]').count():
                student.errors.append("exception block on the page")
        except Exception as exc:
            student.errors.append(f"round {round_}: {exc!r}"[:300] + await _diagnose(page, student, round_))
        round_ += 1
        await asyncio.sleep(think)
    await page.close()


STEP_JS = """() => { const p = document.querySelector('[data-testid="stProgress"]');
  const m = p && p.innerText.match(/step (\\d+)\\//); return m ? +m[1] : null; }"""


async def start_trainer(ctx, base_url: str, errors: list):
    """One more session that starts a training run (small batches: it lasts) and keeps its page open."""
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"trainer pageerror: {e}"))
    await page.goto(f"{base_url}/training", wait_until="domcontentloaded")
    try:
        epochs = page.get_by_label("Epochs", exact=True)
        await epochs.fill("10", timeout=60_000)   # 10 epochs of batches of 32: minutes of work
        await epochs.press("Tab")
        await page.get_by_label("Batch size", exact=True).click(timeout=60_000)
        await page.get_by_role("option", name="32", exact=True).click()
        await page.get_by_role("button", name="Start training").click(timeout=60_000)
        await page.wait_for_function(f"() => ({STEP_JS})() > 0", timeout=120_000, polling=200)
    except Exception as exc:
        errors.append(f"trainer could not start: {exc!r}"[:300])
    return page


async def stop_trainer(page, errors: list) -> int | None:
    """Stop the run; return the last step it showed (it must have kept training meanwhile)."""
    step = await page.evaluate(STEP_JS)
    try:
        finished = page.locator('[data-testid="stProgress"]', has_text="Finished")
        if await finished.count() == 0:  # a run that ended by itself needs no Stop
            await page.get_by_role("button", name="Stop", exact=True).click(timeout=10_000)
    except Exception as exc:
        errors.append(f"trainer could not stop: {exc!r}"[:300])
    await page.close()
    return step


def _pct(values, q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_classroom(base_url: str, server_pid: int, n: int, duration: float, think: float = 5.0,
                        train: bool = True, min_rounds: int = 1) -> dict:
    """N students drawing for `duration` seconds and at least `min_rounds` times each (plus one trainer);
    returns the measurements as a dict."""
    from playwright.async_api import async_playwright

    students = [Student(digit=i % 10) for i in range(n)]
    trainer_errors: list = []
    trainer_steps = None
    async with async_playwright() as p:
        browser = await launch_browser(p)
        await warm_up(browser, base_url)
        trainer = await start_trainer(await browser.new_context(), base_url, trainer_errors) if train else None
        contexts = [await browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(n)]
        opened = await asyncio.gather(*[open_draw(c, base_url, s.errors) for c, s in zip(contexts, students)],
                                      return_exceptions=True)
        start_stats = process_stats(server_pid)
        t0 = time.monotonic()                     # the clock starts once every student has the page open
        stop_at = t0 + duration
        tasks = []
        for i, (page, student) in enumerate(zip(opened, students)):
            if isinstance(page, Exception):
                student.errors.append(f"open: {page!r}"[:300])
            else:
                tasks.append(student_loop(page, student, stop_at, think, i, min_rounds))
        await asyncio.gather(*tasks)
        if trainer is not None:
            trainer_steps = await stop_trainer(trainer, trainer_errors)
        await browser.close()
    end_stats = process_stats(server_pid)
    wall = time.monotonic() - t0
    latencies = sorted(x for s in students for x in s.latencies_ms)
    return {
        "sessions": n,
        "trainer": train,
        "trainer_last_step": trainer_steps,
        "duration_s": round(wall, 1),
        "drawings": len(latencies),
        "students_correct": sum(s.correct for s in students),
        "wrong_predictions": [(s.digit, d) for s in students for d in s.seen if d != s.digit],
        "p50_ms": _round(_pct(latencies, 50)),
        "p95_ms": _round(_pct(latencies, 95)),
        "max_ms": _round(latencies[-1] if latencies else None),
        "server_rss_mb_start": round(start_stats["rss_mb"], 1),
        "server_rss_mb_end": round(end_stats["rss_mb"], 1),
        "server_cpu_percent": round(100 * (end_stats["cpu_s"] - start_stats["cpu_s"]) / wall, 1),
        "errors": [e for s in students for e in s.errors] + trainer_errors,
    }


def _round(x):
    return None if x is None else round(x)


async def _one_visit(browser, base_url: str, digit: int, errors: list) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await open_draw(ctx, base_url, errors)
        await draw(page, DIGITS[digit])
        await page.wait_for_function(FINAL_JS, timeout=60_000, polling=25)
    except Exception as exc:
        errors.append(f"visit of a {digit}: {exc!r}"[:200])
    finally:
        await ctx.close()


async def run_churn(base_url: str, server_pid: int, total: int, settle: float, parallel: int = 5) -> dict:
    """Sessions that come, draw once, and leave (`parallel` at a time); server memory after the first 10
    and after all of them, each measured once the server has dropped the disconnected sessions."""
    from playwright.async_api import async_playwright

    rss = {}
    errors: list = []
    async with async_playwright() as p:
        browser = await launch_browser(p)
        await warm_up(browser, base_url)
        rss["start"] = process_stats(server_pid)["rss_mb"]
        done = 0
        while done < total:
            batch = min(parallel, total - done, 10 - done if done < 10 else total)
            await asyncio.gather(*[_one_visit(browser, base_url, (done + j) % 10, errors) for j in range(batch)])
            done += batch
            print(f"  {done} sessions came and went; server RSS {process_stats(server_pid)['rss_mb']:.0f} MB",
                  flush=True)
            if done == 10:
                await asyncio.sleep(settle)  # past the disconnected-session TTL: the server drops them
                rss["after_10"] = process_stats(server_pid)["rss_mb"]
        await browser.close()
    await asyncio.sleep(settle)
    rss["after_all"] = process_stats(server_pid)["rss_mb"]
    return {"sessions": total, **{k: round(v, 1) for k, v in rss.items()},
            "growth_10_to_all_mb": round(rss["after_all"] - rss["after_10"], 1), "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, nargs="*", default=[1, 4, 8],
                    help="numbers of drawing students to try, one run each")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of drawing per run")
    ap.add_argument("--think", type=float, default=5.0, help="seconds a student waits between drawings")
    ap.add_argument("--no-train", action="store_true", help="leave out the training session")
    ap.add_argument("--churn", type=int, default=0, help="instead: this many sessions come and go, one by one")
    ap.add_argument("--parallel", type=int, default=5, help="churn: sessions visiting at the same time")
    ap.add_argument("--session-ttl", type=int, default=5,
                    help="server.disconnectedSessionTTL for the churn run (Streamlit's default is 120 s)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--data", default=os.environ.get("CNNVIZ_DATA"),
                    help="MNIST root for the server (the training session needs it); default $CNNVIZ_DATA")
    args = ap.parse_args()
    server_env = {"CNNVIZ_DATA": str(Path(args.data).resolve())} if args.data else None
    if server_env is None and not args.no_train and not args.churn:
        ap.error("the training session needs MNIST: pass --data ../shared/data (or set CNNVIZ_DATA), "
                 "or leave training out with --no-train")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped on the way out

    print(f"machine: {machine()}", flush=True)
    results = []
    if args.churn:
        ttl = ("--server.disconnectedSessionTTL", str(args.session_ttl))
        with streamlit_server(name="bench-churn", options=ttl, env=server_env) as srv:
            res = asyncio.run(run_churn(srv.url, srv.proc.pid, args.churn, settle=args.session_ttl + 10,
                                        parallel=args.parallel))
        print(json.dumps(res), flush=True)
        results.append(res)
    else:
        for n in args.sessions:
            with streamlit_server(name=f"bench-{n}", env=server_env) as srv:
                res = asyncio.run(run_classroom(srv.url, srv.proc.pid, n, args.duration, args.think,
                                                train=not args.no_train))
            print(json.dumps(res), flush=True)
            results.append(res)
        ok = [r["sessions"] for r in results
              if r["p95_ms"] is not None and r["p95_ms"] <= 2000 and not r["errors"]
              and r["students_correct"] == r["sessions"]]
        print(f"largest N with p95 <= 2 s, all correct, no errors: {max(ok) if ok else 'none'} "
              "(browser and server share the machine's cores)", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
