"""Extensions written outside lmkbench, loaded before a command runs: ``--plugin MODULE``, entry points, and
``$LMKBENCH_PLUGINS``.

An extension is a module that registers classes the way lmkbench's own modules do (``@POOLINGS.register``,
``@POSITIONS.register``, ``@LOADERS.register``, ``@METRICS.register``, a statistical test, an exporter...).
lmkbench imports it before it builds its command line, so a registered pooling is a valid ``--pooling``, a
loader a valid ``--task`` scheme, everywhere (run, compare, report, check, the leaderboard). Three ways, all
loaded in this order, each once:

* an installed package's entry point in the group ``lmkbench.plugins`` (``[project.entry-points."lmkbench.plugins"]
  mine = "my_package.lmkbench_ext"``);
* ``$LMKBENCH_PLUGINS``: modules or ``.py`` files, separated by commas (what torchrun ranks and SLURM tasks
  inherit);
* ``--plugin MODULE`` (repeatable, anywhere on the command line): a module name or a path to a ``.py`` file.

What an extension computes is keyed by its code: the source of every object registered from outside lmkbench
is in the code digest of every stored vector and every result (:func:`lmkbench.specs.extension_digests`), so
editing an extension recomputes what it produced.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .errors import LmkbenchError

GROUP = "lmkbench.plugins"
ENV = "LMKBENCH_PLUGINS"
FLAG = "--plugin"
_LOADED: dict[str, object] = {}


def load_plugin(name: str) -> object:
    """Import one extension: a module name (``my_ext``) or a path to a ``.py`` file; one clear error otherwise."""
    name = str(name).strip()
    if name in _LOADED:
        return _LOADED[name]
    try:
        if name.endswith(".py") or os.sep in name:
            path = Path(name).expanduser()
            if not path.is_file():
                raise LmkbenchError(f"plugin {name}: no such file")
            mod_name = f"lmkbench_plugin_{path.stem}"
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(name)
    except LmkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure while importing someone else's code is one error
        raise LmkbenchError(f"plugin {name!r} could not be loaded: {type(exc).__name__}: {exc}") from None
    _LOADED[name] = module
    return module


def entry_point_plugins() -> list[str]:
    """Load every installed ``lmkbench.plugins`` entry point; returns their names."""
    from importlib.metadata import entry_points

    names = []
    for ep in entry_points(group=GROUP):
        if ep.value in _LOADED:
            continue
        try:
            _LOADED[ep.value] = ep.load()
        except Exception as exc:  # noqa: BLE001
            raise LmkbenchError(f"plugin entry point {ep.name!r} ({ep.value}) could not be loaded: "
                                f"{type(exc).__name__}: {exc}") from None
        names.append(ep.name)
    return names


def split_plugin_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(argv without the --plugin options, the plugins they name)``; ``--plugin X`` and ``--plugin=X``."""
    rest, plugins = [], []
    it = iter(argv)
    for arg in it:
        if arg == FLAG:
            value = next(it, None)
            if value is None:
                raise LmkbenchError(f"{FLAG} needs a module name or a .py file")
            plugins.append(value)
        elif arg.startswith(FLAG + "="):
            plugins.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, plugins


def load_plugins(argv: list[str]) -> list[str]:
    """Load the entry points, ``$LMKBENCH_PLUGINS`` and the ``--plugin`` options of ``argv``; returns ``argv``
    without those options. The named plugins are exported in ``$LMKBENCH_PLUGINS`` for child processes."""
    rest, named = split_plugin_args(argv)
    entry_point_plugins()
    from_env = [p for p in os.environ.get(ENV, "").split(",") if p.strip()]
    for name in [*from_env, *named]:
        load_plugin(name)
    if named:
        os.environ[ENV] = ",".join(dict.fromkeys([*from_env, *(str(Path(n).resolve()) if n.endswith(".py") else n
                                                              for n in named)]))
    return rest
