"""A checkpoint's header, read without PyTorch: where the shipped checkpoints are, the safetensors JSON header and
the cnnviz metadata inside it. cnnviz.checkpoint builds on it to load the weights; a page that only says which
model it uses (the home page's model line) reads the metadata here and never waits for PyTorch's import.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
SHIPPED = {"fc": "digitcnn.safetensors", "gap": "digitcnn_gap.safetensors"}
FORMAT = "cnnviz-checkpoint"
VERSION = "1"
MAX_HEADER_BYTES = 8 * 1024 * 1024
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


class CheckpointError(ValueError):
    """The file is not a valid cnnviz checkpoint; the message says why."""


def shipped_path(head: str = "fc") -> Path:
    """The pretrained checkpoint in checkpoints/ for the FC head (the chapter's model) or the GAP head."""
    if head not in SHIPPED:
        raise ValueError(f"head must be one of {sorted(SHIPPED)}, got {head!r}")
    return CHECKPOINT_DIR / SHIPPED[head]


def recorded_accuracy(metadata: dict) -> float | None:
    """The test accuracy a checkpoint's metadata records: the CLI's full evaluation, else the run's last test."""
    value = (metadata.get("evaluation") or {}).get("accuracy")
    if value is None:
        value = (metadata.get("final") or {}).get("test_acc")
    return None if value is None else float(value)


def file_metadata(path: str | os.PathLike) -> dict:
    """The cnnviz metadata of a checkpoint file, from its header alone (no weights read, no PyTorch);
    CheckpointError when the file cannot be read or is not a cnnviz checkpoint."""
    path = Path(path)
    refuse_pickle_name(path.name)
    try:
        with open(path, "rb") as f:
            start = f.read(8)
            if len(start) == 8:
                start += f.read(min(struct.unpack("<Q", start)[0], MAX_HEADER_BYTES))
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    header, _ = read_header(start, path.name, size)
    return read_metadata(header, path.name)


def refuse_pickle_name(name: str) -> None:
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise CheckpointError(
            f"{name}: PyTorch .pt/.pth files are pickles, which can run code when opened, so cnnviz never "
            "opens them. Save the model with cnnviz (python -m cnnviz.train --out model.safetensors) "
            "or convert a state_dict you trust with safetensors.torch.save_file.")


def read_header(data: bytes, name: str, size: int | None = None) -> tuple[dict, int]:
    """The safetensors JSON header and the length of the tensor data after it. `data` holds the file from its
    start, the whole file or (with the file's `size`) at least its header."""
    size = len(data) if size is None else size
    # a pickle starts with 0x80 and a protocol byte, a torch.save file with the zip signature "PK\x03\x04"
    hint = (" (it looks like a PyTorch pickle/zip file; cnnviz never opens pickles)"
            if data[:1] == b"\x80" or data[:4] == b"PK\x03\x04" else "")
    if len(data) < 8:
        raise CheckpointError(f"{name} is {len(data)} bytes: too short to be a safetensors file{hint}")
    (header_len,) = struct.unpack("<Q", data[:8])
    if not 2 <= header_len <= min(size - 8, len(data) - 8, MAX_HEADER_BYTES):
        raise CheckpointError(f"{name}: the header length ({header_len}) does not fit the file "
                              f"({size} bytes): the file is truncated or not safetensors{hint}")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{name}: the safetensors header is not valid JSON{hint}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: the safetensors header is not a JSON object")
    return header, size - 8 - header_len


def read_metadata(header: dict, name: str) -> dict:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "cnnviz" not in meta:
        raise CheckpointError(f"{name} is a safetensors file but not a cnnviz checkpoint "
                              "(no cnnviz metadata in its header)")
    try:
        metadata = json.loads(meta["cnnviz"])
    except (TypeError, ValueError):
        raise CheckpointError(f"{name}: the cnnviz metadata is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{name}: the cnnviz metadata is not a JSON object")
    return metadata


