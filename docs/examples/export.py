"""A new export format: one CSV row per result cell, registered beside ``mteb`` and ``ranx``."""
import csv
import io
import tempfile
from pathlib import Path

import lmkbench
from lmkbench.export import Exporter, register_exporter
from lmkbench.io import atomic_write_text
from lmkbench.results import ResultRecord


@register_exporter
class CsvExporter(Exporter):
    """one CSV of task, model, pooling and main metric per cell"""

    name = "csv"

    def write(self, records, out: Path, report) -> None:
        rows = [["task", "model", "pooling", "metric", "value"]]
        rows += [[r.task, r.model, r.pooling, r.main_metric, r.value] for r in records]
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        path = out / "cells.csv"
        atomic_write_text(path, text.getvalue())       # all of it or nothing, as every lmkbench writer
        report.files.append(path)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        for pooling, score in (("mean", 0.5), ("lmk:g=32", 0.75)):
            ResultRecord(task="toy", model="m", pooling=pooling, main_metric="ndcg_at_10",
                         metrics={"ndcg_at_10": score}, task_kind="retrieval",
                         items={"q1": {"ndcg_at_10": score}}, item_table="per_query").write(results)
        report = lmkbench.export_results(results, "csv", Path(tmp) / "csv")
        print(report.summary())
        print((Path(tmp) / "csv" / "cells.csv").read_text())


if __name__ == "__main__":
    main()
