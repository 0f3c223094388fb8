"""lmkbench: which pooling should a text encoder use, and how does the answer change as documents get longer?

The public API (see docs/manual/interop.md, "Python API"); names load on first use, so ``import lmkbench``
stays light:

* :func:`lmkbench.api.evaluate` — run tasks × poolings for a model and return the :class:`Comparison`
  ``compare`` prints (``lmkbench.evaluate`` is the evaluators package);
* :func:`load_results` — the result files of a folder, as :class:`ResultRecord`; :func:`compare` — a
  :class:`Comparison` from them;
* :func:`export_results` — results in mteb's or ranx's format;
* :class:`PooledEncoder` — embed texts with several poolings at once (``encode(texts, poolings)``);
* :class:`Runner` / :class:`RunSettings` — the runner behind ``lmkbench run`` (its encoder settings are an
  :class:`EncoderSettings`); :func:`resolve_tasks`.
"""
from __future__ import annotations

import importlib

from . import api  # noqa: F401  (light: imports nothing heavy at module level)

__version__ = "0.1.0"

_PUBLIC = {
    "load_results": "lmkbench.results",
    "compare": "lmkbench.stats.compare", "Comparison": "lmkbench.stats.comparison",
    "ResultRecord": "lmkbench.results", "EncoderSettings": "lmkbench.settings",
    "export_results": "lmkbench.export",
    "PooledEncoder": "lmkbench.encoder", "Encoded": "lmkbench.encoder",
    "Runner": "lmkbench.runner", "RunSettings": "lmkbench.runner",
    "resolve_tasks": "lmkbench.tasks", "load_model": "lmkbench.models",
    "LmkbenchError": "lmkbench.errors", "InputError": "lmkbench.errors",
}
__all__ = sorted([*_PUBLIC, "api"]) + ["__version__"]

_ATTR = {"export_results": "export"}


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), _ATTR.get(name, name))
        globals()[name] = value
        return value
    hint = " (run tasks × poolings and compare: lmkbench.api.evaluate)" if name == "evaluate" else ""
    raise AttributeError(f"module 'lmkbench' has no attribute {name!r}{hint}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
