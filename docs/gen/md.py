"""Small Markdown helpers for the generated blocks."""
from __future__ import annotations


def cell(value) -> str:
    """One table cell: pipes escaped, newlines folded, empty as ``-``."""
    text = "-" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def code(value) -> str:
    return f"`{value}`" if value not in (None, "") else "-"


def table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0].strip()
