"""A picture (SVG markup) whose marked parts answer a click: the Draw page's network picture and its map picker.

Each clickable part carries `data-spot="<name>"`; a click on it sends that name back to Python once (a trigger
value of Streamlit's public `st.components.v2`). A `data-grid="<rows> <columns>"` part is a grid of squares: a
click sends "<row> <column>", and pointing at a square writes its value (from `data-values`, row by row) into
the picture's `data-readout` text. A browser draws such a picture in a few milliseconds, where a
Plotly figure of the same picture cost it hundreds on every drawing (bench/NOTES.md section 21).
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from cnnviz_ui import visual

_JS = """
function cellOf(grid, event) {   // the square of a data-grid="<rows> <columns>" under the pointer: [row, column]
  const [rows, cols] = grid.dataset.grid.split(' ').map(Number);
  const r = grid.getBoundingClientRect();
  const y = Math.floor((event.clientY - r.top) / r.height * rows);
  const x = Math.floor((event.clientX - r.left) / r.width * cols);
  return y >= 0 && y < rows && x >= 0 && x < cols ? [y, x, y * cols + x] : null;   // and its place, row by row
}
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let box = parentElement.querySelector(':scope > .cnnviz-clickable');
  if (!box) {
    box = document.createElement('div');
    box.className = 'cnnviz-clickable';
    parentElement.appendChild(box);
  }
  if (box.__svg !== data) { box.innerHTML = data; box.__svg = data; }
  box.onclick = (event) => {
    const spot = event.target.closest('[data-spot]');
    if (spot) { setTriggerValue('spot', spot.dataset.spot); return; }
    const grid = event.target.closest('[data-grid]');
    const cell = grid && cellOf(grid, event);
    if (cell) setTriggerValue('spot', `${cell[0]} ${cell[1]}`);
  };
  box.onmousemove = box.onmouseleave = (event) => {   // a grid's square: its value in the data-readout line
    const out = box.querySelector('[data-readout]');
    if (!out) return;
    const grid = event.type === 'mousemove' && event.target.closest('[data-grid]');
    const cell = grid && cellOf(grid, event);
    if (!cell) { out.textContent = out.dataset.readout; return; }
    out.textContent = `row ${cell[0]}, column ${cell[1]}: ${grid.dataset.values.split(' ')[cell[2]]}`;
  };
}
"""

_CSS = f"""
.cnnviz-clickable svg {{ display: block; width: 100%; height: auto; }}
.cnnviz-clickable [data-spot], .cnnviz-clickable [data-grid] {{ cursor: pointer; }}
.cnnviz-clickable [data-spot]:hover {{ stroke: {visual.HIGHLIGHT}; stroke-opacity: 0.6; stroke-width: 2px;
  vector-effect: non-scaling-stroke; }}
"""

# isolate_styles=False: the picture sits in the page's own DOM (its font; tests and benchmarks find it there)
_picture = st.components.v2.component("cnnviz.clickable_picture", js=_JS, css=_CSS, isolate_styles=False)


def clickable_picture(svg: str, key: str, on_click: Callable[[str], None]) -> None:
    """Show `svg`; a click on one of its `data-spot` parts calls `on_click(spot)` before the next run."""
    def clicked() -> None:
        spot = (st.session_state.get(key) or {}).get("spot")
        if spot is not None:
            on_click(str(spot))

    _picture(data=svg, key=key, on_spot_change=clicked)
