"""Adversarial examples: the smallest L-infinity change to a digit that changes the network's answer.

FGSM (Goodfellow et al. 2015) moves every pixel by epsilon in the sign of the loss gradient; PGD (Madry et al.
2018) repeats smaller such steps, each time pulled back into the epsilon box around the original and into [0, 1].
Pictures are 28x28 in [0, 1] as in `cnnviz.explain`; the caller's model is never changed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.explain import SHIPPED_DIR, as_pixels, working_copy

METHODS = ("fgsm", "pgd")
SHIPPED_CURVE = "accuracy_curve.json"


@dataclass(frozen=True, eq=False)
class FlipResult:
    epsilon: float                      # the change's L-infinity size: max |image - original|
    image: np.ndarray                   # [H, W] the changed picture, in [0, 1]
    label: int                          # the network's answer on `image`
    probabilities: np.ndarray           # [num_classes] softmax on `image`
    original_label: int                 # the answer on the original picture
    original_probabilities: np.ndarray  # [num_classes]
    original: np.ndarray                # [H, W] the picture as given, in [0, 1]
    target: int | None = None           # the class asked for (None: any other answer)

    @property
    def perturbation(self) -> np.ndarray:
        """image - original, [H, W], each value within ±epsilon."""
        return self.image - self.original


def _loss(forward, x: torch.Tensor, label: int, target: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to climb, logits): away from `label`, or towards `target`."""
    logits = forward(x)  # [B, num_classes]
    if target is None:
        return F.cross_entropy(logits, torch.full((len(x),), label), reduction="sum"), logits
    return -F.cross_entropy(logits, torch.full((len(x),), target), reduction="sum"), logits


