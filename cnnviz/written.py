"""Numbers as a page writes them: each rounded to a number of decimals, and totals that add the written numbers
exactly, so a reader who adds up the terms on the page gets the total on the page (no floating-point crumbs).

Totals are computed in whole units of the last decimal shown (integers, exact in float64), then scaled back.
"""
from __future__ import annotations

import numpy as np

EXACT_TOL = 1e-9   # a value within this of its rounding is written exactly


def decimals_needed(values, most: int = 4) -> int:
    """The fewest decimals (0..most) that write every value exactly; `most` when none is enough."""
    a = np.asarray(values, dtype=float)
    for d in range(most + 1):
        if np.allclose(a, np.round(a, d), rtol=0, atol=EXACT_TOL):
            return d
    return most


def _units(values, digits: int) -> np.ndarray:
    """Values in whole units of the last decimal written (0.0001 for 4 digits), as float64 integers."""
    if digits < 0:
        raise ValueError(f"digits must be 0 or more, got {digits}")
    return np.rint(np.asarray(values, dtype=float) * 10.0 ** digits)


def as_written(values, digits: int) -> np.ndarray | float:
    """Each value rounded to `digits` decimals, as the page writes it (a float for a single value)."""
    r = _units(values, digits) / 10.0 ** digits
    return float(r) if r.ndim == 0 else r


def total(*terms, digits: int) -> float:
    """The sum of every number in `terms` (values or arrays) as written to `digits` decimals, itself exact."""
    units = sum(float(_units(t, digits).sum()) for t in terms)   # whole numbers: exact in float64
    return units / 10.0 ** digits


def is_exact(values, digits: int) -> bool:
    """True when every value is written exactly at `digits` decimals (no rounding was needed)."""
    return bool(np.allclose(as_written(values, digits), values, rtol=0, atol=EXACT_TOL))
