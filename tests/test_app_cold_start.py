"""The home page's first screen on a fresh server waits for nothing a bare Streamlit app does not load: what
app.py and the home page import before the page is drawn stays free of NumPy, PIL's images, pandas, PyTorch and
Streamlit's emoji catalog (each is loaded later: the model line, a lesson page, pandas in the background). The
time itself is measured by `python -m bench.cold_start`, not here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "PIL.Image", "pandas", "torch", "streamlit.emojis")  # (`import streamlit` loads PIL's version)

# What app.py imports and calls before the page runs, then what the home page imports, in a fresh interpreter.
FIRST_SCREEN = """
import sys
import streamlit
from streamlit.commands import page_config
from cnnviz_ui import streamlit_internals
from cnnviz_ui import class_follow, links, pages_list
from cnnviz_ui.memory import tune_malloc
from cnnviz_ui.shell import apply_style, freeze_new_imports, lecture_bar, lecture_mode_asked, lecture_toggle
from cnnviz_ui import home_view
from cnnviz_ui.shell import lecture_mode, prose
page_config._get_favicon_string(streamlit_internals.known_emoji_icon(ICON))
print(" ".join(sorted({name for name in sys.modules for heavy in HEAVY
                       if name == heavy or name.startswith(heavy + ".")})))
"""


def _app_icon() -> str:
    import re

    return re.search(r'known_emoji_icon\("([^"]+)"\)', (REPO / "app.py").read_text(encoding="utf-8")).group(1)


def _loaded_by(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                         check=True)
    return out.stdout.split()


def test_the_first_screen_imports_nothing_heavy():
    code = f"HEAVY = {HEAVY!r}\nICON = {_app_icon()!r}\n" + FIRST_SCREEN
    assert _loaded_by(code) == [], "these slow the home page's cold start (bench/cold_start.py): import them where used"


def test_the_check_sees_a_heavy_import():
    """The same probe, with a module that imports NumPy at the top: it must name it."""
    code = f"HEAVY = {HEAVY!r}\nICON = {_app_icon()!r}\n" + FIRST_SCREEN.replace(
        "from cnnviz_ui import home_view", "from cnnviz_ui import home_view, export")
    assert "numpy" in _loaded_by(code)


def test_app_py_imports_what_the_probe_imports():
    """The probe above must follow app.py: each cnnviz_ui import line of app.py is in it."""
    lines = [line.split("#")[0].strip() for line in (REPO / "app.py").read_text(encoding="utf-8").splitlines()
             if line.startswith("from cnnviz_ui")]
    assert lines and all(line in FIRST_SCREEN for line in lines), lines


def test_the_model_line_comes_from_the_checkpoint_header_without_pytorch_and_says_what_the_loaded_model_says():
    """On a server where no page has loaded a model yet, the home page's model line reads the shipped checkpoint's
    header only (PyTorch is not imported), and says exactly what the line built from the loaded model says."""
    code = ("import sys\nfrom cnnviz_ui import home_view\nline = home_view.model_summary()\n"
            "print('torch' in sys.modules)\nprint(line)")
    torch_loaded, *line = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                         timeout=300, check=True).stdout.splitlines()
    assert torch_loaded == "False"
    from cnnviz_ui import home_view
    from cnnviz_ui.models import shipped_model
    loaded = shipped_model("fc")
    assert "\n".join(line) == home_view.summary_text(loaded.source, loaded.metadata) == home_view.model_summary()
    assert "test accuracy **99." in "\n".join(line)
