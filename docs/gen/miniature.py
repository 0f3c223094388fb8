"""The paper's setting in miniature (``results/miniature/``): the MLM-pretrained base, the pass criteria, and the
matched protocol on it: setup, cost, scores, each Δ per seed and across seeds.

Read from ``base/pretrain.json`` (the pretraining record: size, budget, wall time, loss curve, held-out
accuracy), ``base/overlap.json`` (the pretraining text against the evaluation corpora), ``criteria.json``
(``results/miniature/criteria.py``), ``matched.json`` and ``comparison.json``; the protocol tables are the
ones the MiniLM experiment's page uses (:mod:`docs.gen.extrapolation`), so both read alike.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from . import extrapolation as ex
from .md import code, table

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "results" / "miniature"
CURVE_EVERY = 200   # steps per row of the loss-curve table


def _load(name: str):
    path = FOLDER / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def base(pre: dict) -> str:
    s, h, d = pre["settings"], pre["heldout"], pre["data"]
    rows = [["architecture", f"ModernBERT, {s['layers']} layers, hidden {s['hidden']}, {s['heads']} heads, "
                             f"intermediate {s['intermediate']}, local window {s['local_window']} with a global layer "
                             f"every {s['global_every']}, RoPE, {pre['parameters'] / 1e6:.1f} M parameters"],
            ["objective", f"masked-language modelling, {s['mlm_probability']:.0%} of tokens masked (80/10/10), "
                          "from random initialisation"],
            ["data", f"{code(s['data'])}: {d['train']['tokens']:,} training tokens ({d['train']['novels']} novels), "
                     f"{d['heldout']['tokens']:,} held out ({d['heldout']['novels']} whole novels)"],
            ["budget", f"{pre['steps_done']:,} steps × {s['batch_size']} × {s['seq_len']} tokens = "
                       f"{pre['tokens_seen'] / 1e6:.2f} M tokens ({pre['epochs']:.2f} epochs); lr {s['lr']}, "
                       f"warm-up {s['warmup']}, linear decay, seed {s['seed']}"],
            ["numerics", f"{s['dtype']} on {pre['device']} ({pre.get('dtype_why', '')})"],
            ["held-out MLM accuracy", f"{h['accuracy']:.4f} over {h['masked']:,} masked tokens; unigram reference "
                                      f"{h['unigram_accuracy']:.4f} ({h['accuracy'] / h['unigram_accuracy']:.2f}×)"]]
    wall = _pretrain_wall(pre)
    if wall:
        rows.append(["wall time", wall])
    return table(["", ""], rows)


def _pretrain_wall(pre: dict) -> str:
    """Wall time summed over the sessions of the curve (a resumed run restarts its clock), with the load."""
    rows = [r for r in pre.get("curve", []) if "loss" in r]
    if not rows:
        return ""
    total, last, sessions = 0.0, 0.0, 1
    for r in rows:
        if r["wall_s"] < last:     # a resumed session
            total += last
            sessions += 1
        last = r["wall_s"]
    total += last
    loads = [float(r["load"].split()[0]) for r in rows if r.get("load") and r["load"] != "?"]
    load = f", 1-minute load {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    resumed = f", in {sessions} sessions (resumed from a checkpoint {sessions - 1}×)" if sessions > 1 else ""
    return (f"{total / 60:.0f} min of training steps ({total / max(pre['steps_done'], 1):.2f} s a step{load}"
            f"{resumed})")


def curve(pre: dict) -> str:
    """The MLM loss (mean of the logged steps in each window) and the held-out accuracy, every CURVE_EVERY steps."""
    losses = [r for r in pre.get("curve", []) if "loss" in r]
    held = {r["step"]: r["heldout"] for r in pre.get("curve", []) if "heldout" in r}
    out = []
    for end in range(CURVE_EVERY, pre["steps_done"] + CURVE_EVERY, CURVE_EVERY):
        win = [r["loss"] for r in losses if end - CURVE_EVERY < r["step"] <= end]
        h = held.get(min(end, pre["steps_done"]))
        if not win and h is None:
            continue
        out.append([f"{min(end, pre['steps_done']):,}", f"{min(end, pre['steps_done']) * pre['settings']['batch_size'] * pre['settings']['seq_len'] / 1e6:.2f}",
                    f"{statistics.fmean(win):.3f}" if win else "-",
                    f"{h['accuracy']:.4f}" if h else "-"])
    return table(["step", "tokens (M)", "MLM loss (window mean)", "held-out accuracy"], out)


def overlap(ov: dict | None) -> str:
    if not ov:
        return "_The overlap check was not run._\n"
    rows = [[t, r["documents_checked"], r["shared"], r["shared_windows"], ", ".join(r["shared_ids"]) or "-"]
            for t, r in ov["tasks"].items()]
    return (f"{ov['method']}; {ov['pretraining_windows']:,} pretraining windows, {ov.get('seconds', '?')} s.\n\n"
            + table(["task", "documents", "sharing a passage", "shared windows", "e.g."], rows))


def criteria(c: dict | None) -> str:
    if not c:
        return "_criteria.json is missing._\n"
    c1, c2 = c["criterion_1_base"], c["criterion_2_mean_arm"]
    rows = [["1. the base learned language", f"held-out accuracy {c1['accuracy']:.4f} = {c1['ratio']:.2f} × the "
                                            f"unigram reference {c1['unigram']:.4f} (needs ≥ 2×)",
             "passed" if c1["passed"] else "**failed**"]]
    for s in c2["seeds"]:
        parts = []
        for t in ("scifact", "passkey_256", "needle_256"):
            x = s.get(t) or {}
            if x.get("value") is None:
                parts.append(f"{t}: not evaluated")
            else:
                parts.append(f"{t} {x['value']:.3f} (needs ≥ {x['threshold']:.3f})")
        ok = all((s.get(t) or {}).get("passed") for t in ("scifact", "passkey_256", "needle_256"))
        rows.append([f"2. mean arm, seed {s['seed']}, at {code(c2['evaluation'])}", "; ".join(parts),
                     "passed" if ok else "**failed**"])
    chance = [f"{code(r['evaluation'])} {r['task']}" for r in c["criterion_3_lengths"] if r["all_at_chance"]]
    rows.append(["3. lengths read only above chance", "all arms at chance in: " + (", ".join(chance) or "none"),
                 "those cells are not ranked" if chance else "every synthetic cell has an arm above chance"])
    note = (f"SciFact's chance level (random ranking, from the qrels): NDCG@10 {c2['scifact_chance_ndcg10']:.4f}.\n"
            if c2.get("scifact_chance_ndcg10") is not None else "")
    return table(["criterion", "measured", "verdict"], rows) + "\n" + note


def render() -> str:
    pre, matched, cmp = _load("base/pretrain.json"), _load("matched.json"), _load("comparison.json")
    if pre is None:
        return "_The miniature's results are not in this checkout (`results/miniature/`)._\n"
    parts = ["**The base** (from `base/pretrain.json`)\n", base(pre),
             "**Its MLM loss and held-out accuracy**\n", curve(pre),
             "**Overlap** of the pretraining text with the evaluation corpora (`base/overlap.json`)\n",
             overlap(_load("base/overlap.json")),
             "**The pass criteria** (stated in `results/miniature/README.md` before the run; `criteria.json`)\n",
             criteria(_load("criteria.json"))]
    if matched is None or cmp is None:
        return "\n".join(parts + ["_The matched protocol has not been published yet._\n"])
    return "\n".join(parts + [
        "**Setup of the protocol** (from `matched.json`)\n", ex.setup(matched),
        "**Cost** on this machine (wall times recorded per arm)\n", ex.cost(matched),
        "**Scores**, whole set, mean over seeds (min–max)\n", ex.scores(matched),
        "**Each Δ per seed and across seeds** (from `comparison.json`; per-query paired tests, Holm within each "
        "task and seed; MDE80 the largest per-seed minimum detectable effect)\n", ex.deltas(cmp),
        "**Counts**\n", ex.counts(cmp),
        "**LMK against CLS**, the paper's headline contrast (`comparison-cls.json`)\n",
        ex.deltas(_load("comparison-cls.json") or {}), ex.counts(_load("comparison-cls.json") or {})])
