"""Presentation helpers for the GAP and CAM page."""
from __future__ import annotations


def signed(value: float, digits: int = 2) -> str:
    """A number for prose, with a real minus sign: 12.69, −0.75 (never "- -0.75")."""
    text = f"{float(value):.{digits}f}"
    return "−" + text[1:] if text.startswith("-") else text
