"""Test-set evaluation: accuracy and loss, probabilities, confusion matrix, per-class accuracy, mistakes."""
from __future__ import annotations

import base64

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.data import NUM_CLASSES, Split


# Images per forward pass when evaluating: small enough for each layer's activations to stay in the CPU's
# cache, which is faster than large batches (the measurements: bench/NOTES.md §6).
EVAL_BATCH_SIZE = 256


def _batches(model: nn.Module, images: torch.Tensor, batch_size: int):
    """Yield (start, logits) over `images` in eval mode without autograd; restores the model's mode."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(model.parameters()).device
    forward = getattr(model, "forward_pooling_first", model)  # a DigitCNN's quicker order, the same logits
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = images[start:start + batch_size].to(device)  # [B, 1, 28, 28]
                yield start, forward(x).float()                   # [B, 10] logits
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, split: Split, batch_size: int = EVAL_BATCH_SIZE) -> dict:
    """Accuracy (a fraction in [0, 1]), mean cross-entropy loss, correct and total over a whole split."""
    loss_sum, correct = 0.0, 0
    for start, logits in _batches(model, split.images, batch_size):
        y = split.labels[start:start + len(logits)].to(logits.device)  # [B]
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
    total = len(split)
    return {"accuracy": correct / max(total, 1), "loss": loss_sum / max(total, 1),
            "correct": correct, "total": total}


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE) -> torch.Tensor:
    """Softmax probabilities [N, 10] (on the CPU) for normalized images [N, 1, 28, 28]."""
    parts = [F.softmax(logits, dim=1).cpu() for _, logits in _batches(model, images, batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, NUM_CLASSES)


def confusion_from_predictions(labels, predicted, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """cm[true, predicted] = how many examples of class `true` were called `predicted`."""
    labels, predicted = np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    flat = labels * num_classes + predicted
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(cm) -> list[float]:
    """Fraction of each true class predicted correctly (the diagonal over the row sums); 0 for empty rows."""
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1)
    return [float(cm[i, i] / rows[i]) if rows[i] else 0.0 for i in range(len(cm))]


def _ranked(probs: np.ndarray, labels: np.ndarray, hits: np.ndarray, limit: int,
            least_sure_first: bool = False) -> list[dict]:
    """The examples at `hits`, most confident first (least confident first if asked; ties in test-set order),
    each with its top 3 classes."""
    confidence = probs[hits].max(1)
    hits = hits[np.argsort(confidence if least_sure_first else -confidence, kind="stable")][:limit]
    top = np.argsort(-probs[hits], axis=1, kind="stable")[:, :3]  # [n, 3]
    return [{"index": int(i), "true": int(labels[i]), "predicted": int(t[0]),
             "top3": [[int(c), round(float(probs[i, c]), 5)] for c in t]} for i, t in zip(hits, top)]


def pixels_text(image) -> str:
    """A uint8 image (e.g. 28x28 raw MNIST) as base64 text for JSON: "28x28:<base64>"."""
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim != 2:
        raise ValueError(f"expected one grayscale image [H, W], got shape {image.shape}")
    return f"{image.shape[0]}x{image.shape[1]}:" + base64.b64encode(image.tobytes()).decode("ascii")


def pixels_from_text(text: str) -> np.ndarray:
    """The uint8 image [H, W] that `pixels_text` wrote; ValueError for anything else."""
    try:
        shape, data = text.split(":", 1)
        h, w = (int(n) for n in shape.split("x"))
        flat = np.frombuffer(base64.b64decode(data, validate=True), dtype=np.uint8)
        return flat.reshape(h, w).copy()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an image written by pixels_text: {exc}") from None


def summarize(probs, labels, max_mistakes: int = 24, raw=None) -> dict:
    """Accuracy, per-class accuracy, confusion matrix and the most confident mistakes, as JSON-ready values.

    `probs` [N, 10] and `labels` [N] are arrays or tensors; the checkpoints store this same record. With `raw`
    (the uint8 images [N, H, W]) each recorded mistake also carries its picture, "pixels" (see `pixels_text`).
    """
    probs, labels = np.asarray(probs), np.asarray(labels, dtype=np.int64)
    predicted = probs.argmax(1)                                 # [N]
    cm = confusion_from_predictions(labels, predicted, probs.shape[1])
    correct = int(np.trace(cm))
    mistakes = _ranked(probs, labels, np.flatnonzero(predicted != labels), max_mistakes)
    if raw is not None:
        raw = np.asarray(raw)
        for m in mistakes:
            m["pixels"] = pixels_text(raw[m["index"]])
    return {"total": len(labels), "correct": correct, "accuracy": correct / max(len(labels), 1),
            "per_class": per_class_accuracy(cm), "confusion": cm.tolist(), "misclassified": mistakes}


def evaluation_report(model: nn.Module, split: Split, batch_size: int = EVAL_BATCH_SIZE,
                      max_mistakes: int = 24) -> dict:
    """`summarize` of the model on a whole split (mistakes with their pictures), with the dataset and split
    names (stored in checkpoints)."""
    probs = predict(model, split.images, batch_size)        # [N, 10]
    return {"dataset": split.dataset, "split": split.split,
            **summarize(probs, split.labels, max_mistakes, raw=split.raw)}


def cell_examples(probs, labels, true: int, predicted: int, limit: int = 12) -> list[dict]:
    """Examples of class `true` that the model called `predicted`, most confident first, with their top 3."""
    probs, labels = np.asarray(probs), np.asarray(labels, dtype=np.int64)
    return _ranked(probs, labels, np.flatnonzero((labels == true) & (probs.argmax(1) == predicted)), limit)


def least_confident_correct(probs, labels, digit: int, limit: int = 12) -> list[dict]:
    """Examples of class `digit` that the model got right, least confident first: the hard cases behind a
    diagonal cell of the confusion matrix, with their top 3."""
    probs, labels = np.asarray(probs), np.asarray(labels, dtype=np.int64)
    if not 0 <= digit < probs.shape[1]:
        raise ValueError(f"digit must be a class from 0 to {probs.shape[1] - 1}, got {digit}")
    hits = np.flatnonzero((labels == digit) & (probs.argmax(1) == digit))
    return _ranked(probs, labels, hits, limit, least_sure_first=True)


def largest_mistake(cm) -> tuple[int, int]:
    """(true, predicted) of the off-diagonal cell with the most examples: the model's favourite confusion."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, -1)
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    return int(t), int(p)


