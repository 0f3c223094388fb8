"""Small Markdown helpers for the generated blocks."""
from __future__ import annotations

import re


def cell(value) -> str:
    """One table cell: newlines folded, empty as ``-``, pipes escaped outside code spans (where the table
    extension does not split; a backslash there would show). Idempotent."""
    text = "-" if value is None or value == "" else str(value).replace("\n", " ")
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else re.sub(r"(?<!\\)\|", r"\\|", p) for p in parts)


def code(value) -> str:
    return f"`{value}`" if value not in (None, "") else "-"


def table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0].strip()
