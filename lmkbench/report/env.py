"""The report's jinja2 environment: its templates folder and its filters, shared by the report
(:mod:`.build`) and the finding page (:mod:`.finding`)."""
from __future__ import annotations

import math
from pathlib import Path

import jinja2

from ..format import fmt_diff, fmt_p

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment() -> jinja2.Environment:
    """The jinja2 environment of the report. ``autoescape=True`` for every template, whatever its file
    name (``select_autoescape`` would not escape a ``.j2`` file)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(score=_fmt_score, diff=fmt_diff, pval=fmt_p, pct=_fmt_pct, secs=_fmt_secs)
    return env


def _fmt_score(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _fmt_pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _fmt_secs(v) -> str:
    if v is None:
        return "–"
    if v < 60:
        return f"{v:.1f} s"
    return f"{v / 60:.1f} min" if v < 3600 else f"{v / 3600:.2f} h"
