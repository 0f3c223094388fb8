"""Generated blocks of the manual: every table and reference that the code already knows.

A hand-written page holds a marker ``<!-- gen:NAME -->`` on a line of its own; at build time
(``docs/hooks.py``) the marker is replaced by ``BLOCKS[NAME]()``, rendered from the registries, parsers,
record models and committed benchmark files of the checkout being built. Nothing here is copied by hand,
so the manual cannot drift from the code; ``tests/test_docs.py`` checks the built site against the same
registries.
"""
from __future__ import annotations

import re
from typing import Callable

from . import benchmarks, catalogue, cli, extrapolation, miniature, schemas, scripts  # noqa: E402
from .md import plain_roles  # noqa: E402

#: marker name → function returning Markdown
BLOCKS: dict[str, Callable[[], str]] = {
    "cli": cli.reference,
    "cli-summary": cli.summary,
    "poolings": catalogue.poolings,
    "pooling-details": catalogue.pooling_details,
    "positions": catalogue.positions,
    "lexical": catalogue.lexical,
    "tasks": catalogue.tasks,
    "suites": catalogue.suites,
    "loaders": catalogue.loaders,
    "metrics": catalogue.metrics,
    "exporters": catalogue.exporters,
    "stat-tests": catalogue.stat_tests,
    "corrections": catalogue.corrections,
    "evaluators": catalogue.evaluators,
    "encoder-settings": schemas.encoder_settings,
    "stats-settings": schemas.stats_settings,
    "result-record": schemas.result_record,
    "result-meta": schemas.result_meta,
    "baseline": schemas.baseline,
    "benchmarks": benchmarks.render,
    "gpu-check": scripts.gpu_check,
    "extrapolation": extrapolation.render,
    "miniature": miniature.render,
}

MARKER = re.compile(r"^<!-- gen:([a-z0-9-]+) -->$", re.M)


class UnknownBlock(KeyError):
    """A page names a generated block that does not exist."""


def expand(markdown: str, page: str = "<page>") -> str:
    """Replace every ``<!-- gen:NAME -->`` line of ``markdown`` with its generated block."""
    def one(m: re.Match) -> str:
        name = m.group(1)
        if name not in BLOCKS:
            raise UnknownBlock(f"{page}: unknown generated block {name!r} (known: {', '.join(sorted(BLOCKS))})")
        return plain_roles(BLOCKS[name]()).rstrip() + "\n"
    return MARKER.sub(one, markdown)
