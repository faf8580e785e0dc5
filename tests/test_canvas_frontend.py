"""The canvas frontend patch: the send delay constant changes, and the entry point is wrapped to keep drawings."""
import re
import sys

import pytest

from cnnviz_ui import canvas_frontend, streamlit_internals as internals


def test_the_installed_bundle_gets_its_delay_at_exactly_one_place():
    (stock,) = canvas_frontend.stock_build().glob("index-*.js")
    original = stock.read_text(encoding="utf-8")
    patched = internals.patch_bundle(original, delay_ms=30)
    assert len(patched) == len(original) - 1   # "200" became "30"
    # the only change is the delay constant that the debounced sender is built with
    name = internals.SENDER.search(original).group(1)
    assert re.search(rf"(?<![\w$]){re.escape(name)} = 30(?=[,;\n])", patched)
    assert patched.replace(f"{name} = 30", f"{name} = 200", 1) == original


def test_the_written_bundle_is_the_stock_one_with_both_changes_and_the_stock_stylesheet(tmp_path):
    build = canvas_frontend.stock_build()
    original = next(build.glob("index-*.js")).read_text(encoding="utf-8")
    root = canvas_frontend.write_patched_build(tmp_path, delay_ms=30)
    written = (root / "build" / "index-fast.js").read_text(encoding="utf-8")
    assert written == internals.keep_drawings(internals.patch_bundle(original, 30), canvas_frontend.KEEP_FIELD)
    css = next(build.glob("index-*.css")).read_text(encoding="utf-8")
    assert (root / "build" / "index-style.css").read_text(encoding="utf-8") == css


def test_keeping_drawings_wraps_the_entry_point_and_changes_nothing_before_it():
    (stock,) = canvas_frontend.stock_build().glob("index-*.js")
    original = stock.read_text(encoding="utf-8")
    export = internals.EXPORT.search(original)
    wrapped = internals.keep_drawings(original, canvas_frontend.KEEP_FIELD)
    assert wrapped.startswith(original[:export.start()])          # the component itself is untouched
    tail = wrapped[export.start():]
    assert tail.rstrip().endswith("export { cnnvizMount as default };")
    assert f"const cleanup = {export.group(1)}(args);" in tail    # the wrapper calls the stock entry point
    assert f"e.data.{canvas_frontend.KEEP_FIELD}" in tail
    assert "INSTANCES" not in tail and "PROPS" not in tail and "KEEP_FIELD" not in tail


SHAPED = ("const Ar = (e) => {\n  const t = e.canvas.toObject(Ht);\n  return e.history.save(t) && 1;\n};\n"
          "const Tr = /* @__PURE__ */ new WeakMap(), Kc = (e) => 1;\nexport {\n  Kc as default\n};\n")


def test_a_bundle_of_the_known_entry_point_shape_is_wrapped():
    wrapped = internals.keep_drawings(SHAPED, canvas_frontend.KEEP_FIELD)
    assert "const cleanup = Kc(args);" in wrapped and "Tr.get(parent)" in wrapped and "c.toObject(Ht)" in wrapped
    assert wrapped.count("export {") == 1


@pytest.mark.parametrize("bundle", [
    SHAPED.replace("export {\n  Kc as default\n};\n", ""),                              # no default export
    SHAPED.replace("const Tr = /* @__PURE__ */ new WeakMap(), ", "const "),               # no instance map
    SHAPED.replace("return e.history.save(t)", "return t"),                               # drawings saved elsewhere
])
def test_a_bundle_of_another_entry_point_shape_is_refused(bundle):
    with pytest.raises(ValueError):
        internals.keep_drawings(bundle, canvas_frontend.KEEP_FIELD)


def test_the_component_is_told_its_key_in_its_data():
    calls = []
    mount = canvas_frontend._told_its_key(lambda **kwargs: calls.append(kwargs) or "result")
    assert mount(data={"strokeWidth": 18}, key="draw_canvas_0", default=None) == "result"
    assert calls == [{"data": {"strokeWidth": 18, canvas_frontend.KEEP_FIELD: "draw_canvas_0"},
                      "key": "draw_canvas_0", "default": None}]


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
        internals.patch_bundle(bundle, 30)


def test_a_bundle_of_the_known_shape_is_patched():
    bundle = "q = 5, Bc = 200, Ar = 1; h.sender = Nh((c) => Ic(h, c), Bc); xBc = 200;"
    assert internals.patch_bundle(bundle, 30) == \
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
    monkeypatch.setattr(internals, "patch_bundle", refuse)
    at = open_app_page("draw")                  # asserts the page ran without an exception
    component_module = sys.modules["streamlit_drawable_canvas"]
    assert canvas_frontend._installed is False
    assert "_told_its_key" not in component_module.out.__qualname__   # st_canvas mounts its own component
    assert any("stock drawing canvas" in r.getMessage() for r in caplog.records)
    assert at.radio(key="draw_source").value == "Draw"
