"""The canvas frontend patch: one constant of the installed bundle changes, nothing else."""
import re

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
