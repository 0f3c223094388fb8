"""mkdocs hook: expand the ``<!-- gen:NAME -->`` markers of each page from the code (``docs/gen``), and show
the Sphinx roles of rendered docstrings as code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(key, "1")       # the catalogue's profiles must never reach for the hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from docs.gen import expand  # noqa: E402
from docs.gen.md import plain_roles  # noqa: E402


def on_page_markdown(markdown, page, config, files):
    return expand(markdown, page.file.src_uri)


def on_page_content(html, page, config, files):
    """The docstrings mkdocstrings renders (the Python API page) keep their Sphinx roles: show them as code."""
    return plain_roles(html)