def _gradient_sign(forward, x: torch.Tensor, label: int, target: int | None) -> torch.Tensor:
    x = x.detach().requires_grad_()
    loss, _ = _loss(forward, x, label, target)
    (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()  # [B, 1, H, W]


def _flipped(forward, x: torch.Tensor, label: int, target: int | None) -> bool:
    """Does the network, run on this one picture alone, give another answer (or the target)?"""
    with torch.no_grad():
        answer = int(forward(x).argmax(1)[0])
    return answer != label if target is None else answer == target


def _project(x: torch.Tensor, x0: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Into the epsilon box around x0 and into [0, 1]."""
    return torch.minimum(torch.maximum(x, x0 - epsilon), x0 + epsilon).clamp(0, 1)


def _pgd(forward, x0, start, epsilon, label, target, steps) -> torch.Tensor | None:
    """PGD from `start` inside the epsilon box; the first picture that flips, or None."""
    x, alpha = _project(start, x0, epsilon), 2.5 * epsilon / steps
    for _ in range(steps):
        if _flipped(forward, x, label, target):
            return x
        x = _project(x + alpha * _gradient_sign(forward, x, label, target), x0, epsilon)
    return x if _flipped(forward, x, label, target) else None


def smallest_flip(model, image, target: int | None = None, max_epsilon: float = 0.5, fgsm_steps: int = 20,
                  pgd_steps: int = 10, bisections: int = 8) -> FlipResult | None:
    """The smallest L-infinity change found that changes the answer (or makes it `target`); None if nothing up
    to `max_epsilon` does. FGSM at `fgsm_steps` growing epsilons, then bisection on epsilon with PGD."""
    if not 0 < max_epsilon <= 1:
        raise ValueError(f"max_epsilon must be in (0, 1] (a change in [0, 1] pixels), got {max_epsilon}")
    forward = working_copy(model)
    x0 = as_pixels(image)                                             # [1, 1, H, W]
    with torch.no_grad():
        p0 = torch.softmax(forward(x0), 1)[0]                         # [num_classes]
    label = int(p0.argmax())
    if target is not None:
        if isinstance(target, bool) or int(target) != target or not 0 <= int(target) < p0.numel():
            raise ValueError(f"target must be a class index in 0..{p0.numel() - 1}, got {target!r}")
        target = int(target)
        if target == label:
            raise ValueError(f"the network already answers {label}; pick another target class")
    epsilons = max_epsilon * torch.arange(1, fgsm_steps + 1) / fgsm_steps    # [S]
    sign = _gradient_sign(forward, x0, label, target)                  # [1, 1, H, W]
    candidates = (x0 + epsilons[:, None, None, None] * sign).clamp(0, 1)  # [S, 1, H, W]
    with torch.no_grad():
        answers = forward(candidates).argmax(1)                        # [S]
    hits = (answers != label) if target is None else (answers == target)
    best, high = None, max_epsilon
    for i in hits.nonzero().flatten().tolist():
        if _flipped(forward, candidates[i:i + 1], label, target):
            best, high = candidates[i:i + 1], float(epsilons[i])
            break
    if best is None:
        best = _pgd(forward, x0, x0, max_epsilon, label, target, pgd_steps * 3)
        if best is None:
            return None
    low = 0.0  # where FGSM failed PGD may still succeed: bisect all the way down
    for _ in range(bisections):
        middle = (low + high) / 2
        found = _pgd(forward, x0, best, middle, label, target, pgd_steps)
        if found is None:
            low = middle
        else:
            best, high = found, middle
    with torch.no_grad():
        p = torch.softmax(forward(best), 1)[0]                         # [num_classes]
    return FlipResult(float((best - x0).abs().max()), best[0, 0].double().numpy(), int(p.argmax()),
                      p.double().numpy(), label, p0.double().numpy(), x0[0, 0].double().numpy(), target)


def _pixels_and_labels(split) -> tuple[torch.Tensor, torch.Tensor]:
    """A data.Split (its raw pixels / 255) or a pair (pictures in [0, 1] [N, H, W] or [N, 1, H, W], labels [N])."""
    if hasattr(split, "raw") and hasattr(split, "labels"):
        pixels, labels = split.raw.float() / 255.0, split.labels
    else:
        pixels, labels = split
    pixels = torch.as_tensor(np.asarray(pixels), dtype=torch.float32)
    pixels = pixels[:, None] if pixels.dim() == 3 else pixels           # [N, 1, H, W]
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)    # [N]
    if pixels.dim() != 4 or len(pixels) != len(labels) or len(labels) == 0:
        raise ValueError("pass a Split or (pictures [N, 28, 28] in [0, 1], labels [N]) of the same, non-zero length")
    if pixels.min() < 0 or pixels.max() > 1:
        raise ValueError("the pictures must be in [0, 1] (raw pixels / 255), not normalised")
    return pixels, labels


def accuracy_curve(model, split, epsilons, method: str = "fgsm", steps: int = 10, batch_size: int = 500) -> dict:
    """Accuracy on `split` when every picture is attacked (untargeted, away from its true label) at each epsilon.

    method "fgsm": one step of size epsilon; "pgd": `steps` steps of 2.5 epsilon / steps (no random start).
    Returns {"method", "steps", "count", "epsilons": [...], "accuracy": [...]} (JSON-ready).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    epsilons = [float(e) for e in epsilons]
    if not epsilons or min(epsilons) < 0 or max(epsilons) > 1:
        raise ValueError(f"epsilons must be a non-empty list of numbers in [0, 1], got {epsilons}")
    forward = working_copy(model)
    pixels, labels = _pixels_and_labels(split)
    correct = np.zeros(len(epsilons), dtype=np.int64)
    for start in range(0, len(labels), batch_size):
        x0, y = pixels[start:start + batch_size], labels[start:start + batch_size]  # [B, 1, H, W], [B]
        for j, epsilon in enumerate(epsilons):
            x = x0
            for _ in range(1 if method == "fgsm" else steps):
                if epsilon == 0:
                    break
                alpha = epsilon if method == "fgsm" else 2.5 * epsilon / steps
                x = x.detach().requires_grad_()
                (grad,) = torch.autograd.grad(F.cross_entropy(forward(x), y, reduction="sum"), x)
                x = _project(x.detach() + alpha * grad.sign(), x0, epsilon)  # [B, 1, H, W]
            with torch.no_grad():
                correct[j] += int((forward(x).argmax(1) == y).sum())
    return {"method": method, "steps": 1 if method == "fgsm" else int(steps), "count": int(len(labels)),
            "epsilons": epsilons, "accuracy": (correct / len(labels)).tolist()}


def load_shipped_accuracy_curve(folder: str | Path = SHIPPED_DIR) -> dict:
    """The recorded curves of the shipped FC model on the test set: {"fgsm": curve, "pgd": curve, ...}."""
    path = Path(folder) / SHIPPED_CURVE
    try:
        curves = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the recorded accuracy curve {path.name}: {exc}; "
                         "run `python scripts/record_explain.py` to record it") from None
    for method in METHODS:
        curve = curves.get(method, {})
        if len(curve.get("epsilons", ())) != len(curve.get("accuracy", ())) or not curve.get("epsilons"):
            raise ValueError(f"{path.name}: the {method} curve is missing or malformed")
    return curves
