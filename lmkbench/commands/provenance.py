"""``lmkbench provenance``: what code produced results, and the check a publish stage runs before committing them."""
from __future__ import annotations

NAME = "provenance"
HELP = "the checkout's commit (with a digest of uncommitted changes); refuse to publish from a dirty tree"
ORDER = 62
DESCRIPTION = """\
Print this checkout's commit: <sha>, or <sha>+dirty.<digest> when tracked files differ from HEAD (digest: the
first 12 hex of the sha256 of `git diff HEAD`; every result records the same string in meta.git_commit) and
the paths that differ.

--require-clean: exit 2, with one line naming them, when the code (tracked files under lmkbench/, tasks/,
pyproject.toml, setup.py) has uncommitted changes.

RESULTS_DIR...: read the results about to be published and print the commits they record, one line each
(count, commit, clean or dirty, model labels); exit 2 when any records a dirty tree or no commit
(--single-commit: also when they record more than one).

--allow-dirty lets both pass; the digest is what is then recorded. --record FILE writes the checkout's state
and the commits the results record as JSON (schema lmkbench.provenance/1, which result readers skip).

Example (a publish stage, before copying anything):
  lmkbench provenance --require-clean "$EXP/results_matched" --record "$EXP/provenance.json"
"""


def add_arguments(parser) -> None:
    parser.add_argument("results_dirs", nargs="*", metavar="RESULTS_DIR",
                        help="folders of results about to be published (searched recursively)")
    parser.add_argument("--require-clean", action="store_true",
                        help="exit 2 when lmkbench/, tasks/, pyproject.toml or setup.py have uncommitted changes")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="let a dirty tree and results that record one pass (the diff's digest is recorded)")
    parser.add_argument("--single-commit", action="store_true",
                        help="also refuse results that record more than one commit")
    parser.add_argument("--record", default=None, metavar="FILE",
                        help="write the checkout's state and the recorded commits as JSON")
    parser.add_argument("--repo", default=None, metavar="DIR",
                        help="the git checkout to look at (default: the one lmkbench is imported from)")


def run(args) -> int:
    from ..io import atomic_write_json, check_output_path
    from ..provenance import (check_recorded, checkout, provenance_record, recorded_commits, require_clean,
                              state_of)

    if args.record:
        check_output_path(args.record, "--record", results_dirs=args.results_dirs)
    if args.require_clean:
        state = require_clean(args.repo, allow_dirty=args.allow_dirty)
    else:
        top = checkout(args.repo)
        state = state_of(top) if top is not None else None
    if state is None:
        print("tree: not a git checkout (no commit is recorded)")
    else:
        dirty = state.get("git_dirty")
        print(f"tree: {state['git_commit']}" + (f"  dirty: {', '.join(dirty)}" if dirty else ""))
    groups = recorded_commits(args.results_dirs) if args.results_dirs else []
    if groups:
        total = sum(len(g.files) for g in groups)
        print(f"results: {total} under {', '.join(args.results_dirs)} record {len(groups)} commit(s)")
        for group in groups:
            print(group.line())
        check_recorded(groups, allow_dirty=args.allow_dirty, single_commit=args.single_commit)
    if args.record:
        atomic_write_json(args.record, provenance_record(state, groups, allow_dirty=args.allow_dirty))
        print(f"wrote {args.record}")
    return 0
