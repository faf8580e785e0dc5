"""Where a training run happens: the device (auto = CUDA, then Apple MPS, then CPU) and its precision."""
from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """'auto' -> the first available of cuda, mps, cpu; a named device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; use device='auto' or 'cpu'")
    mps = getattr(torch.backends, "mps", None)
    if name == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError("device 'mps' was asked for but Apple MPS is not available; use device='auto' or 'cpu'")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' -> 'bfloat16' on a CPU with oneDNN bf16 support (AVX-512 BF16 / AMX) or a bf16 GPU."""
    if name != "auto":
        return name
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"
