"""The one order of task names wherever tasks are listed: family, then length as a number."""
from __future__ import annotations

import re

_NUMBERED = re.compile(r"^(?P<family>.+?)[_-](?P<length>\d+)(?P<k>k?)$", re.IGNORECASE)


def task_order(task: str) -> tuple[str, int, str]:
    """The sort key of a task name wherever tasks are listed (console summary, report, compare, profile): the
    family name, then the length as a number — ``needle_256`` before ``needle_1024`` before ``needle_pg_256``,
    ``mldr_8k`` as 8,192 — and a task without a length before its family's lengths."""
    m = _NUMBERED.match(str(task))
    if not m:
        return (str(task), -1, "")
    return (m["family"], int(m["length"]) * (1024 if m["k"] else 1), str(task))
