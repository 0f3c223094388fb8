"""A pydantic ``ValidationError`` as one :class:`~lmkbench.errors.InputError`: file, line, field path, message.

The line comes from the YAML line-number loader (:mod:`lmkbench.configs.yamlfile`): the error's location is
walked through the document as read, as far as it goes (a union member's tag or a key a validator made up is
not in the document); the line is that of the last key reached. Several errors at one place (one per member of
a union) become one message, ``expected a string or false, got 3``.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import InputError
from .yamlfile import line_of

#: what a type error expected, in words
_EXPECTED = {"string_type": "a string", "int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
             "dict_type": "a mapping", "model_type": "a mapping", "dataclass_type": "a mapping", "list_type": "a list",
             "none_required": "null", "path_type": "a path"}


class UnknownKey(ValueError):
    """A key a model does not know, raised by its parent mapping (``key`` extends the error's location)."""

    def __init__(self, key: Any, message: str):
        super().__init__(message)
        self.key = key


def input_error(exc: ValidationError, data: Any, *, file, prefix: str = "", line: int | None = None) -> InputError:
    """The first problem of ``exc`` (raised validating ``data``), placed in the file; ``prefix`` starts the field."""
    errors = exc.errors(include_url=False)
    places = [_locate(data, e) for e in errors]
    path, at = places[0]
    same = [e for e, (p, _) in zip(errors, places) if p == path]
    return InputError(_message(same), file=file, line=at or line or line_of(data), field=_field(prefix, path))


def _locate(data: Any, error: dict) -> tuple[tuple, int | None]:
    """How far the error's location goes into ``data``, and the line there."""
    loc = list(error["loc"])
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, UnknownKey):          # reported by its parent mapping
        loc.append(raised.key)
    node, path, line = data, [], line_of(data)
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            line, node = line_of(node, part) or line, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = line_of(node) or line
        elif isinstance(node, dict) and error["type"] == "missing" and i == len(loc) - 1:
            path.append(part)                 # the key that should be there
            break
        else:
            break
        path.append(part)
    return tuple(path), line


def _field(prefix: str, path: tuple) -> str | None:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _message(errors: list[dict]) -> str:
    first = errors[0]
    kind = first["type"]
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("value_error", "assertion_error"):
        return str(first["ctx"]["error"])
    wanted = [e["ctx"]["expected"] if e["type"] == "literal_error" else _EXPECTED.get(e["type"]) for e in errors]
    if any(wanted):                         # a type (of a union: each member's, a Python-only one left out)
        return f"expected {' or '.join(dict.fromkeys(w for w in wanted if w))}, got {_shown(first['input'])}"
    msg = f"{first['msg'][0].lower()}{first['msg'][1:]}"   # a bound: "Input should be greater than 0"
    return msg if isinstance(first["input"], (dict, list)) else f"{msg}, got {_shown(first['input'])}"


def _shown(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (str, int, float)):
        return repr(value)
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__
