"""Shared fixtures: where MNIST lives for tests (../shared/data unless CNNVIZ_DATA says otherwise)."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("CNNVIZ_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST not found under {DATA_ROOT}; set CNNVIZ_DATA to the folder holding MNIST/raw")
    return DATA_ROOT
