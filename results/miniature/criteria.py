"""The pass criteria of README.md, read from the committed files; writes criteria.json.

    .venv/bin/python results/miniature/criteria.py [FOLDER]      (default: this folder)

1. base: final held-out MLM accuracy ≥ 2 × the unigram reference (base/pretrain.json);
2. the mean arm at its training length (evaluation ``128-fp32``), every seed: SciFact NDCG@10 ≥ 10 × the chance
   level of a random ranking (the expectation from the qrels: every position holds a relevant document with
   probability R/N), passkey_256 and needle_256 accuracy@1 ≥ 0.10 (one-sided binomial p < 0.01 against 1/50 at
   50 queries holds from 6 correct);
3. per evaluation and synthetic task: an arm is above chance where the seed-mean count of correct queries is above
   1/50 by a one-sided binomial test at p < 0.05; a (evaluation, task) with no arm above chance is "all at chance".
"""
from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from pathlib import Path

from scipy.stats import binomtest

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"
TRAINING_EVAL = "128-fp32"
CANDIDATES = 50           # passkey/needle pools (tasks/synthetic.yaml)
QUERIES = 50


def chance_ndcg10(qrels_path: Path, n_docs: int) -> float:
    """E[NDCG@10] of a uniformly random ranking, mean over queries (binary relevance, linear gain)."""
    rel: dict[str, int] = {}
    with open(qrels_path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if int(row["score"]) > 0:
                rel[row["query-id"]] = rel.get(row["query-id"], 0) + 1
    out = []
    for r in rel.values():
        dcg = sum((r / n_docs) / math.log2(i + 1) for i in range(1, 11))
        idcg = sum(1 / math.log2(i + 1) for i in range(1, min(r, 10) + 1))
        out.append(dcg / idcg)
    return statistics.fmean(out)


def above_chance(acc: float, alpha: float) -> tuple[bool, float]:
    k = round(acc * QUERIES)
    p = binomtest(k, QUERIES, 1 / CANDIDATES, alternative="greater").pvalue
    return bool(p < alpha), float(p)


def main(folder: Path) -> dict:
    pre = json.loads((folder / "base" / "pretrain.json").read_text(encoding="utf-8"))
    matched = json.loads((folder / "matched.json").read_text(encoding="utf-8"))
    h = pre["heldout"]
    c1 = {"accuracy": h["accuracy"], "unigram": h["unigram_accuracy"], "ratio": h["accuracy"] / h["unigram_accuracy"],
          "passed": h["accuracy"] >= 2 * h["unigram_accuracy"]}
    qrels = SHARED / "scifact" / "qrels" / "test.tsv"
    chance = chance_ndcg10(qrels, 5183) if qrels.is_file() else None
    mean_arms = [a for a in matched["arms"] if a["pooling"] == "mean"]
    seeds = []
    for a in sorted(mean_arms, key=lambda a: a["seed"]):
        ev = a.get("evaluations", {}).get(TRAINING_EVAL, {})
        sf = ev.get("scifact")
        checks = {"scifact": {"value": sf, "threshold": None if chance is None else 10 * chance,
                              "passed": None if sf is None or chance is None else sf >= 10 * chance}}
        for t in ("passkey_256", "needle_256"):
            v = ev.get(t)
            checks[t] = {"value": v, "threshold": 0.10, "passed": None if v is None else v >= 0.10,
                         "p": None if v is None else above_chance(v, 0.01)[1]}
        seeds.append({"seed": a["seed"], **checks})
    c2_passed = bool(seeds) and all(c.get("passed") for s in seeds for k, c in s.items() if k != "seed")
    c3 = []
    for e in dict.fromkeys(e for a in matched["arms"] for e in a.get("evaluations", {})):
        for t in dict.fromkeys(t for a in matched["arms"] for t in a.get("evaluations", {}).get(e, {})):
            if not t.startswith(("passkey_", "needle_")):
                continue
            arms = {}
            for p in dict.fromkeys(a["pooling"] for a in matched["arms"]):
                vals = [a["evaluations"][e][t] for a in matched["arms"] if a["pooling"] == p and t in a["evaluations"].get(e, {})]
                if vals:
                    ok, pv = above_chance(statistics.fmean(vals), 0.05)
                    arms[p] = {"seed_mean": statistics.fmean(vals), "above_chance": bool(ok), "p": float(pv)}
            c3.append({"evaluation": e, "task": t, "arms": arms,
                       "all_at_chance": not any(x["above_chance"] for x in arms.values())})
    out = {"criterion_1_base": c1,
           "criterion_2_mean_arm": {"evaluation": TRAINING_EVAL, "scifact_chance_ndcg10": chance, "seeds": seeds,
                                    "passed": c2_passed},
           "criterion_3_lengths": c3,
           "how": __doc__.strip().splitlines()[0]}
    (folder / "criteria.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    res = main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"criterion 1 (base): {'passed' if res['criterion_1_base']['passed'] else 'FAILED'} "
          f"({res['criterion_1_base']['ratio']:.2f} × unigram)")
    print(f"criterion 2 (mean arm): {'passed' if res['criterion_2_mean_arm']['passed'] else 'FAILED'}")
    chance = [f"{r['evaluation']}/{r['task']}" for r in res["criterion_3_lengths"] if r["all_at_chance"]]
    print(f"criterion 3: all at chance in {', '.join(chance) or 'none'}")