def format_report(report: dict) -> str:
    """Plain-text accuracy, per-class accuracy and confusion matrix."""
    lines = [f"Test accuracy: {100 * report['accuracy']:.2f}%  ({report['correct']}/{report['total']})",
             "", "Per-class accuracy:"]
    lines += [f"  {digit}: {100 * acc:6.2f}%" for digit, acc in enumerate(report["per_class"])]
    lines += ["", "Confusion matrix (rows = true digit, columns = predicted):",
              "      " + "".join(f"{c:>6}" for c in range(len(report["confusion"])))]
    lines += [f"  {t:>2}: " + "".join(f"{n:>6}" for n in row) for t, row in enumerate(report["confusion"])]
    return "\n".join(lines)


def main(argv=None) -> int:
    """python -m cnnviz.evaluate CHECKPOINT [--data ROOT]: accuracy, per-class accuracy, confusion matrix."""
    import argparse

    from cnnviz.checkpoint import CheckpointError, load
    from cnnviz.data import CorruptDataError, MissingDataError, load_split

    parser = argparse.ArgumentParser(prog="python -m cnnviz.evaluate", description=main.__doc__)
    parser.add_argument("checkpoint", help="a .safetensors file written by python -m cnnviz.train")
    parser.add_argument("--data", default=None, help="data root holding MNIST/raw (default: $CNNVIZ_DATA "
                        "or ~/.cache/cnnviz)")
    parser.add_argument("--batch-size", type=int, default=EVAL_BATCH_SIZE)
    parser.add_argument("--recorded", action="store_true",
                        help="print the evaluation stored in the checkpoint instead of re-running it")
    args = parser.parse_args(argv)
    try:
        model, metadata = load(args.checkpoint)
    except (CheckpointError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    dataset = metadata.get("dataset", {}).get("name", "mnist")
    if args.recorded:
        if "evaluation" not in metadata:
            print("error: this checkpoint holds no recorded evaluation; run without --recorded")
            return 2
        print(f"{args.checkpoint} (evaluation recorded at training time)")
        print(format_report(metadata["evaluation"]))
        return 0
    try:
        test = load_split("test", args.data, dataset=dataset, download=False)
    except (MissingDataError, CorruptDataError) as exc:
        print(f"error: {exc}\n(--recorded prints the evaluation stored in the checkpoint)")
        return 2
    print(f"{args.checkpoint} on the {dataset} test set")
    print(format_report(evaluation_report(model, test, args.batch_size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
