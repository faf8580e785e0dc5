"""cnnviz.download: fetching the four MNIST files from a mirror (a local HTTP server here), with progress."""
import gzip
import http.server
import struct
import threading

import numpy as np
import pytest

from cnnviz.data import FILE_NAMES, MissingDataError, load_split
from cnnviz.download import download


def idx_bytes(name: str, n: int = 3) -> bytes:
    """A tiny but valid IDX file: n images of 28x28 or n labels."""
    if "images" in name:
        pixels = np.arange(n * 28 * 28, dtype=np.uint32).astype(np.uint8).tobytes()
        return struct.pack(">4I", 0x803, n, 28, 28) + pixels
    return struct.pack(">2I", 0x801, n) + bytes(range(n))


@pytest.fixture
def mirror(tmp_path):
    """A local mirror serving name.gz for the four files; yields its base URL."""
    served = tmp_path / "mirror"
    served.mkdir()
    for name in FILE_NAMES:
        (served / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(name)))
    def handler(*a, **k):
        return http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_download_writes_the_four_files_that_load_split_reads(mirror, tmp_path):
    root = tmp_path / "data"
    folder = download(root, mirrors=[mirror])
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILE_NAMES)
    split = load_split("test", root, download=False)
    assert len(split) == 3 and split.labels.tolist() == [0, 1, 2]


def test_download_reports_progress_rising_to_one(mirror, tmp_path):
    seen = []
    download(tmp_path / "data", mirrors=[mirror], progress=lambda fraction, text: seen.append(fraction))
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_download_skips_a_dead_mirror_and_uses_the_next(mirror, tmp_path):
    dead = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    folder = download(tmp_path / "data", mirrors=[dead, mirror])
    assert all((folder / name).is_file() for name in FILE_NAMES)


def test_download_with_no_mirror_answering_says_offline_and_writes_nothing(tmp_path):
    with pytest.raises(MissingDataError, match="looks offline"):
        download(tmp_path / "data", mirrors=["http://127.0.0.1:9/"])
    assert not (tmp_path / "data").exists()


def test_a_mirror_serving_something_else_is_an_error_not_a_file(mirror, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(MissingDataError, match="could not download"):
        download(root, mirrors=[mirror + "missing/"])
    assert not any((root / "MNIST" / "raw").glob("*-ubyte"))


def test_load_split_downloads_through_the_same_fetcher_with_a_progress_bar(mirror, tmp_path, monkeypatch, capsys):
    """The test command's `python -m cnnviz.data --download` path: torchvision's mirrors, a bar on the terminal."""
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [mirror])
    split = load_split("test", tmp_path / "data", download=True)
    assert len(split) == 3
    out = capsys.readouterr().out
    assert "Downloading mnist into" in out and "100%" in out
