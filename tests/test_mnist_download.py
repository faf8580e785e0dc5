"""MNIST from the page: where it is missing, the training, evaluation and draw pages offer a download button,
show no paths to students, and work after the download without a restart (the core download is stubbed)."""
import os

import pytest
import streamlit as st
from streamlit.testing.v1.element_tree import Expander

import cnnviz.download
from app_helpers import open_app_page
from cnnviz.data import FILE_NAMES, MissingDataError

BUTTON = "Download MNIST (about 11 MB)"
ADMIN = "Details for the administrator"


@pytest.fixture
def empty_data(monkeypatch, tmp_path):
    """CNNVIZ_DATA points at an empty folder; caches from other tests are dropped before and after."""
    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path))
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


@pytest.fixture
def mirror_copies(monkeypatch, data_root):
    """The core download replaced by one that links the real files in (no network), reporting progress."""
    def fake_download(root=None, dataset="mnist", progress=None, mirrors=None):
        folder = cnnviz.data.raw_folder(root, dataset)
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(FILE_NAMES):
            os.symlink(data_root / "MNIST" / "raw" / name, folder / name)
            if progress:
                progress((i + 1) / len(FILE_NAMES), f"file {i + 1}")
        return folder
    monkeypatch.setattr(cnnviz.download, "download", fake_download)


@pytest.fixture
def no_network(monkeypatch):
    def offline_download(root=None, dataset="mnist", progress=None, mirrors=None):
        raise MissingDataError("no download mirror answered (https://example/): the machine looks offline; "
                               f"nothing was written to {cnnviz.data.raw_folder(root)}")
    monkeypatch.setattr(cnnviz.download, "download", offline_download)


def open_page(page: str):
    at = open_app_page(page)
    if page == "draw":
        at.radio(key="draw_source").set_value("MNIST test digit").run()
    return at


def main_text(at) -> str:
    """Every string a student sees without opening the administrator's details."""
    texts = []

    def walk(node):
        if isinstance(node, Expander) and node.label == ADMIN:
            return
        for attr in ("value", "label", "body"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                texts.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return "\n".join(texts)


def download_button(at):
    return next(b for b in at.button if b.label == BUTTON)


PAGES = ["training", "evaluation", "draw"]


@pytest.mark.parametrize("page", PAGES)
def test_without_mnist_the_page_offers_the_download_and_shows_no_paths(empty_data, page):
    at = open_page(page)
    assert download_button(at)
    shown = main_text(at)
    assert str(empty_data) not in shown and "idx3-ubyte" not in shown and "MNIST/raw" not in shown
    admin = next(e for e in at.expander if e.label == ADMIN)
    assert str(empty_data) in admin.markdown[0].value and not admin.proto.expanded


def test_the_training_page_can_train_after_the_download_without_a_restart(empty_data, mirror_copies):
    at = open_page("training")
    download_button(at).click().run()
    assert not at.exception and not [b for b in at.button if b.label == BUTTON]
    assert not next(b for b in at.button if b.label == "Start training").disabled


def test_the_evaluation_page_runs_the_model_after_the_download(empty_data, mirror_copies):
    at = open_page("evaluation")
    download_button(at).click().run()
    assert not at.exception and not at.warning
    assert at.metric[0].label == "Test accuracy"


def test_the_draw_page_offers_test_digits_after_the_download(empty_data, mirror_copies):
    at = open_page("draw")
    download_button(at).click().run()
    assert not at.exception
    assert at.number_input(key="draw_mnist_index").value == 0


def test_offline_the_page_says_so_plainly_and_keeps_the_details_for_the_administrator(empty_data, no_network):
    at = open_page("training")
    download_button(at).click().run()
    assert "cannot reach the internet" in at.error[0].value
    assert str(empty_data) not in main_text(at)
    admin = next(e for e in at.expander if e.label == ADMIN)
    assert "looks offline" in admin.code[0].value
    assert next(b for b in at.button if b.label == "Start training").disabled
