"""Shared fixtures: where MNIST lives for tests.

$CNNVIZ_DATA if set, else ../shared/data where it exists (CI), else the app's default data folder;
scripts/test.sh makes the same choice and downloads MNIST there before the tests start.
"""
import os
from pathlib import Path

import pytest

from cnnviz.data import data_root as default_data_root

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DATA_ROOT = SHARED if not os.environ.get("CNNVIZ_DATA") and SHARED.is_dir() else default_data_root()


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST not found under {DATA_ROOT}: run `python -m cnnviz.data --download --data {DATA_ROOT}` "
                    "or set CNNVIZ_DATA to a folder holding MNIST/raw")
    return DATA_ROOT
