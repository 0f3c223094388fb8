"""lmkbench tasks: the task catalogue (task files + loaders), with sizes, lengths and availability."""
from __future__ import annotations

import json

NAME = "tasks"
ORDER = 30
HELP = "list the task catalogue: kind, group, size, length profile, source, license, availability"
DESCRIPTION = """List the tasks of the catalogue (YAML task files) or of one suite.

Sizes and word-length profiles (median/p90 words of the documents) are measured from the local data when
it is present (declared sizes otherwise); synthetic tasks show their exact token length. Availability:
yes | no (data absent: running it fails with a clear error) | network (fetched by mteb / beir-download).

Task files are read from --tasks-dir, $LMKBENCH_TASKS and the built-in catalogue (tasks/ in a clone, shipped
in the wheel as lmkbench/catalogue/); paths in them may use ${LMKBENCH_SHARED_DATA} (default: ../shared/data next to a clone).

examples:
  lmkbench tasks
  lmkbench tasks --suite default
  lmkbench tasks --suite long --json
  lmkbench tasks --verify          # also check every pinned sha256
  lmkbench tasks --loaders         # the registered loaders and their parameters
"""


def add_arguments(p):
    p.add_argument("--suite", default=None, help="only the tasks of this suite")
    p.add_argument("--json", action="store_true", help="print JSON (one object with tasks and suites)")
    p.add_argument("--tasks-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of task files (searched first; repeatable; also $LMKBENCH_TASKS)")
    p.add_argument("--verify", action="store_true", help="hash every pinned source file and report ok/changed")
    p.add_argument("--no-measure", action="store_true", help="do not read local data (declared sizes only)")
    p.add_argument("--loaders", action="store_true", help="list the registered loaders instead")


def rows(args) -> tuple[list[dict], dict]:
    from ..tasks import GROUPS, load_catalogue
    from ..tasks.checksums import checksum_status
    from ..tasks.profile import profile

    cat = load_catalogue(args.tasks_dir or None)
    if args.suite:
        tasks = cat.suite_tasks(args.suite)
    else:  # grouped as the leaderboard groups them, catalogue order within a group
        order = {g: i for i, g in enumerate(GROUPS)}
        tasks = sorted(cat.tasks.values(), key=lambda t: order.get(t.group, len(order)))
    out = []
    for t in tasks:
        if args.no_measure:
            status, why = t.availability()
            prof = {"available": status, "why": why, "measured": False, **t.size}
        else:
            prof = profile(t)
        rec = {**t.as_dict(), "profile": prof, "available": prof["available"]}
        if args.verify:
            rec["checksums"] = checksum_status(t)
        out.append(rec)
    suites = {s.name: {"description": s.description, "tasks": [t.name for t in cat.suite_tasks(s.name)],
                       "file": s.file} for s in cat.suites.values()}
    return out, suites


def _loaders() -> int:
    from ..tasks.registry import LOADERS

    for entry in LOADERS:
        cls = entry.obj
        print(f"{entry.name:<14} {cls.spec_help or '(task files only)'}")
        print(f"{'':<14} {entry.help}; kinds: {', '.join(cls.kinds)}" + ("; needs the model's tokenizer"
                                                                         if cls.needs_tokenizer else ""))
        for key, prm in entry.params.items():
            print(f"{'':<16}{key} = {prm.default}  {prm.help}")
    return 0


def run(args) -> int:
    from ..tasks.profile import size_text

    if args.loaders:
        return _loaders()
    recs, suites = rows(args)
    if args.json:
        print(json.dumps({"tasks": recs, "suites": suites}, indent=1, ensure_ascii=False, default=str))
        return 0
    head = ["task", "kind", "group", "size", "length (med/p90)", "avail", "license", "source"]
    if args.verify:
        head.insert(6, "sha256")
    table = []
    for r in recs:
        p = r["profile"]
        row = [r["name"], r["kind"], r["group"], size_text(p, r["kind"]), p.get("length", "-"), r["available"],
               _short(r["license"], 28), _short(r["source"], 60)]
        if args.verify:
            row.insert(6, r["checksums"])
        table.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
    for line in [head, *table]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())
    absent = [r for r in recs if r["available"] in ("no", "error")]
    if absent:
        print()
        for r in absent:
            print(f"{r['name']}: {r['available']}: {r['profile'].get('why', '')}")
    if not args.suite:
        print()
        for name, s in suites.items():
            print(f"suite {name} ({len(s['tasks'])} tasks): {s['description']}")
    return 0


def _short(text: str, n: int) -> str:
    text = text or "-"
    return text if len(text) <= n else text[: n - 1] + "…"
