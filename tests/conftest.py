"""Shared fixtures: where MNIST lives for tests.

$CNNVIZ_DATA if set, else ../shared/data where it exists (CI), else the app's default data folder;
scripts/test.sh makes the same choice and downloads MNIST there before the tests start.
"""
import os
import sys
from pathlib import Path

import pytest
import streamlit as st

from cnnviz.data import data_root as default_data_root

# No standby training worker (cnnviz_ui.training_view.STANDBY_WORKER) in the app sessions the tests start, nor in
# the servers they launch: every test clears the cached job manager, and each would leave a torch process behind.
# tests/test_page_training_recipes.py switches it on where it is the subject; tests/test_jobs.py drives it directly.
os.environ.setdefault("CNNVIZ_STANDBY_WORKER", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DATA_ROOT = SHARED if not os.environ.get("CNNVIZ_DATA") and SHARED.is_dir() else default_data_root()


PYTEST_MAIN = sys.modules.get("__main__")


@pytest.fixture(autouse=True)
def main_module_kept():
    """Streamlit's AppTest leaves sys.modules["__main__"] pointing at the script it ran (app.py, or a temporary
    file). A spawn pool started later in the same pytest process would make every child import that script: the
    children die and the pool replaces them without end (a hang). Every test starts and ends with pytest's own
    __main__, also after a module-scoped fixture that ran an AppTest."""
    sys.modules["__main__"] = PYTEST_MAIN
    yield
    sys.modules["__main__"] = PYTEST_MAIN


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST not found under {DATA_ROOT}: run `python -m cnnviz.data --download --data {DATA_ROOT}` "
                    "or set CNNVIZ_DATA to a folder holding MNIST/raw")
    return DATA_ROOT


@pytest.fixture
def online(monkeypatch, data_root):
    """MNIST where data_root found it, and no cached split or model left from a test that had none."""
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """A server with no MNIST: the data folder is an empty one."""
    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path))
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()
