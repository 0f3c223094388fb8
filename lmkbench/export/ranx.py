"""``--format ranx``: ranx ``Qrels`` and ``Run`` files (TREC format) for every retrieval cell.

    OUT/<task>/qrels.trec                      # one per task: the judged documents of the evaluated queries
    OUT/<task>/<model>/<pooling>.trec          # one ranx Run per cell (top-k as `lmkbench run` kept it)

Each name is one safe path component (:func:`lmkbench.io.safe_child`): a crafted result cannot write outside OUT.
A task without evaluated queries is skipped with the reason.

``ranx.Qrels.from_file`` / ``ranx.Run.from_file`` read them back (so do PyTerrier and trec_eval); a run's
name is ``<model>|<pooling>``. The qrels come from the task's data with their grades when the task is in
the catalogue and its checksums match the result's (tasks sized in a tokenizer excepted); otherwise from
the result's per-query ``relevant`` lists, as grade 1 (exact for binary judgements). Scores are the run
file's (6 decimals): ties that rounding creates may order two documents differently from lmkbench.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..io import read_trec_run, safe_child
from ..results import ResultRecord
from . import ExportReport, Exporter, atomic_via, register_exporter


def run_name(model: str, pooling: str) -> str:
    return re.sub(r"\s+", "_", f"{model}|{pooling}")


@register_exporter
class RanxExporter(Exporter):
    """ranx Qrels / Run files (TREC format) per retrieval task and cell, for ranx.compare, PyTerrier, trec_eval"""

    name = "ranx"
    needs = "ranx"

    def write(self, records: list[ResultRecord], out: Path, report: ExportReport) -> None:
        from ranx import Qrels, Run   # present: export() checks ``needs`` first
        by_task: dict[str, list[ResultRecord]] = {}
        for rec in records:
            if rec.task_kind != "retrieval":
                report.skipped.append(f"{rec.label}: {rec.task_kind} has no ranking")
                continue
            by_task.setdefault(rec.task, []).append(rec)
        for task, recs in sorted(by_task.items()):
            qids = sorted({q for r in recs for q in r.items})
            qrels, how = self.qrels(task, recs, qids)
            qrels = {q: rel for q, rel in qrels.items() if rel}
            if not qrels:   # ranx cannot write an empty Qrels, and there is nothing to evaluate
                report.skipped.append(f"{task}: no evaluated queries with a relevant document (qrels {how})")
                continue
            report.notes.append(f"{task}: qrels {how}, {len(qrels)} queries")
            report.files.append(atomic_via(safe_child(out, task, "qrels.trec"),
                                           lambda p, q=qrels: Qrels.from_dict(q).save(p, kind="trec")))
            for rec in recs:
                trec = rec.trec_path
                if trec is None or not trec.is_file():
                    report.skipped.append(f"{rec.label}: no run file {trec}")
                    continue
                ranked = read_trec_run(trec)
                run = {q: {d: s for d, s in ranked.get(q, [])} for q in qids if q in qrels}
                if not any(run.values()):
                    report.skipped.append(f"{rec.label}: the run file {trec} ranks no evaluated query")
                    continue
                name = run_name(rec.model, rec.pooling)
                path = safe_child(out, task, rec.model, f"{rec.pooling}.trec")
                report.files.append(atomic_via(path, lambda p, r=run, n=name: Run.from_dict(r, name=n).save(p, kind="trec")))

    @staticmethod
    def qrels(task: str, recs: list[ResultRecord], qids: list[str]) -> tuple[dict[str, dict[str, int]], str]:
        data_qrels = _task_qrels(task, recs)
        if data_qrels is not None:
            return {q: {d: int(g) for d, g in data_qrels[q].items() if g > 0} for q in qids if q in data_qrels}, \
                "from the task's data (graded)"
        qrels: dict[str, dict[str, int]] = {}
        for rec in recs:
            for q, item in rec.items.items():
                rel = item.get("relevant")
                if rel:
                    qrels.setdefault(q, {}).update({str(d): 1 for d in rel})
        return qrels, "from the results' relevant lists (grade 1)"


def _task_qrels(task: str, recs: list[ResultRecord]):
    """The task's qrels when the catalogue's task is the data the results were computed on, else None."""
    from ..tasks import load_catalogue

    t = load_catalogue().tasks.get(task)
    if t is None or t.needs_tokenizer or t.availability()[0] != "yes":
        return None
    got = [r.meta.dataset_checksums for r in recs]
    if not t.sha256 or any(g.get(k) != v for g in got for k, v in t.sha256.items()):
        return None
    return t.load().qrels
