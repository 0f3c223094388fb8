"""Every task loader, registered: the one module that imports each module defining loaders.

:mod:`~lmkbench.tasks.loaders` (the base class and the local loaders) and :mod:`~lmkbench.tasks.remote`
(``beir-download``, ``mteb``) only register into :data:`LOADERS` and import nothing of each other; importing
this module makes the registry complete, so every user of loaders (the catalogue, ad-hoc task specs, the
``tasks`` command) imports them from here. Add a module of loaders to the imports below and to nothing else.
"""
from __future__ import annotations

from . import loaders, remote  # noqa: F401  (each registers its loaders)
from .loaders import LOADERS, Loader, loader_class, register_loader

__all__ = ["LOADERS", "Loader", "loader_class", "register_loader"]
