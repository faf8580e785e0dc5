"""A digit's nearest neighbours in the network's penultimate layer, searched among the digits it learned from.

The map of digits (cnnviz.embedding) shows a sample of test digits; the question "which digits does the network
think this one is like?" is best asked of the 60,000 training digits. Their features are computed once per model
(batch by batch: [60000, D] float32, 30 MB for the FC head's 128 units); each new digit then costs one exact
distance pass over them, in the full layer (not on the 2-D map). A bank of test digits (the map's own features)
answers the same question when the training digits are not at hand.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from cnnviz.embedding import BATCH_SIZE, DigitMap, features, nearest

SPLITS = ("train", "test")


@dataclass(frozen=True, eq=False)
class FeatureBank:
    features: np.ndarray    # [N, D] float32 penultimate-layer features
    labels: np.ndarray      # [N] true labels (int64)
    indices: np.ndarray     # [N] each row's position in its split
    split: str              # "train" or "test": where the digits come from

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class Neighbours:
    rows: np.ndarray        # [k] rows of the bank, nearest first
    indices: np.ndarray     # [k] their positions in the bank's split
    labels: np.ndarray      # [k] their true labels
    distances: np.ndarray   # [k] Euclidean distances in the layer (float64), increasing
    split: str              # the bank's split


def split_features(model: nn.Module, pixels, labels, split: str = "train",
                   batch_size: int = BATCH_SIZE) -> FeatureBank:
    """The features of every digit of a split: `pixels` uint8 [N, 28, 28] as stored (a Split's `raw`) or in
    [0, 1], `labels` [N]. For the training split: features [60000, D]."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(pixels):
        raise ValueError(f"{len(pixels)} pictures but {len(labels)} labels: pass one label per picture")
    feats = features(model, pixels, batch_size).astype(np.float32, copy=False)     # [N, D]
    return FeatureBank(feats, labels, np.arange(len(labels), dtype=np.int64), split)


def map_bank(digits: DigitMap) -> FeatureBank:
    """The map's own test digits as a bank (their features were recorded with the map)."""
    return FeatureBank(np.asarray(digits.features, dtype=np.float32), np.asarray(digits.labels, dtype=np.int64),
                       np.asarray(digits.indices, dtype=np.int64), "test")


def nearest_digits(bank: FeatureBank, query, k: int = 8) -> Neighbours:
    """The k digits of `bank` closest to the features `query` [D], nearest first, with their labels."""
    rows, distances = nearest(bank.features, query, k)                             # [k], [k]
    return Neighbours(rows, bank.indices[rows], bank.labels[rows], distances, bank.split)
