"""What the learned filters do to an image, next to what the classic kernels do."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def kernel_responses(x: torch.Tensor, kernels) -> torch.Tensor:
    """Convolve one grayscale image x [1, 1, H, W] with K kernels [K, k, k] ("same" padding) -> [K, H, W]."""
    w = torch.as_tensor(np.asarray(kernels, dtype=np.float32))
    if w.dim() == 2:
        w = w[None]                                        # [1, k, k]
    if w.dim() != 3 or w.shape[-1] != w.shape[-2] or w.shape[-1] % 2 != 1:
        raise ValueError(f"kernels must be [K, k, k] with odd k, got shape {tuple(w.shape)}")
    if x.dim() != 4 or x.shape[:2] != (1, 1):
        raise ValueError(f"expected one grayscale image [1, 1, H, W], got shape {tuple(x.shape)}")
    return F.conv2d(x, w[:, None], padding=w.shape[-1] // 2)[0]  # [K, H, W]


@dataclass(frozen=True)
class Conv2Summary:
    norms: np.ndarray          # [C_out] L2 norm of each conv2 filter
    channel_norms: np.ndarray  # [C_out, C_in] L2 norm of each filter's slice on each input channel
    strongest: np.ndarray      # [C_out, top] indices of the input channels each filter weighs most


def conv2_summary(weight: torch.Tensor, top: int = 3) -> Conv2Summary:
    """Per-filter norms and the strongest input channels of a conv weight [C_out, C_in, k, k]."""
    if weight.dim() != 4:
        raise ValueError(f"expected a conv weight [C_out, C_in, k, k], got shape {tuple(weight.shape)}")
    w = weight.detach().float()
    channel_norms = w.flatten(2).norm(dim=2)               # [C_out, C_in]
    norms = w.flatten(1).norm(dim=1)                       # [C_out]
    top = min(top, w.shape[1])
    strongest = channel_norms.topk(top, dim=1).indices     # [C_out, top]
    return Conv2Summary(norms.numpy(), channel_norms.numpy(), strongest.numpy())
