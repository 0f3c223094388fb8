"""lmkbench poolings: the pooling catalogue, generated from the registry."""
from __future__ import annotations

NAME = "poolings"
ORDER = 40
HELP = "list the registered poolings, their parameters and defaults"


def add_arguments(p):
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")


def catalogue_rows():
    from ..poolings import POOLINGS, make_pooling

    rows = []
    for entry in POOLINGS:
        params = ", ".join(f"{k}={v.default}" + (f" ({'|'.join(v.choices)})" if v.choices else "")
                           for k, v in entry.params.items())
        rows.append((entry.name, str(make_pooling(entry.name).spec), make_pooling(entry.name).family().key,
                     params or "-", entry.help))
    return rows


def run(args) -> int:
    rows = catalogue_rows()
    if args.markdown:
        print("| pooling | canonical default | input family | parameters | what it does |")
        print("|---|---|---|---|---|")
        for r in rows:
            cells = (f"`{c}`" if i < 3 else c.replace("|", "\\|") for i, c in enumerate(r))   # a | inside a cell
            print("| " + " | ".join(cells) + " |")
        return 0
    w = max(len(r[1]) for r in rows)
    for name, canon, fam, params, help_ in rows:
        print(f"{canon:<{w}}  family={fam:<10} params: {params}\n{'':<{w}}  {help_}")
    return 0
