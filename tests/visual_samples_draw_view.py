"""Sample arguments of the draw page's newer builders, for tests/test_visual_language.py."""
from visual_checks import Case


def samples() -> dict:
    return {}


def html_samples() -> dict:
    return {"cnnviz_ui.draw_view.example_html": [Case((7,)), Case((1,))]}
