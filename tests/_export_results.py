"""Small real results for the export tests: a tiny random BERT run by lmkbench's runner over generated data."""
from __future__ import annotations

import hashlib
import json
import random
import textwrap
from pathlib import Path

TOPICS = ["solar power", "football", "baking bread", "stock markets", "hiking", "violins", "python code",
          "rainforests", "volcanoes", "chess openings", "jazz piano", "sailing boats", "coffee roasting",
          "beekeeping", "glaciers", "origami", "tax law", "bird song", "tea ceremonies", "space probes"]


def beir_folder(folder: Path, *, graded: bool, n_queries: int = 20) -> Path:
    """20 queries over 40 documents; graded qrels (1 or 2, several per query) or exactly one relevant each."""
    rng = random.Random(0)
    (folder / "qrels").mkdir(parents=True)
    docs, qrels = [], []
    for i, t in enumerate(TOPICS[:n_queries]):
        for j in range(2):
            docs.append({"_id": f"d{i}_{j}", "title": t.title(), "text": f"notes {j} on {t}. " * rng.randint(2, 30)})
        qrels.append((f"q{i}", f"d{i}_0", 2 if graded else 1))
        if graded:
            qrels.append((f"q{i}", f"d{i}_1", 1))
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": f"all about {t}"}) + "\n"
                                                  for i, t in enumerate(TOPICS[:n_queries])))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                               + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in qrels))
    return folder


def labelled_file(path: Path) -> Path:
    rng = random.Random(1)
    rows = [{"_id": f"r{i}", "text": f"{TOPICS[i % 4]} item {i} " * rng.randint(1, 6), "label": TOPICS[i % 4],
             "split": "train" if i < 40 else "test"} for i in range(80)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def task_file(root: Path) -> Path:
    """User tasks: two declared as mteb tasks (SciFact; Banking77Classification), two splits of one mteb task
    (LEMBPasskeyRetrieval test_256 / test_512, one relevant document per query) and one lmkbench-only task."""
    graded = beir_folder(root / "graded", graded=True)
    single = beir_folder(root / "single", graded=False)
    rows = labelled_file(root / "rows.jsonl")
    pins = lambda f: "{" + ", ".join(f'"{k}": {sha(f / k)}' for k in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")) + "}"  # noqa: E731
    folder = root / "tasks"
    folder.mkdir()
    (folder / "export_tasks.yaml").write_text(textwrap.dedent(f"""
        defaults: {{source: generated, license: none}}
        tasks:
          - {{name: x_graded, loader: beir, kind: retrieval, group: short-retrieval, params: {{path: "{graded}"}},
              sha256: {pins(graded)}, mteb: {{task: SciFact, split: test}}}}
          - {{name: x_single_256, loader: beir, kind: retrieval, group: synthetic, main_metric: acc_at_1,
              params: {{path: "{single}"}}, mteb: {{task: LEMBPasskeyRetrieval, split: test_256}}}}
          - {{name: x_single_512, loader: beir, kind: retrieval, group: synthetic, main_metric: acc_at_1,
              params: {{path: "{single}"}}, mteb: {{task: LEMBPasskeyRetrieval, split: test_512}}}}
          - {{name: x_classes, loader: labelled, kind: classification, group: classification,
              params: {{path: "{rows}"}}, mteb: {{task: Banking77Classification, split: test}}}}
          - {{name: x_clusters, loader: labelled, kind: clustering, group: clustering, params: {{path: "{rows}"}}}}
    """))
    return folder


def run_tiny(model: str, out: Path, cache: Path, tasks: list[str], poolings=("cls", "mean")) -> Path:
    from lmkbench.runner import Runner, RunSettings

    Runner(RunSettings(model=model, poolings=list(poolings), out_dir=out, device="cpu", cache_dir=cache,
                       progress=False), log=lambda *a, **k: None).run(tasks)
    return out
