"""Class activation maps (Zhou et al., 2016) for a model with a Global-Average-Pooling head.

With GAP, logit_c = sum_k w_{c,k} * mean(A_k) + b_c, so the map CAM_c = sum_k w_{c,k} * A_k shows
where in the image the evidence for class c lies, and its mean is exactly logit_c - b_c.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.layers import layer_specs
from cnnviz.trace import trace


@dataclass(frozen=True)
class ClassActivationMap:
    class_index: int
    cam: torch.Tensor          # [h, w] over the last conv maps (7x7 for DigitCNN)
    upsampled: torch.Tensor    # [H, W] the input's size, for overlaying
    logit: float
    bias: float


def gap_parts(model: nn.Module) -> tuple[str, nn.Linear]:
    """(name of the layer whose maps feed the GAP, the classifier after it); ValueError without a GAP head."""
    specs = layer_specs(model)
    gap_at = [i for i, spec in enumerate(specs) if spec.kind == "global_avg_pool"]
    after = [spec.kind for spec in specs[gap_at[-1] + 1:]] if gap_at else []
    if not gap_at or gap_at[-1] == 0 or after.count("linear") != 1 or set(after) - {"flatten", "linear"}:
        raise ValueError("a class activation map needs a model whose head is global average pooling followed "
                         "by one linear layer (the GAP variant, head='gap'); this model has another head")
    return specs[gap_at[-1] - 1].key, next(s.module for s in specs[gap_at[-1]:] if s.kind == "linear")


@torch.no_grad()
def class_activation_map(model: nn.Module, x: torch.Tensor, class_index: int | None = None) -> ClassActivationMap:
    """CAM of `class_index` (default: the predicted class) for one input x [1, C, H, W]."""
    feature_name, classifier = gap_parts(model)
    acts = trace(model, x)
    maps = acts[feature_name][0]                          # [K, h, w]
    logits = acts["logits"][0]                            # [num_classes]
    c = int(logits.argmax()) if class_index is None else int(class_index)
    if not 0 <= c < logits.numel():
        raise ValueError(f"class_index must be in 0..{logits.numel() - 1}, got {class_index}")
    weights = classifier.weight[c]                        # [K]
    cam = torch.einsum("k,khw->hw", weights, maps)        # [h, w]
    size = tuple(x.shape[-2:])
    upsampled = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]  # [H, W]
    bias = float(classifier.bias[c]) if classifier.bias is not None else 0.0
    return ClassActivationMap(c, cam, upsampled, float(logits[c]), bias)
