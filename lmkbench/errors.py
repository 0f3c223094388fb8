"""One exception type for every user-facing failure.

The CLI turns an :class:`LmkbenchError` into a one-line message and exit code 2.
Always say *where* (file, line, field) when the error comes from input data.
"""
from __future__ import annotations


class LmkbenchError(Exception):
    """A problem the user can fix (bad input, unknown spec, missing file)."""


class InputError(LmkbenchError):
    """Bad input data. Formats as ``FILE:LINE: field 'F': message``."""

    def __init__(self, message: str, *, file=None, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field, self.reason = file, line, field, message
        where = str(file) if file is not None else "<input>"
        if line is not None:
            where += f":{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")
