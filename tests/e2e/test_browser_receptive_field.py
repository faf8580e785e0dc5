"""Editing the receptive-field layer stack in a real browser: the recurrence follows every edit."""
from __future__ import annotations

import re

import pytest

from e2e_helpers import alerts, eventually, exceptions_on, main_text, open_page, rerun, screenshot, wait_until

pytestmark = pytest.mark.browser

SUMMARY = re.compile(r"After (\w+) each unit sees a (\d+)×\d+ patch")


def _summary(page) -> tuple[str, int] | None:
    found = SUMMARY.search(main_text(page))
    return (found[1], int(found[2])) if found else None


def _click(page, name: str) -> None:
    rerun(page, page.get_by_role("button", name=name, exact=True).first.click)


def _set(page, field: str, row: int, value: int) -> None:
    box = page.get_by_label(field, exact=True).nth(row)
    box.fill(str(value))
    rerun(page, lambda: box.press("Enter"))


def test_the_loaded_model_ends_with_a_10_pixel_field(page, console, base_url):
    open_page(page, base_url, "receptive_field")
    eventually(lambda: _summary(page), ("pool2", 10))
    screenshot(page, "receptive-field-digitcnn")
    assert exceptions_on(page) == [] and console.errors == []


def test_editing_the_stack_updates_the_field(page, console, base_url):
    open_page(page, base_url, "receptive_field")
    rerun(page, page.get_by_text("three 3×3 convolutions", exact=True).click)   # a segmented-control option
    eventually(lambda: _summary(page), ("conv3", 7))        # 1 -> 3 -> 5 -> 7
    _click(page, "Add a pool layer")
    eventually(lambda: _summary(page), ("pool1", 8))        # + (2 - 1) * 1
    _set(page, "kernel_size", 0, 5)
    eventually(lambda: _summary(page), ("pool1", 10))       # 5 -> 7 -> 9 -> 10
    _set(page, "dilation", 1, 2)
    eventually(lambda: _summary(page), ("pool1", 12))       # dilated 3x3 spans 5: 5 -> 9 -> 11 -> 12
    screenshot(page, "receptive-field-edited")
    assert exceptions_on(page) == [] and console.errors == []


def test_removing_every_layer_is_explained_not_a_traceback(page, console, base_url):
    open_page(page, base_url, "receptive_field")
    remove = page.locator("[class*='st-key-'][class*='_remove'] button")  # each layer's delete icon
    remove.first.wait_for(state="visible", timeout=60_000)  # the stack editor may still be rendering
    while remove.count():
        rerun(page, remove.first.click)
    wait_until(lambda: alerts(page), 30, "a message about the empty stack")
    screenshot(page, "receptive-field-empty")
    assert exceptions_on(page) == [] and console.errors == []


def test_a_kernel_larger_than_its_input_is_explained_not_a_traceback(page, console, base_url):
    open_page(page, base_url, "receptive_field")
    _set(page, "kernel_size", 0, 40)                        # conv1 sees a 28x28 input (padding 1)
    wait_until(lambda: any("does not work" in a for a in alerts(page)), 30, "the kernel-size message")
    assert exceptions_on(page) == [] and console.errors == []
