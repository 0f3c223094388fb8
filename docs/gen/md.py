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


#: a Sphinx role as docstrings write it (:class:`~a.B`) or as Markdown renders it (:class:<code>~a.B</code>)
ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|data|attr|exc|obj|const|ref|term|envvar|file|program):"
                  r"(?:`(?P<tilde>~?)(?P<md>[^`]*)`|<code>(?P<tilde_html>~?)(?P<html>[^<]*)</code>)")
#: any role left over (what the build must not show)
ANY_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:(?:`|<code>)")


def plain_roles(text: str) -> str:
    """Sphinx roles of docstrings as code: ``:class:`~a.b.C``` → ```C```, ``:mod:`a.b``` → ```a.b``` (``~``
    keeps the last name, as Sphinx shows it; a target wrapped over two lines is joined), in Markdown or in the
    HTML that Markdown made of them (mkdocstrings renders docstrings as they are)."""
    def one(m: re.Match) -> str:
        html = m["html"] is not None
        target = re.sub(r"\s+", "", m["html"] if html else m["md"])
        if m["tilde_html" if html else "tilde"]:
            target = target.rsplit(".", 1)[-1]
        return f"<code>{target}</code>" if html else f"`{target}`"
    return ROLE.sub(one, text)
