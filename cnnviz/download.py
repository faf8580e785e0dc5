"""The MNIST (or Fashion-MNIST) files on disk: where they live, what they are called, how a file is checked, and
fetching the missing ones from torchvision's mirrors with progress reported to a callback.

The app's download button, `load_split(download=True)` and `python -m cnnviz.data --download` all use it.
The files land uncompressed in <root>/<MNIST>/raw, where cnnviz.data.load_split reads them. This module
imports nothing from cnnviz.data (which imports it).
"""
from __future__ import annotations

import gzip
import math
import os
import socket
import struct
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

IMAGE_SIZE = 28   # side of every image, and of the model's input
FOLDERS = {"mnist": "MNIST", "fashion": "FashionMNIST"}   # dataset -> torchvision's class = folder under the root
SPLITS = {"train": "train", "test": "t10k"}                # split -> the prefix of its file names
FILE_NAMES = tuple(f"{prefix}-{kind}-idx{dims}-ubyte"
                   for prefix in SPLITS.values() for kind, dims in (("images", 3), ("labels", 1)))
IMAGES_MAGIC = 0x00000803   # IDX: unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801   # IDX: unsigned bytes, 1 dimension
PROBE_TIMEOUT_S = 5.0       # how long to wait for a download mirror before calling the machine offline
DOWNLOAD_MB = 11             # the four .gz files of MNIST together
CHUNK_BYTES = 64 * 1024
TIMEOUT_S = 30.0             # per network read

class MissingDataError(FileNotFoundError):
    """The IDX files are not on disk and could not be downloaded."""


class CorruptDataError(ValueError):
    """An IDX file exists but is truncated or is not an MNIST-style file."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding <root>/MNIST/raw: the argument, else $CNNVIZ_DATA, else a per-user cache folder."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("CNNVIZ_DATA"):
        return Path(os.environ["CNNVIZ_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "cnnviz"


def raw_folder(root: str | os.PathLike | None = None, dataset: str = "mnist") -> Path:
    """<root>/<MNIST or FashionMNIST>/raw, where the four uncompressed files live."""
    if dataset not in FOLDERS:
        raise ValueError(f"dataset must be one of {sorted(FOLDERS)}, got {dataset!r}")
    return data_root(root) / FOLDERS[dataset] / "raw"


def check_idx(path: Path, magic: int, item_shape: tuple) -> int:
    """Check an IDX file's magic number, dimensions and exact size; return its item count."""
    header_len = 4 * (2 + len(item_shape))
    size = path.stat().st_size
    if size < header_len:
        raise CorruptDataError(f"{path} is {size} bytes, too short for an IDX header: the file is truncated; "
                               "delete it and download again")
    with open(path, "rb") as f:
        header = struct.unpack(f">{2 + len(item_shape)}I", f.read(header_len))
    if header[0] != magic:
        raise CorruptDataError(f"{path} does not start with the IDX magic number {magic:#010x} "
                               f"(found {header[0]:#010x}): it is not an uncompressed MNIST file")
    count, dims = header[1], tuple(header[2:])
    if dims != item_shape:
        raise CorruptDataError(f"{path} holds items of shape {dims}, expected {item_shape}")
    expected = header_len + count * math.prod(item_shape)  # one byte per pixel or label
    if size != expected:
        raise CorruptDataError(f"{path} is {size} bytes but its header promises {count} items "
                               f"({expected} bytes): the file is truncated or padded; delete it and download again")
    return count


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to the URL's host and port opens within `timeout` seconds."""
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


Progress = Callable[[float, str], None]   # (fraction done in [0, 1], what is happening)


def download(root: str | os.PathLike | None = None, dataset: str = "mnist", progress: Progress | None = None,
             mirrors: list[str] | None = None) -> Path:
    """Fetch whichever of the four files are missing; return the raw folder.

    MissingDataError when no mirror answers (offline) or a download fails; files already there are kept.
    `mirrors` (base URLs ending in '/') defaults to torchvision's list for the dataset.
    """
    from torchvision import datasets  # slow import: only when a download is asked for

    folder = raw_folder(root, dataset)
    cls = getattr(datasets, folder.parent.name)
    mirrors = list(mirrors if mirrors is not None else cls.mirrors)
    report = progress or (lambda fraction, text: None)
    todo = [name for name in FILE_NAMES if not (folder / name).is_file()]
    if not todo:
        report(1.0, "already downloaded")
        return folder
    live = [m for m in mirrors if reachable(m)]
    if not live:
        raise MissingDataError(f"no download mirror answered ({', '.join(mirrors)}): the machine looks offline; "
                               f"nothing was written to {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(todo):
        def part(fraction: float, i=i, name=name) -> None:
            report((i + fraction) / len(todo), f"file {i + 1} of {len(todo)} ({name.split('-')[1]})")
        _fetch_one(live, name, folder, part)
    report(1.0, "done")
    return folder


def _fetch_one(mirrors: list[str], name: str, folder: Path, part: Callable[[float], None]) -> None:
    """Try each mirror for name.gz; unpack it next to its final place, check it, then rename it in."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                total = int(response.headers.get("Content-Length") or 0)
                unpacked = gzip.GzipFile(fileobj=_Counting(response, total, part))
                while chunk := unpacked.read(CHUNK_BYTES):
                    out.write(chunk)
            images = "images" in name
            check_idx(Path(tmp), IMAGES_MAGIC if images else LABELS_MAGIC, (IMAGE_SIZE, IMAGE_SIZE) if images else ())
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / name)
            return
        except (OSError, EOFError, ValueError, urllib.error.URLError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise MissingDataError(f"could not download {name}: " + "; ".join(errors))


class _Counting:
    """A response wrapper that reports the fraction of its bytes read so far."""

    def __init__(self, response, total: int, part: Callable[[float], None]):
        self.response, self.total, self.part, self.done = response, total, part, 0

    def read(self, size: int = -1) -> bytes:
        data = self.response.read(size)
        self.done += len(data)
        if self.total:
            self.part(min(1.0, self.done / self.total))
        return data
