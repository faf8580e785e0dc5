"""The app's pages, once, as data: app.py builds its navigation from it, the browser tests and tools
(livetest, scripts/tour.py, deploy/serve_class.py) walk it. No Streamlit here."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class PageEntry(NamedTuple):
    file: str    # the page script, relative to the repository root
    title: str   # its name in the sidebar
    icon: str    # a Material icon

    @property
    def url_path(self) -> str:
        """The page's address as Streamlit derives it from the file name ('' for the default page)."""
        return "" if self is HOME else Path(self.file).stem


HOME = PageEntry("pages/home.py", "Home", ":material/home:")

# Sidebar sections, in the sidebar's order; the home page is the default one.
SECTIONS: dict[str, list[PageEntry]] = {
    "Start": [HOME],
    "Foundations": [
        PageEntry("pages/convolution.py", "Convolution", ":material/grid_on:"),
        PageEntry("pages/pooling.py", "Pooling", ":material/grid_view:"),
        PageEntry("pages/activation_functions.py", "Activation functions", ":material/show_chart:"),
        PageEntry("pages/architecture.py", "Architecture", ":material/account_tree:"),
        PageEntry("pages/receptive_field.py", "Receptive field", ":material/center_focus_strong:"),
    ],
    "The model": [
        PageEntry("pages/training.py", "Training", ":material/fitness_center:"),
        PageEntry("pages/draw.py", "Draw a digit", ":material/draw:"),
        PageEntry("pages/filters.py", "Learned filters", ":material/filter_alt:"),
        PageEntry("pages/design_lab.py", "Design lab", ":material/construction:"),
    ],
    "Explore": [
        PageEntry("pages/gap_cam.py", "GAP and CAM", ":material/thermostat:"),
        PageEntry("pages/evaluation.py", "Evaluation", ":material/bar_chart:"),
        PageEntry("pages/why.py", "Why this answer?", ":material/psychology_alt:"),
    ],
    "Class": [
        PageEntry("pages/class_session.py", "Class", ":material/groups:"),
    ],
}

PAGES: list[PageEntry] = [entry for entries in SECTIONS.values() for entry in entries]
URL_PATHS: tuple[str, ...] = tuple(entry.url_path for entry in PAGES)  # "" (home) first
TITLES: dict[str, str] = {entry.url_path: entry.title for entry in PAGES}  # url path -> sidebar title
