"""The README's two pictures, made again from the running app: the Draw page with a drawn 7 and the network
below it, and the Pooling page, both at 1280x720 in normal mode.

    CNNVIZ_DATA=path/to/data python -m scripts.readme_screenshots [--out docs]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from livetest import REPO, launch_browser, streamlit_server, wait_idle
from livetest.drawing import DIGITS, draw_and_predict

SIZE = {"width": 1280, "height": 720}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    with streamlit_server(env={"CNNVIZ_DATA": os.environ.get("CNNVIZ_DATA", "")}, name="shots") as server:
        with sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport=SIZE)
            page.goto(server.url, wait_until="domcontentloaded")
            wait_idle(page, 120, settle=1.0)
            page.goto(f"{server.url}/draw", wait_until="domcontentloaded")
            wait_idle(page, 120, settle=1.0)
            print("predicted", draw_and_predict(page, DIGITS[7]))
            page.wait_for_timeout(1500)  # the network picture settles
            page.screenshot(path=str(args.out / "screenshot-draw.png"))
            page.goto(f"{server.url}/pooling", wait_until="domcontentloaded")
            wait_idle(page, 120, settle=1.0)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "screenshot-pooling.png"))
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
