"""Lecture mode on a projector: each lesson page's main picture and its controls fit the first screen.

The contract with the page owners: on every page whose lesson is a picture, the picture and the controls
that drive it sit inside `st.container(key="lesson")` (in the DOM: `.st-key-lesson`). Each page is opened
in lecture mode (?lecture_mode=true, as the instructor's link does) in Chromium at 1280x720 (the common
classroom projector) and at 1920x1080, and once the script is idle and every chart is drawn:

  (a) the lesson box, everything in it included, lies inside the viewport: no scrolling needed;
  (b) the sidebar is folded, and the main area starts at the left edge;
  (c) no heading, widget label, metric, table cell, table or chart title (or axis title, legend, annotation)
      is cut: text elements are no wider inside than their box, tables no wider than their frame, and a
      Plotly chart's titles lie inside its SVG, the chart inside the page.

One page at one size is one case: `pytest tests/e2e/test_browser_lecture_fit.py -k pooling` (or
`-k "pooling and 1280"`). A screenshot of each case's first screen lands in artifacts/screenshots/.
"""
from __future__ import annotations

import pytest

from e2e_helpers import SCREENSHOTS, exceptions_on, open_page, wait_until

pytestmark = pytest.mark.browser

# Pages whose lesson is a picture (url path -> title, for the messages).
LESSON_PAGES = {
    "convolution": "Convolution",
    "pooling": "Pooling",
    "draw": "Draw a digit",
    "training": "Training",
    "receptive_field": "Receptive field",
    "gap_cam": "GAP and CAM",
    "evaluation": "Evaluation",
    "design_lab": "Design lab",
    "why": "Why this answer?",
}
SIZES = [(1280, 720), (1920, 1080)]
CASES = [(path, size) for path in LESSON_PAGES for size in SIZES]
IDS = [f"{path}-{w}x{h}" for path, (w, h) in CASES]

TOLERANCE = 1  # px: sub-pixel rounding

