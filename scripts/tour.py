"""A screenshot of every page, at projector and desktop sizes, in normal and lecture mode.

    CNNVIZ_DATA=path/to/data python -m scripts.tour [--sizes 1280x720,1920x1080] [--out artifacts/tour]

Starts its own server, opens each page in a fresh Chromium context (a student's first visit), waits until
the script is idle and every Plotly chart is drawn, and saves two PNGs per page, size and mode: the first
screen (what a projector shows) and the whole page. It also lists any exception block or console error it
saw, so a look at the pictures is the only thing left.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from livetest import ARTIFACTS, PAGE_PATHS, console_text, is_benign, launch_browser, streamlit_server, wait_idle

PLOTLY_DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(el => el.querySelector('.main-svg'))"""


def shoot(browser, url: str, path: str, size: tuple[int, int], lecture: bool, out: Path) -> list[str]:
    """One page's screenshot; returns the problems seen (exceptions, console errors)."""
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and not is_benign(m) and errors.append(console_text(m)))
    query = "?lecture_mode=true" if lecture else ""
    page.goto(f"{url}/{path}{query}", wait_until="domcontentloaded")
    page.locator('[data-testid="stApp"]').wait_for(timeout=90_000)
    page.wait_for_timeout(1000)  # the first run starts
    wait_idle(page, 120, settle=1.0)
    for _ in range(100):
        if page.evaluate(PLOTLY_DRAWN_JS):
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    name = f"{path or 'home'}-{size[0]}x{size[1]}-{'lecture' if lecture else 'normal'}.png"
    page.screenshot(path=str(out / name))  # what the projector shows
    # Streamlit scrolls inside its main block, so a full-page shot needs a window as tall as the content.
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size[0], "height": max(size[1], min(height, 12000))})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(out / name.replace(".png", "-full.png")))
    problems = [f"{name}: exception: {t[:200]}"
                for t in page.locator('[data-testid="stException"]').all_inner_texts()]
    problems += [f"{name}: console: {e[:200]}" for e in errors]
    ctx.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "tour")
    parser.add_argument("--pages", default=",".join(PAGE_PATHS), help="comma-separated page paths ('' = home)")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with streamlit_server(env={"CNNVIZ_DATA": os.environ.get("CNNVIZ_DATA", "")}, name="tour") as server:
        with sync_playwright() as p:
            browser = launch_browser(p)
            shoot(browser, server.url, "", sizes[0], False, args.out)  # app.py's first run sets up navigation
            for size in sizes:
                for lecture in (False, True):
                    for path in args.pages.split(","):
                        problems += shoot(browser, server.url, path, size, lecture, args.out)
                        print(f"{size[0]}x{size[1]} {'lecture' if lecture else 'normal'} /{path}", flush=True)
            browser.close()
    print("\n".join(problems) or "no exception, no console error")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
