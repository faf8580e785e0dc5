"""Checkpoints: one .safetensors file, the training metadata as JSON inside its header. Never unpickles.

Everything is validated before a single weight is loaded: the header, the metadata, the model config, and
the name, shape, dtype (float32) and finiteness of every tensor against a model built from that config.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from cnnviz.checkpoint_header import (  # noqa: F401 -- the header's names, used through this module too
    CHECKPOINT_DIR, FORMAT, MAX_HEADER_BYTES, PICKLE_SUFFIXES, SHIPPED, VERSION, CheckpointError, shipped_path)
from cnnviz.checkpoint_header import read_header as _read_header
from cnnviz.checkpoint_header import read_metadata as _read_metadata
from cnnviz.checkpoint_header import refuse_pickle_name as _refuse_pickle_name
from cnnviz.model import DigitCNN, ModelConfig

MAX_FILE_BYTES = 64 * 1024 * 1024      # DigitCNN is ~0.8 MB, a design at most 5 M parameters (20 MB)
MAX_SIZE = 4096                         # no channel count, width or image side above this


def to_bytes(model: nn.Module, metadata: dict) -> bytes:
    """The checkpoint file's bytes (weights + metadata), as save() writes them and load_bytes() reads them."""
    from safetensors.torch import save as safetensors_bytes

    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise ValueError("a checkpoint holds a DigitCNN (a model with a ModelConfig in .config)")
    metadata = dict(metadata, model_config=config.to_dict())
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "version": VERSION, "cnnviz": json.dumps(_jsonable(metadata), allow_nan=False)}
    return safetensors_bytes(tensors, metadata=header)


def save(path: str | os.PathLike, model: nn.Module, metadata: dict) -> Path:
    """Write weights + metadata atomically (temp file in the same folder, fsync, rename); return the path."""
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".safetensors")
    if path.suffix != ".safetensors":
        raise ValueError(f"checkpoints are .safetensors files; got {path.name!r}")
    data = to_bytes(model, metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is meant to be read by the app
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def load(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(model in eval mode, metadata) from a checkpoint file; CheckpointError for anything else."""
    path = Path(path)
    _refuse_pickle_name(path.name)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CheckpointError(f"{path.name} is {size} bytes; a DigitCNN checkpoint is under "
                                  f"{MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _load(data, path.name)


def load_bytes(data: bytes, filename: str = "upload.safetensors") -> tuple[nn.Module, dict]:
    """Same as load() for an uploaded file's bytes; `filename` is used for the messages and the .pt check."""
    _refuse_pickle_name(filename)
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(f"{filename} is {len(data)} bytes; a DigitCNN checkpoint is under "
                              f"{MAX_FILE_BYTES // 2**20} MB")
    return _load(bytes(data), filename)


def _load(data: bytes, name: str) -> tuple[nn.Module, dict]:
    from safetensors.torch import load as from_bytes

    header, data_len = _read_header(data, name)
    metadata = _read_metadata(header, name)
    config = _read_model_config(metadata, name)
    with torch.device("meta"):  # shapes only, no memory: the config may be hostile
        expected = {k: tuple(v.shape) for k, v in DigitCNN(config).state_dict().items()}
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    _check_entries(entries, expected, data_len, name)
    try:
        tensors = from_bytes(data)
    except Exception as exc:  # safetensors raises its own error type for anything malformed
        raise CheckpointError(f"{name}: safetensors could not read the tensors: {exc}") from None
    for key, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name}: tensor {key!r} holds NaN or infinite values")
    model = DigitCNN(config)
    model.load_state_dict(tensors, strict=True)
    return model.eval(), metadata


def _read_model_config(metadata: dict, name: str) -> ModelConfig:
    raw = metadata.get("model_config")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{name}: the metadata has no model_config")
    try:
        config = ModelConfig.from_dict(raw)  # new or old (flat) format; an impossible design raises ValueError
        sizes = [config.in_channels, config.image_size, config.num_classes, *config.channels, *config.hidden]
        if not all(1 <= s <= MAX_SIZE for s in sizes):
            raise ValueError(f"sizes out of range (1 to {MAX_SIZE}): {sizes}")
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: invalid model_config: {exc}") from None
    return config


def _check_entries(entries: dict, expected: dict, data_len: int, name: str) -> None:
    missing, unexpected = sorted(set(expected) - set(entries)), sorted(set(entries) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{name}: the weights do not match the model its config describes "
                              f"(missing {missing}, unexpected {unexpected})")
    for key, shape in expected.items():
        entry = entries[key]
        if not isinstance(entry, dict) or entry.get("dtype") != "F32":
            got = entry.get("dtype") if isinstance(entry, dict) else entry
            raise CheckpointError(f"{name}: tensor {key!r} must be float32 (F32), got {got!r}")
        if tuple(entry.get("shape", ())) != shape:
            raise CheckpointError(f"{name}: tensor {key!r} has shape {entry.get('shape')}, "
                                  f"the model needs {list(shape)}")
        offsets = entry.get("data_offsets")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not 0 <= offsets[0] <= offsets[1] <= data_len
                or offsets[1] - offsets[0] != 4 * math.prod(shape)):
            raise CheckpointError(f"{name}: tensor {key!r} points outside the file's data "
                                  f"(offsets {offsets}, {data_len} data bytes): the file is truncated or damaged")


def _jsonable(value):
    """Plain JSON values: NumPy/torch scalars and arrays to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
