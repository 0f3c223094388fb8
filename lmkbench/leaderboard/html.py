"""A self-contained HTML page for a :class:`~.board.Leaderboard`: one sortable table, no external files.

Rendered with jinja2 (autoescape on: model names, task names and notes come from user files). Sorting is a
few lines of inline JavaScript (``templates/leaderboard.js``): click a column heading to sort by it (scores
descending first, rank and names ascending first), click again to reverse. The page carries the report's
Content-Security-Policy (:mod:`lmkbench.report.csp`), which lets that one script run (by its hash) and
nothing else, and fetches nothing.
"""
from __future__ import annotations

import time
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..report.csp import policy
from .board import GROUP_LABELS, Leaderboard

def _num_cell(value, note=None):
    from markupsafe import Markup, escape

    if value is None:
        return Markup('<td class="na" data-v="">&ndash;</td>')
    title = f' title="{escape(note)}"' if note else ""
    return Markup(f'<td data-v="{value!r}"{title}>{100 * value:.2f}{"*" if note else ""}</td>')


#: the page template lives beside the report's (package data: ``lmkbench/report/templates``)
TEMPLATES = Path(__file__).resolve().parent.parent / "report" / "templates"


def render_html(lb: Leaderboard) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(num=_num_cell, group_label=lambda g: GROUP_LABELS.get(g, g))
    script = (TEMPLATES / "leaderboard.js").read_text(encoding="utf-8")
    return env.get_template("leaderboard.html.j2").render(lb=lb, created=time.strftime("%Y-%m-%d %H:%M"),
                                                         script=script, csp=policy(script))
