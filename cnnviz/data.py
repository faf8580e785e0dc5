"""MNIST (or Fashion-MNIST) loaded once into memory as tensors: raw uint8 pixels and normalized floats."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnviz import download as fetch
from cnnviz.download import (FILE_NAMES, IMAGE_SIZE, IMAGES_MAGIC, LABELS_MAGIC, SPLITS, CorruptDataError,
                             MissingDataError, check_idx, data_root, raw_folder)

__all__ = ["MEAN", "STD", "IMAGE_SIZE", "PIXEL_MAX", "NUM_CLASSES", "TEST_SIZE", "DATASETS", "SPLITS", "FILE_NAMES",
           "MissingDataError", "CorruptDataError", "Split", "data_root", "raw_folder", "scale_pixels", "pixels_digest",
           "normalize_pixels", "standardize_", "normalize_raw", "load_split", "check_split", "main"]

MEAN = 0.1307   # mean pixel of the MNIST training images, after scaling to [0, 1]
STD = 0.3081    # their standard deviation
PIXEL_MAX = 255   # the brightest uint8 pixel
NUM_CLASSES = 10
TEST_SIZE = 10_000   # images in the MNIST (and Fashion-MNIST) test split

# dataset name -> (torchvision class name = folder under the root, mean, std)
DATASETS = {
    "mnist": (fetch.FOLDERS["mnist"], MEAN, STD),
    "fashion": (fetch.FOLDERS["fashion"], 0.2860, 0.3530),
}


@dataclass(frozen=True, eq=False)
class Split:
    images: torch.Tensor      # float32 [N, 1, 28, 28], (pixel / 255 - mean) / std
    labels: torch.Tensor      # int64 [N]
    raw: torch.Tensor         # uint8 [N, 28, 28], the pixels as stored
    dataset: str = "mnist"
    split: str = "train"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> "Split":
        """The examples at `index` (an int n means the first n; a slice or index tensor also works)."""
        if isinstance(index, int):
            index = slice(0, index)
        return Split(self.images[index], self.labels[index], self.raw[index], self.dataset, self.split)


def scale_pixels(pixels) -> np.ndarray:
    """Pixels 0-255 (uint8 or float, array or tensor, any shape) -> a new float32 array in [0, 1]."""
    if isinstance(pixels, torch.Tensor):
        pixels = pixels.detach().cpu().numpy()
    x = np.array(pixels, dtype=np.float32)  # always a copy: the division below must not touch the caller's
    x /= PIXEL_MAX
    return x


def pixels_digest(pixels) -> str:
    """A short fingerprint of an image's pixels (array of any shape and dtype): equal pixels, equal text. The Draw
    page tags a prediction with the digest of its 28x28 input, so a browser or a test can tell which drawing an
    answer on screen belongs to."""
    a = np.ascontiguousarray(pixels)
    return hashlib.blake2b(a.tobytes() + str(a.shape).encode(), digest_size=16).hexdigest()


def normalize_pixels(pixels, mean: float = MEAN, std: float = STD) -> np.ndarray:
    """Pixels in [0, 1] (array, any shape) -> a new float64 array (pixel - mean) / std: the model's own input."""
    return (np.asarray(pixels, dtype=float) - mean) / std


def standardize_(x: torch.Tensor, mean: float = MEAN, std: float = STD) -> torch.Tensor:
    """(x - mean) / std in place, for pixels already in [0, 1]: what the model was trained on."""
    return x.sub_(mean).div_(std)


def normalize_raw(raw, mean: float = MEAN, std: float = STD) -> torch.Tensor:
    """A batch of raw uint8 images [N, 28, 28] -> float32 [N, 1, 28, 28] with the dataset's mean and std."""
    x = torch.from_numpy(scale_pixels(raw)).unsqueeze(1)  # [N, 1, 28, 28] in [0, 1]
    return standardize_(x, mean, std)                     # [N, 1, 28, 28] standardized


