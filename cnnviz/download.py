"""Download MNIST (or Fashion-MNIST) from torchvision's mirrors, reporting progress to a callback.

The app's download button, `load_split(download=True)` and `python -m cnnviz.data --download` all use it.
The files land uncompressed in <root>/<MNIST>/raw, where load_split looks for them.
"""
from __future__ import annotations

import gzip
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from cnnviz.data import (FILE_NAMES, IMAGE_SIZE, IMAGES_MAGIC, LABELS_MAGIC, MissingDataError, _check_idx,
                         _dataset_info, _reachable, data_root)

DOWNLOAD_MB = 11             # the four .gz files of MNIST together
CHUNK_BYTES = 64 * 1024
TIMEOUT_S = 30.0             # per network read

Progress = Callable[[float, str], None]   # (fraction done in [0, 1], what is happening)


def download(root: str | os.PathLike | None = None, dataset: str = "mnist", progress: Progress | None = None,
             mirrors: list[str] | None = None) -> Path:
    """Fetch whichever of the four files are missing; return the raw folder.

    MissingDataError when no mirror answers (offline) or a download fails; files already there are kept.
    `mirrors` (base URLs ending in '/') defaults to torchvision's list for the dataset.
    """
    from torchvision import datasets  # slow import: only when a download is asked for

    cls = getattr(datasets, _dataset_info(dataset)[0])
    folder = data_root(root) / _dataset_info(dataset)[0] / "raw"
    mirrors = list(mirrors if mirrors is not None else cls.mirrors)
    report = progress or (lambda fraction, text: None)
    todo = [name for name in FILE_NAMES if not (folder / name).is_file()]
    if not todo:
        report(1.0, "already downloaded")
        return folder
    live = [m for m in mirrors if _reachable(m)]
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
            _check_idx(Path(tmp), IMAGES_MAGIC if images else LABELS_MAGIC, (IMAGE_SIZE, IMAGE_SIZE) if images else ())
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
