"""The canvas frontend patch: one constant of the installed bundle changes, nothing else."""
import re
import sys

import pytest

from cnnviz_ui import canvas_frontend


def test_the_installed_bundle_is_patched_at_exactly_one_place(tmp_path):
    build = canvas_frontend.stock_build()
    (stock,) = build.glob("index-*.js")
    root = canvas_frontend.write_patched_build(tmp_path, delay_ms=30)
    patched = (root / "build" / "index-fast.js").read_text(encoding="utf-8")
    original = stock.read_text(encoding="utf-8")
    assert len(patched) == len(original) - 1   # "200" became "30"
    differing = [i for i, (a, b) in enumerate(zip(original, patched)) if a != b]
    assert differing, "the bundle was not changed"
    # the only change is the delay constant that the debounced sender is built with
    name = canvas_frontend._SENDER.search(original).group(1)
    assert re.search(rf"(?<![\w$]){re.escape(name)} = 30(?=[,;\n])", patched)
    assert patched.replace(f"{name} = 30", f"{name} = 200", 1) == original
    css = next(build.glob("index-*.css")).read_text(encoding="utf-8")
    assert (root / "build" / "index-style.css").read_text(encoding="utf-8") == css


def test_a_second_write_reuses_the_folder(tmp_path):
    first = canvas_frontend.write_patched_build(tmp_path)
    assert canvas_frontend.write_patched_build(tmp_path) == first
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("bundle", [
    "var a = 1;",                                                                    # no sender
    "h.sender = Nh((c) => Ic(h, c), Bc); x = 1",                                     # no declaration
    "Bc = 200, y; Bc = 200, z; h.sender = Nh((c) => Ic(h, c), Bc)",                   # two declarations
    "Bc = 200, y; h.sender = Nh((c) => Ic(h, c), Bc); g.sender = Nh((c) => Ic(g, c), Bc)",  # two senders
])
def test_a_bundle_of_another_shape_is_refused(bundle):
    with pytest.raises(ValueError):
        canvas_frontend.patch_bundle(bundle)


def test_a_bundle_of_the_known_shape_is_patched():
    bundle = "q = 5, Bc = 200, Ar = 1; h.sender = Nh((c) => Ic(h, c), Bc); xBc = 200;"
    assert canvas_frontend.patch_bundle(bundle, 30) == \
        "q = 5, Bc = 30, Ar = 1; h.sender = Nh((c) => Ic(h, c), Bc); xBc = 200;"


@pytest.fixture
def fresh_install(monkeypatch):
    """canvas_frontend as if install() had never run in this process (the component module itself can only
    be imported inside a Streamlit runtime, so the tests read it from sys.modules after the page ran)."""
    component_module = sys.modules.get("streamlit_drawable_canvas")
    if component_module is not None and canvas_frontend._stock is not None:  # an earlier install swapped it
        monkeypatch.setattr(component_module, "out", canvas_frontend._stock)
    monkeypatch.setattr(canvas_frontend, "_installed", None)
    monkeypatch.setattr(canvas_frontend, "_stock", None)
    yield
    component_module = sys.modules.get("streamlit_drawable_canvas")
    if component_module is not None and canvas_frontend._stock is not None:  # this test's install swapped it
        component_module.out = canvas_frontend._stock


def test_the_draw_page_mounts_the_fast_canvas(fresh_install):
    from app_helpers import open_app_page
    open_app_page("draw")                       # no stub: the real component is mounted
    component_module = sys.modules["streamlit_drawable_canvas"]
    assert canvas_frontend._installed is True
    assert canvas_frontend._stock is not None and component_module.out is not canvas_frontend._stock


def test_a_bundle_of_another_shape_leaves_the_stock_canvas_working(fresh_install, monkeypatch, caplog):
    from app_helpers import open_app_page

    def refuse(js, delay_ms=30):
        raise ValueError("expected one debounced sender in the canvas bundle, found 0")
    monkeypatch.setattr(canvas_frontend, "patch_bundle", refuse)
    at = open_app_page("draw")                  # asserts the page ran without an exception
    component_module = sys.modules["streamlit_drawable_canvas"]
    assert canvas_frontend._installed is False
    assert component_module.out is canvas_frontend._stock
    assert any("stock drawing canvas" in r.getMessage() for r in caplog.records)
    assert at.radio(key="draw_source").value == "Draw"
