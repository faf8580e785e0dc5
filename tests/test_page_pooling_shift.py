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


def test_the_page_starts_with_a_move_that_keeps_every_maximum():
    """The chapter's map opens moved 1 px left: the four pooled values survive, as the text promises."""
    at = open_app_page("pooling")
    np.testing.assert_array_equal(z(at, "pool_before"), [[6, 4], [8, 6]])
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 0, -1))
    assert "Moved 1 px left: **4 of 4** pooled values unchanged." in texts(at.markdown)
    assert "- ✗" not in texts(at.markdown) and texts(at.markdown).count("- ✓ window") == 4


def test_reset_shows_the_unmoved_input_and_prompts_for_an_arrow():
    at = open_app_page("pooling").button(key="pool_shift_reset").click().run()
    assert "Not moved yet" in texts(at.markdown)
    np.testing.assert_array_equal(z(at, "pool_shifted"), CHAPTER_FEATURE_MAP)


def test_a_move_right_breaks_invariance_and_marks_each_maximum_that_crossed_an_edge():
    at = open_app_page("pooling").button(key="pool_shift_reset").click().run()
    at = press(at, "→")
    assert "**0 of 4**" in texts(at.markdown)
    lines = texts(at.markdown)
    assert "✗ window (0, 0): 6 → 5: its maximum crossed the window's edge" in lines
    text = figure(at, "pool_shifted")["data"][0]["text"]
    assert text[1][2] == "6 ✗"  # the 6 at (1, 1) moved to (1, 2): into the next window


def test_left_arrow_moves_the_chapter_map_and_every_maximum_survives():
    at = open_app_page("pooling").button(key="pool_shift_reset").click().run()
    at = press(at, "←")
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 0, -1))
    np.testing.assert_array_equal(z(at, "pool_after"), [[6, 4], [8, 6]])
    assert "Moved 1 px left: **4 of 4** pooled values unchanged." in texts(at.markdown)
    assert figure(at, "pool_after")["data"][0]["text"] == [["6 ✓", "4 ✓"], ["8 ✓", "6 ✓"]]


def test_up_arrow_changes_only_the_top_row_of_outputs():
    at = open_app_page("pooling").button(key="pool_shift_reset").click().run()
    at = press(at, "↑")
    assert figure(at, "pool_after")["data"][0]["text"] == [["7", "3"], ["8 ✓", "6 ✓"]]
    assert "**2 of 4**" in texts(at.markdown)


def test_shifts_add_up_and_reset_returns_to_the_input():
    at = open_app_page("pooling")
    for label in ("↓", "→", "→", "→"):  # from the opening move, 1 px left
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


def test_a_new_input_starts_with_its_kindest_move():
    from cnnviz.pooling import kindest_shift, random_feature_map, shift_invariance

    at = press(open_app_page("pooling"), "→")
    at.selectbox(key="pool_input").set_value("random").run()
    x = random_feature_map(6, 0)
    dy, dx = kindest_shift(x, 2, 2, 0)
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(x, dy, dx))
    kept = int(shift_invariance(x, dy, dx, 2, 2, 0)[2].sum())
    assert f"**{kept} of 9**" in texts(at.markdown)


def test_the_size_field_appears_only_for_a_random_map():
    at = open_app_page("pooling")
    assert not [n for n in at.number_input if n.key == "pool_size"]
    at.selectbox(key="pool_input").set_value("random").run()
    assert [n for n in at.number_input if n.key == "pool_size"]