def load_split(split: str = "train", root: str | os.PathLike | None = None, dataset: str = "mnist",
               download: bool | None = None) -> Split:
    """Read one split into memory. download=None or True fetches missing files (with a progress bar)
    when a mirror answers; download=False never touches the network."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder_name, mean, std = _dataset_info(dataset)
    root = data_root(root)
    folder = root / folder_name / "raw"
    if download is not False and not all((folder / name).is_file() for name in FILE_NAMES):
        _download(root, dataset, folder)  # torchvision wants all four
    check_split(split, root, dataset)
    raw, labels = _read(root, dataset, split == "train")
    if labels.numel() and int(labels.max()) >= NUM_CLASSES:
        raise CorruptDataError(f"{folder / _file_names(split)[1]} holds a label above {NUM_CLASSES - 1}: "
                               "not an MNIST label file")
    return Split(normalize_raw(raw, mean, std), labels.to(torch.int64), raw, dataset, split)


def check_split(split: str = "train", root: str | os.PathLike | None = None, dataset: str = "mnist") -> int:
    """The number of examples in a split, from its files' headers and sizes, without reading the pixels.

    MissingDataError names the missing files (all four are needed), CorruptDataError a damaged one."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = raw_folder(root, dataset)
    missing = ", ".join(name for name in FILE_NAMES if not (folder / name).is_file())
    if missing:
        raise MissingDataError(_missing_message(folder, f"missing: {missing}; downloading is switched off"))
    images_name, labels_name = _file_names(split)
    n_images = check_idx(folder / images_name, IMAGES_MAGIC, (IMAGE_SIZE, IMAGE_SIZE))
    n_labels = check_idx(folder / labels_name, LABELS_MAGIC, ())
    if n_images != n_labels:
        raise CorruptDataError(f"{images_name} holds {n_images} images but {labels_name} holds "
                               f"{n_labels} labels in {folder}; delete both files and download them again")
    return n_images


def _file_names(split: str) -> tuple[str, str]:
    """(images file, labels file) of a split."""
    return f"{SPLITS[split]}-images-idx3-ubyte", f"{SPLITS[split]}-labels-idx1-ubyte"


def _dataset_info(dataset: str) -> tuple[str, float, float]:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    return DATASETS[dataset]


def _missing_message(folder: Path, why: str) -> str:
    names = "\n".join(f"  {name}" for name in FILE_NAMES)
    return (f"MNIST-style data not found in {folder} ({why}).\nExpected these four files there:\n{names}\n"
            "Get them by running once with network access: python -m cnnviz.data --download "
            "(or load_split(..., download=True)), or copy the uncompressed files into that folder, "
            "or point --data / the CNNVIZ_DATA environment variable at a folder that holds "
            f"{folder.parent.name}/raw/.")


def _read(root: Path, dataset: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Read the (already checked) IDX files with NumPy: images uint8 [N, 28, 28], labels int64 [N].
    (torchvision read them before; importing it cost a training worker seconds before its first step.)"""
    folder = root / _dataset_info(dataset)[0] / "raw"
    images_name, labels_name = _file_names("train" if train else "test")
    try:
        images = np.fromfile(folder / images_name, dtype=np.uint8, offset=16)   # header: magic, count, rows, cols
        labels = np.fromfile(folder / labels_name, dtype=np.uint8, offset=8)    # header: magic, count
        images = images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)                      # [N, 28, 28]
    except (OSError, ValueError) as exc:
        raise CorruptDataError(f"could not read {dataset} from {folder}: {exc}") from None
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def _download(root: Path, dataset: str, folder: Path) -> None:
    """Fetch the missing files (cnnviz.download, torchvision's mirrors) with a progress bar on the terminal;
    fail fast, with the message that says how to fill the folder, when no mirror answers."""
    print(f"Downloading {dataset} into {folder} ...", flush=True)
    try:
        fetch.download(root, dataset, progress=_terminal_progress)
    except MissingDataError as exc:
        raise MissingDataError(_missing_message(folder, str(exc))) from None
    finally:
        print(flush=True)


def _terminal_progress(fraction: float, text: str) -> None:
    filled = int(fraction * 30)
    print(f"\r  [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {text:<28}", end="", flush=True)


def main(argv=None) -> int:
    """python -m cnnviz.data [--data ROOT] [--dataset mnist|fashion] [--download]: check (or fetch) the files."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cnnviz.data", description=main.__doc__)
    parser.add_argument("--data", default=None, help="data root (default: $CNNVIZ_DATA or ~/.cache/cnnviz)")
    parser.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    parser.add_argument("--download", action="store_true", help="download missing files")
    args = parser.parse_args(argv)
    try:
        for split in SPLITS:
            data = load_split(split, args.data, args.dataset, download=args.download)
            print(f"{args.dataset} {split}: {len(data)} images in {raw_folder(args.data, args.dataset)}")
    except (MissingDataError, CorruptDataError) as exc:
        print(f"error: {exc}")
        return 2
    return 0


if __name__ == "__main__":  # run the imported module's main, so its exceptions are the ones others catch
    from cnnviz.data import main as _main

    raise SystemExit(_main())
