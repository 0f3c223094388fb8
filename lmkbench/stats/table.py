"""Console rendering of a :class:`~lmkbench.stats.compare.Comparison` (plain text, fixed-width columns).

Two layouts, one section per (task, model):

``long``
    one line per pooling × bucket: n, share truncated, mean, difference to the baseline with its CI,
    raw and adjusted p and a mark (▲ significant win, ▼ significant loss after correction).
``matrix``
    poolings down, buckets across, each cell the mean score with its mark; the first line gives n.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Comparison, Group, Row

MARKS = {"win": "▲", "loss": "▼"}
DASH = "-"


def fmt_score(v: float | None) -> str:
    return DASH if v is None else f"{v:.4f}"


def fmt_diff(v: float | None) -> str:
    return DASH if v is None else f"{v:+.4f}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def fmt_share(v: float | None) -> str:
    return DASH if v is None else f"{100 * v:.0f}%"


_TECHNICAL = ("zero_method=", "exact over", "random sign patterns", "resamples, shift method", "exact binomial",
              "chi-square")


def _visible_note(note: str) -> str:
    """The parts of a row's note worth a console column (how a p-value was computed stays in the JSON)."""
    parts = [p.strip() for p in note.split(";") if p.strip()]
    return "; ".join(p for p in parts if not any(t in p for t in _TECHNICAL))


def _grid(header: list[str], body: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in body]


def _heading(cmp: "Comparison", g: "Group") -> str:
    s = cmp.settings
    kind = ", ".join(x for x in (g.task_kind, g.split) if x)
    test = g.test + (f" (zero_method={s['zero_method']})" if g.test == "wilcoxon" else "")
    return (f"== {g.task}" + (f" ({kind})" if kind else "") + f" | model {g.model} | {g.metric} | baseline "
            f"{g.baseline} | {test}, {s['correction']} over {s['family_size']} tests, alpha {s['alpha']} ==")


def _long(cmp: "Comparison", g: "Group", rows: list["Row"]) -> list[str]:
    level = f"{100 * cmp.settings['confidence']:g}% CI"
    header = ["pooling", "bucket", "n", "trunc", "mean", "diff", level, "p", "p_adj", "", "note"]
    body = []
    for r in rows:
        if r.is_baseline:
            diff, ci, note = "(baseline)", "", r.note
        else:
            diff = fmt_diff(r.mean_diff)
            ci = DASH if r.ci_low is None else f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]"
            note = _visible_note(r.note)
        body.append([r.pooling, r.bucket, str(r.n), fmt_share(r.share_truncated), fmt_score(r.mean), diff, ci,
                     fmt_p(r.p), fmt_p(r.p_adj), MARKS.get(r.mark or "", ""), note])
    return _grid(header, body, right={2, 3, 4, 5, 7, 8})


def _matrix(cmp: "Comparison", g: "Group", rows: list["Row"]) -> list[str]:
    labels = [b["label"] for b in g.buckets]
    cells = {(r.pooling, r.bucket): r for r in rows}
    header = ["pooling"] + labels
    first = g.poolings[0]
    body = [["n"] + [str(cells[(first, b)].n) if (first, b) in cells else DASH for b in labels]]
    for p in g.poolings:
        line = [p + (" (baseline)" if p == g.baseline and g.baseline_found else "")]
        for b in labels:
            r = cells.get((p, b))
            line.append(DASH if r is None else fmt_score(r.mean) + MARKS.get(r.mark or "", " "))
        body.append(line)
    return _grid(header, body, right=set(range(1, len(header))))


def render_table(cmp: "Comparison", layout: str = "long") -> str:
    if layout not in ("long", "matrix"):
        raise ValueError(f"layout must be 'long' or 'matrix', got {layout!r}")
    out: list[str] = []
    for g in cmp.groups:
        rows = cmp.select(task=g.task, model=g.model)
        out.append(_heading(cmp, g))
        out.extend(_long(cmp, g, rows) if layout == "long" else _matrix(cmp, g, rows))
        if g.empty_buckets:
            out.append(f"(no items in: {', '.join(g.empty_buckets)})")
        out.extend(f"note: {n}" for n in g.notes)
        out.append("")
    out.extend(f"skipped {s['task']} | model {s['model']}: {s['reason']}" for s in cmp.skipped)
    out.append(f"{MARKS['win']} significant win, {MARKS['loss']} significant loss against the baseline "
               f"(adjusted p < {cmp.settings['alpha']}); '-' = undefined or not tested (n < {cmp.settings['min_n']}).")
    return "\n".join(out)
