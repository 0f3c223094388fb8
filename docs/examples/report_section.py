"""A view of your own over a comparison: the one object every report section, table and gate reads.

The HTML report's sections are built in ``lmkbench.report`` (not a plug-in point); a view of your own reads the
same ``Comparison`` that ``lmkbench compare``, the report, the leaderboard and the gate read, and writes its own
self-contained file. Here: a Markdown "wins per length bucket" section.
"""
import tempfile
from pathlib import Path

from lmkbench.io import atomic_write_text
from lmkbench.results import ResultRecord
from lmkbench.stats import compare


def wins_by_bucket(comparison) -> str:
    """One Markdown table: per task, pooling and length bucket, Δ against the baseline, its p and W/T/L."""
    lines = [f"Baseline `{comparison.settings['baseline']}`, {comparison.settings['test']}, "
             f"{comparison.settings['correction']}.", "",
             "| task | pooling | bucket | n | Δ | adjusted p | W/T/L |", "|---|---|---|---|---|---|---|"]
    for row in comparison.select():
        if row.is_baseline:
            continue
        p = "not tested" if row.p_adj is None else f"{row.p_adj:.3g}"
        diff = "-" if row.mean_diff is None else f"{row.mean_diff:+.3f}"
        lines.append(f"| {row.task} | {row.pooling} | {row.bucket} | {row.n_paired} | {diff} | {p} | "
                     f"{row.n_better}/{row.n_tied}/{row.n_worse} |")
    return "\n".join(lines) + "\n"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        for pooling, shift in (("mean", 0.0), ("lmk:g=32", 0.2)):        # toy per-query scores, two lengths
            items = {f"q{i}": {"ndcg_at_10": min(1.0, 0.3 + 0.01 * i + (shift if i % 3 else 0.0)),
                               "length": 200 if i < 20 else 3000} for i in range(40)}
            mean = sum(v["ndcg_at_10"] for v in items.values()) / len(items)
            ResultRecord(task="toy", model="m", pooling=pooling, main_metric="ndcg_at_10",
                         metrics={"ndcg_at_10": mean}, task_kind="retrieval", items=items,
                         item_table="per_query").write(results)
        section = wins_by_bucket(compare(results, baseline="mean"))
        atomic_write_text(Path(tmp) / "wins.md", section)
        print(section)


if __name__ == "__main__":
    main()
