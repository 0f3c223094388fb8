"""Number formats shared by every plain-text and HTML view (compare tables, the gate, the report).

One place, so a p-value or a difference reads the same in the console, in CI logs and in the HTML report.
"""
from __future__ import annotations

MARKS = {"win": "▲", "loss": "▼"}
DASH = "-"


def fmt_score(v: float | None) -> str:
    return DASH if v is None else f"{v:.4f}"


def fmt_diff(v: float | None) -> str:
    return DASH if v is None else f"{v:+.4f}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def fmt_share(v: float | None) -> str:
    return DASH if v is None else f"{100 * v:.0f}%"
