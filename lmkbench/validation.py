"""A pydantic :class:`~pydantic.ValidationError` as lmkbench's one :class:`InputError`: file, line, field.

Config and record models validate with pydantic; the user sees ``FILE[:LINE]: field 'a.b[0].c': message``,
never pydantic's multi-line report. ``line_of`` maps a field's location to its line where the reader kept
lines (YAML); JSON documents name the field only.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from pydantic import ValidationError

from .errors import InputError


def field_path(loc: Iterable[Any]) -> str:
    """``("cells", 0, "items", "q0")`` → ``cells[0].items.q0``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def input_error(exc: ValidationError, file: Any, *, prefix: Iterable[Any] = (),
                line_of: Optional[Callable[[tuple], Optional[int]]] = None) -> InputError:
    """The first problem of ``exc`` as an :class:`InputError` (with how many more there are)."""
    errors = exc.errors()
    err = errors[0]
    loc = (*prefix, *err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem(s))"
    return InputError(msg, file=file, line=line_of(loc) if line_of else None, field=field_path(loc) or None)