# Drawn: every Plotly frame holds its SVG, every image has loaded, the canvas (if any) is there.
DRAWN_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  const charts = [...main.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const images = [...main.querySelectorAll('img')];
  return charts.every(c => c.querySelector('.main-svg')) && images.every(i => i.complete)
    && !document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]');
}"""

# Everything the assertions need, measured in one go (boxes are viewport coordinates).
MEASURE_JS = """(tol) => {
  const main = document.querySelector('[data-testid="stMain"]');
  const box = e => { const b = e.getBoundingClientRect();
    return {left: Math.round(b.left), top: Math.round(b.top), right: Math.round(b.right), bottom: Math.round(b.bottom),
            width: Math.round(b.width), height: Math.round(b.height)}; };
  const folded = e => { const d = e.closest('details');   // inside a closed expander (its title is not)
    return !!d && !d.open && !e.closest('summary'); };
  const shown = e => { const b = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return b.width > 0 && b.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !folded(e); };
  const text = e => (e.innerText || e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 70);
  const what = e => {
    const testid = e.closest('[data-testid]');
    return `<${e.tagName.toLowerCase()}${testid ? ' in ' + testid.getAttribute('data-testid') : ''}> "${text(e)}"`;
  };

  // (a) the lesson box and the union of everything drawn inside it
  const lessons = [...document.querySelectorAll('.st-key-lesson')];
  let lesson = null;
  if (lessons.length) {
    const el = lessons[0];
    const u = box(el);
    for (const child of el.querySelectorAll('[data-testid="stElementContainer"], canvas, svg.main-svg, img')) {
      if (!shown(child)) continue;
      const b = box(child);
      u.left = Math.min(u.left, b.left); u.top = Math.min(u.top, b.top);
      u.right = Math.max(u.right, b.right); u.bottom = Math.max(u.bottom, b.bottom);
    }
    lesson = {own: box(el), drawn: u};
  }

  // (b) the sidebar and where the main area starts
  const sb = document.querySelector('[data-testid="stSidebar"]');
  const sidebar = sb ? {box: box(sb), expanded: sb.getAttribute('aria-expanded'), shown: shown(sb)} : null;

  // (c) text that does not fit its box
  const cut = [];
  const tooWide = (sel, kind) => { for (const e of main.querySelectorAll(sel)) {
    if (!shown(e)) continue;
    if (e.scrollWidth > e.clientWidth + tol)
      cut.push(`${kind} ${what(e)}: content ${e.scrollWidth} px wide in a ${e.clientWidth} px box`);
  } };
  tooWide('h1, h2, h3', 'heading');
  tooWide('[data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label',
          'widget label');
  tooWide('[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stMetricValue"] > div',
          'metric');
  tooWide('[data-testid="stExpander"] summary p', 'expander title');
  tooWide('[data-testid="stTable"] th, [data-testid="stTable"] td', 'table cell');
  tooWide('[data-testid="stMarkdownContainer"] th, [data-testid="stMarkdownContainer"] td, ' +
          '.stHtml th, .stHtml td', 'HTML table cell');
  tooWide('[data-testid="stTable"], [data-testid="stTable"] > div', 'table (a column hidden)');
  tooWide('[data-testid="stDataFrame"] .dvn-scroller', 'dataframe (a column hidden)');
  // a table whose right edge leaves the page loses its last column
  for (const t of main.querySelectorAll('table')) {
    if (shown(t) && box(t).right > window.innerWidth + tol)
      cut.push(`table ${what(t.querySelector('th, td') || t)}: right edge at ${box(t).right} px, ` +
               `page ${window.innerWidth} px`);
  }

  // (c) Plotly: titles, axis titles, legends and annotations inside the chart's SVG; the chart inside the page
  for (const frame of main.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (!shown(frame)) continue;
    const svg = frame.querySelector('svg.main-svg');
    if (!svg) { cut.push(`chart not drawn ${what(frame)}`); continue; }
    const gd = frame.querySelector('.js-plotly-plot');
    const title = ((gd && gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, ' ');
    const s = box(svg);
    const name = `chart "${title.trim().slice(0, 60) || frame.closest('[class*="st-key-"]')?.className || 'untitled'}"`;
    if (s.right > window.innerWidth + tol || s.left < -tol)
      cut.push(`${name}: spans x ${s.left}..${s.right} px, page ${window.innerWidth} px wide`);
    if (frame.scrollWidth > frame.clientWidth + tol)
      cut.push(`${name}: ${frame.scrollWidth} px wide in a ${frame.clientWidth} px frame`);
    const parts = [['.gtitle', 'title'], ['.g-xtitle text, .g-x2title text', 'x-axis title'],
                   ['.g-ytitle text, .g-y2title text', 'y-axis title'], ['.annotation', 'annotation'],
                   ['.legend', 'legend']];
    for (const [sel, kind] of parts) {
      for (const e of gd ? gd.querySelectorAll(sel) : []) {
        const b = box(e);
        if (b.width === 0 || b.height === 0) continue;
        const vtol = Math.max(tol, 0.15 * b.height);  // a text line's em box reaches above its capitals
        if (b.left < s.left - tol || b.right > s.right + tol || b.top < s.top - vtol || b.bottom > s.bottom + vtol)
          cut.push(`${name}: its ${kind} "${text(e)}" spans x ${b.left}..${b.right}, y ${b.top}..${b.bottom}, ` +
                   `outside the chart's x ${s.left}..${s.right}, y ${s.top}..${s.bottom}`);
      }
    }
  }
  // (d) our own clickable pictures (cnnviz_ui.clickable): inside the page
  for (const svg of main.querySelectorAll('.cnnviz-clickable svg')) {
    if (!shown(svg)) continue;
    const s = box(svg);
    if (s.right > window.innerWidth + tol || s.left < -tol)
      cut.push(`picture ${svg.getAttribute('class')}: spans x ${s.left}..${s.right} px, ` +
               `page ${window.innerWidth} px wide`);
  }
  // still loading: a widget's code not yet there (skeleton), an element left from the last run, a run going on
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = !!document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')
    || !app || app.getAttribute('data-test-script-state') !== 'notRunning';
  return {busy, lessons: lessons.length, lesson, sidebar, main_left: Math.round(main.getBoundingClientRect().left),
          viewport: [window.innerWidth, window.innerHeight], cut};
}"""


def _settled(page, timeout: float = 30.0) -> dict:
    """Measure until two reads 0.4 s apart agree and nothing is loading (charts and images settle after the
    script ends; a page that writes its settings into the URL runs a second time)."""
    last: dict = {}

    def same_twice():
        nonlocal last
        now = page.evaluate(MEASURE_JS, TOLERANCE)
        agreed = now == last and not now["busy"]
        last = now
        if not agreed:
            page.wait_for_timeout(400)
        return agreed

    try:
        wait_until(same_twice, timeout, "the page's layout to settle", interval=0)
    except TimeoutError:
        pass  # still moving (an animation): judge the last layout seen, the assertions name what is wrong
    return last


@pytest.fixture(scope="module")
def measured(browser, base_url):
    """One measurement per (page, size), taken once and shared by the three tests of that case."""
    cache: dict = {}

    def measure(path: str, size: tuple[int, int]) -> dict:
        if (path, size) not in cache:
            ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
            ctx.set_default_timeout(60_000)
            try:
                page = ctx.new_page()
                open_page(page, base_url, f"{path}?lecture_mode=true")
                wait_until(lambda: page.evaluate(DRAWN_JS), 60, "every chart and image to be drawn")
                result = _settled(page)
                result["exceptions"] = exceptions_on(page)
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"lecture-fit-{path}-{size[0]}x{size[1]}.png"))
            finally:
                ctx.close()
            cache[(path, size)] = result
        return cache[(path, size)]

    return measure


def _where(path: str, size: tuple[int, int]) -> str:
    return f"{LESSON_PAGES[path]} (/{path}) in lecture mode at {size[0]}x{size[1]}"


@pytest.mark.parametrize(("path", "size"), CASES, ids=IDS)
def test_lesson_is_on_the_first_screen(measured, path, size):
    m = measured(path, size)
    where = _where(path, size)
    assert not m["busy"], f"{where}: the page was still loading or running after 30 s"
    assert m["exceptions"] == [], f"{where}: the page shows an exception: {m['exceptions']}"
    assert m["lessons"] == 1, (f"{where}: expected one st.container(key='lesson') holding the main picture and "
                               f"its controls, found {m['lessons']}")
    width, height = m["viewport"]
    for part in ("own", "drawn"):
        b = m["lesson"][part]
        what = "the lesson box" if part == "own" else "what is drawn in the lesson box"
        assert b["top"] >= -TOLERANCE and b["left"] >= -TOLERANCE, \
            f"{where}: {what} starts above or left of the screen (x {b['left']}, y {b['top']})"
        assert b["right"] <= width + TOLERANCE, \
            f"{where}: {what} ends at x = {b['right']} px, past the {width} px wide screen"
        assert b["bottom"] <= height + TOLERANCE, (
            f"{where}: {what} ends at y = {b['bottom']} px, below the {height} px screen (starts at "
            f"y = {b['top']} px, {b['height']} px tall): {b['bottom'] - height} px must go")


@pytest.mark.parametrize(("path", "size"), CASES, ids=IDS)
def test_sidebar_is_folded(measured, path, size):
    m = measured(path, size)
    where = _where(path, size)
    sidebar = m["sidebar"]
    assert sidebar is not None, f"{where}: no sidebar at all (the page list and the lecture switch live there)"
    assert sidebar["box"]["right"] <= TOLERANCE or not sidebar["shown"], \
        f"{where}: the sidebar is open (x {sidebar['box']['left']}..{sidebar['box']['right']} px)"
    assert m["main_left"] <= TOLERANCE, f"{where}: the main area starts at x = {m['main_left']} px, not at the edge"


@pytest.mark.parametrize(("path", "size"), CASES, ids=IDS)
def test_no_heading_label_table_or_chart_title_is_cut(measured, path, size):
    m = measured(path, size)
    assert m["cut"] == [], f"{_where(path, size)}: {len(m['cut'])} cut:\n  " + "\n  ".join(m["cut"])


def test_lecture_switch_stays_reachable_and_turns_lecture_mode_off(page, base_url):
    """With the sidebar folded the instructor still finds the switch (in the bar at the top); switching it off
    brings the sidebar back and drops lecture_mode from the address."""
    from e2e_helpers import address, rerun

    open_page(page, base_url, "pooling?lecture_mode=true")
    bar = page.locator(".st-key-lecture_bar")
    wait_until(lambda: bar.get_by_text("Lecture mode", exact=True).is_visible(), 30, "the switch in the lecture bar")
    assert bar.get_by_role("switch", name="Lecture mode").is_checked()
    box = bar.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720, f"the lecture bar is off the screen: {box}"
    rerun(page, page.locator(".st-key-lecture_bar").get_by_text("Lecture mode", exact=True).click)
    wait_until(lambda: page.locator('[data-testid="stSidebar"]').bounding_box()["x"] >= 0, 30,
               "the sidebar to open again")
    wait_until(lambda: "lecture_mode=true" not in address(page), 30, "lecture_mode=true to leave the address")
    wait_until(page.locator('[data-testid="stSidebar"]').get_by_text("Lecture mode", exact=True).is_visible, 30,
               "the switch back in the sidebar")


def test_link_for_students_opens_the_same_view_in_normal_mode(browser, page, base_url):
    """The instructor copies the link for students from the lecture bar; a student who opens it gets the same
    page and settings, with lecture mode off and the sidebar open."""
    from urllib.parse import parse_qs, urlsplit

    from e2e_helpers import address

    open_page(page, base_url, "pooling?lecture_mode=true&pool_kernel=3&pool_stride=1")
    bar = page.locator(".st-key-lecture_bar")
    bar.get_by_role("button", name="Link for students").click()
    code = page.locator('[data-testid="stPopoverBody"] code, [data-testid="stPopover"] code').first
    wait_until(lambda: "://" in code.inner_text(), 30, "the link for students")
    link = code.inner_text().strip()
    lecture, student = urlsplit(address(page)), urlsplit(link)
    assert student.path == lecture.path, (link, address(page))
    asked = {k: v for k, v in parse_qs(lecture.query).items() if k != "lecture_mode"}
    assert parse_qs(student.query) == asked and asked["pool_kernel"] == ["3"], (link, address(page))

    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        student_page = ctx.new_page()
        open_page(student_page, f"{student.scheme}://{student.netloc}", f"{student.path.lstrip('/')}?{student.query}")
        sidebar = student_page.locator('[data-testid="stSidebar"]')
        wait_until(lambda: sidebar.get_by_text("Lecture mode", exact=True).is_visible(), 30,
                   "the lecture switch in an open sidebar")
        assert not sidebar.get_by_role("switch", name="Lecture mode").is_checked()
        assert "lecture_mode" not in address(student_page)
    finally:
        ctx.close()
