"""The pooling page's translation-invariance view: arrows move the input one pixel, the pooled outputs that
stayed the same are marked (AppTest, driven through its buttons)."""
import numpy as np
import pytest

from app_helpers import figure, open_app_page, texts, z
from cnnviz.pooling import CHAPTER_FEATURE_MAP, shift


@pytest.fixture(autouse=True)
def mnist_env(data_root, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))


def press(at, label: str):
    return at.button(key=f"pool_shift_{label}").click().run()


def test_unmoved_input_prompts_for_an_arrow():
    at = open_app_page("pooling")
    assert "Not moved yet" in texts(at.markdown)
    np.testing.assert_array_equal(z(at, "pool_shifted"), CHAPTER_FEATURE_MAP)
    np.testing.assert_array_equal(z(at, "pool_before"), [[6, 4], [8, 6]])


def test_left_arrow_moves_the_chapter_map_and_every_maximum_survives():
    at = press(open_app_page("pooling"), "←")
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 0, -1))
    np.testing.assert_array_equal(z(at, "pool_after"), [[6, 4], [8, 6]])
    assert "Moved 1 px left: **4 of 4** pooled values unchanged." in texts(at.markdown)
    assert figure(at, "pool_after")["data"][0]["text"] == [["6 ✓", "4 ✓"], ["8 ✓", "6 ✓"]]


def test_up_arrow_changes_only_the_top_row_of_outputs():
    at = press(open_app_page("pooling"), "↑")
    assert figure(at, "pool_after")["data"][0]["text"] == [["7", "3"], ["8 ✓", "6 ✓"]]
    assert "**2 of 4**" in texts(at.markdown)


def test_shifts_add_up_and_reset_returns_to_the_input():
    at = open_app_page("pooling")
    for label in ("↓", "→", "→"):
        at = press(at, label)
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 1, 2))
    assert "Moved 1 px down and 2 px right" in texts(at.markdown)
    at = at.button(key="pool_shift_reset").click().run()
    np.testing.assert_array_equal(z(at, "pool_shifted"), CHAPTER_FEATURE_MAP)


def test_a_shift_never_moves_the_map_out_of_view():
    at = open_app_page("pooling")
    for _ in range(6):  # the 4x4 map can move at most 3 px
        at = press(at, "→")
    assert not at.exception
    assert "Moved 3 px right" in texts(at.markdown)


def test_a_new_input_starts_unshifted():
    at = press(open_app_page("pooling"), "→")
    at.selectbox(key="pool_input").set_value("random").run()
    assert "Not moved yet" in texts(at.markdown)


def test_the_size_field_appears_only_for_a_random_map():
    at = open_app_page("pooling")
    assert not [n for n in at.number_input if n.key == "pool_size"]
    at.selectbox(key="pool_input").set_value("random").run()
    assert [n for n in at.number_input if n.key == "pool_size"]
