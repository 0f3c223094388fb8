"""YAML with line numbers: every mapping remembers the line of each of its keys, for errors that point at the file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError


class LineDict(dict):
    """A mapping that remembers its own line and the line of each key."""

    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines: dict[str, int] = {}


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """The document in ``path``, mappings as :class:`LineDict`; malformed YAML is an :class:`InputError`."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        msg = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"malformed YAML: {msg}", file=path, line=mark.line + 1 if mark else None) from None


def line_of(d, key=None) -> int | None:
    """The line of ``key`` in a mapping read by :func:`read_yaml` (the mapping's own line without a key or
    for a key it lacks); None for anything else."""
    if isinstance(d, LineDict):
        return d.lines.get(key, d.line) if key is not None else d.line
    return None
