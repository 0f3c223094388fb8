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


def grid(header: list[str], body: list[list[str]], right=()) -> list[str]:
    """A plain-text table: the header, a rule, the body; columns as wide as their widest cell, those in ``right``
    right-aligned, trailing blanks cut."""
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in body]
