"""The committed matched experiment (``results/extrapolation/``): its setup, cost, scores and Δs across seeds.

Read from ``matched.json`` (what was trained, how long it took, each arm's whole-set scores) and
``comparison.json`` (``lmkbench compare`` on the matched results: each Δ per seed with its per-query test, and
its spread across seeds), and from the base model's results (``base/``), so the page shows the numbers the
experiment produced, not copies of them.

One metric per number: a score table names the whole-set main metric it shows, a Δ table the per-item score
compare tested; where the two differ for a task (clustering: ``v_measure`` exists only for the whole set,
``correct_rate`` is tested), the row says which one its numbers are. "No difference" is read only from the
equivalence test (equivalent in every seed); "within training noise" is another reading.
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from types import SimpleNamespace

from lmkbench.stats.seeds import EQUIVALENT, SIGNIFICANT
from lmkbench.stats.table import EQUIVALENT_MARK, equivalence_reading
from lmkbench.order import task_order

from .md import code, table

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "results" / "extrapolation"
ARM_ORDER = ("cls", "mean", "lmk")
MARK = {"win": "▲", "loss": "▼"}


def _load(name: str):
    path = FOLDER / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _short(pooling: str) -> str:
    return pooling.split(":")[0]


def _ordered(poolings) -> list[str]:
    """cls, mean, lmk, then any other pooling."""
    def key(p):
        return (ARM_ORDER.index(_short(p)) if _short(p) in ARM_ORDER else len(ARM_ORDER), p)

    return sorted(set(poolings), key=key)


def _main_metrics(matched: dict) -> dict[str, str]:
    """task → the whole-set main metric its scores (and matched.json's deltas) are in."""
    return {r["task"]: r["metric"] for r in matched.get("summary", []) if r.get("metric")}


def _tested(cmp: dict) -> dict[str, str]:
    """task → the per-item score compare tested (the Δs' units)."""
    out = {x["task"]: x["metric"] for x in cmp.get("seed_spread", [])}
    out.update({g["task"]: g["metric"] for g in cmp.get("groups", [])})
    return out


def _main_label(task: str, main: dict, tested: dict) -> str:
    """A score column's metric: ``v_measure`` (whole set; its Δs are read in ``correct_rate``) where they differ."""
    m = main.get(task)
    if m is None:
        return "-"
    t = tested.get(task, m)
    return code(m) if t == m else f"{code(m)} (whole set; not tested: its Δs are in {code(t)})"


def _delta_label(metric: str, main_metric: str | None) -> str:
    """A Δ's metric: ``correct_rate`` (per item; the whole-set ``v_measure`` is not tested) where they differ."""
    if not main_metric or main_metric == metric:
        return code(metric)
    return f"{code(metric)} (per item; not the whole-set {code(main_metric)})"


def _evaluations(matched: dict) -> list[str]:
    return list(dict.fromkeys(e for a in matched["arms"] for e in a.get("evaluations", {})))


def setup(matched: dict) -> str:
    s = matched["settings"]
    rows = [["base", code(matched["base"])], ["training data", code(matched["data"])],
            ["arms", ", ".join(code(p) for p in dict.fromkeys(a["train_pooling"] for a in matched["arms"]))],
            ["seeds", ", ".join(str(x) for x in matched["seeds"])],
            ["steps × batch", f"{s.get('steps')} × {s.get('batch_size')} (lr {s.get('lr')}, temperature "
                              f"{s.get('temperature')}, warm-up {s.get('warmup_ratio')})"],
            ["training lengths", f"documents {s.get('doc_max_length')} tokens, queries {s.get('query_max_length')}"],
            ["numerics", f"{s.get('dtype')} on {s.get('device')}"],
            ["evaluations", ", ".join(code(e) for e in _evaluations(matched))],
            ["overlap with the evaluation", _overlap(matched.get("overlap"))]]
    return table(["", ""], rows)


def _overlap(ov) -> str:
    if not ov:
        return "not checked"
    return (f"{ov['shared']} of {ov['training_documents']} training documents found in "
            f"{len(ov.get('tasks', {}))} evaluation corpora ({ov['method']})")


def cost(matched: dict) -> str:
    arms = matched["arms"]
    train = sum(a.get("train_wall_s") or 0 for a in arms)
    rows = [["training", len(arms), f"{train / 60:.1f} min",
             f"{statistics.fmean(a['train_wall_s'] for a in arms):.0f} s"]]
    total = train
    for e in _evaluations(matched):
        walls = [w for a in arms if (w := _eval_wall(a, e)) is not None]
        if walls:
            total += sum(walls)
            rows.append([f"evaluation `{e}`", len(walls), f"{sum(walls) / 60:.1f} min", f"{statistics.fmean(walls):.0f} s"])
    rows.append(["**total**", "", f"**{total / 60:.1f} min**", ""])
    return table(["stage", "arm-seeds", "wall time", "per arm-seed"], rows)


def _eval_wall(arm: dict, evaluation: str) -> float | None:
    """An arm's wall time for an evaluation: ``eval_wall_s`` is keyed by the settings label, with or without the
    dtype that the evaluation's label carries (``8449`` for ``8449-fp32``)."""
    walls = arm.get("eval_wall_s", {})
    for key in (evaluation, re.sub(r"-(fp32|bf16|fp16)$", "", evaluation)):
        if key in walls:
            return walls[key]
    return None


def scores(matched: dict, cmp: dict | None = None) -> str:
    """Each task's whole-set score per arm, mean over seeds (min–max), per evaluation, in its main metric."""
    pools = _ordered(a["pooling"] for a in matched["arms"])
    main, tested = _main_metrics(matched), _tested(cmp or {})
    rows = []
    for e in _evaluations(matched):
        tasks = sorted(dict.fromkeys(t for a in matched["arms"] for t in a.get("evaluations", {}).get(e, {})),
                       key=task_order)
        for t in tasks:
            line = [code(e), t, _main_label(t, main, tested)]
            for p in pools:
                vals = [a["evaluations"][e][t] for a in matched["arms"]
                        if a["pooling"] == p and t in a.get("evaluations", {}).get(e, {})]
                line.append(f"{statistics.fmean(vals):.3f} ({min(vals):.3f}–{max(vals):.3f})" if vals else "-")
            rows.append(line)
    return table(["evaluation", "task", "metric"] + [code(p) for p in pools], rows)


def _margin(cmp: dict) -> str:
    margin = cmp.get("settings", {}).get("equivalence_margin")
    return "-" if margin is None else f"±{margin:g}"


def _equivalence(s: dict) -> str:
    """A spread's equivalence reading (:func:`lmkbench.stats.table.equivalence_reading`); '-' where the comparison
    had no equivalence test."""
    if "per_seed_equivalent" not in s:
        return "-"
    return equivalence_reading(SimpleNamespace(**s))


def deltas(cmp: dict) -> str:
    """Each Δ to the baseline per seed (mark of its per-query test, ≈ where equivalent) and across seeds, bucket
    all, in the per-item score compare tested."""
    rows = []
    spreads = [x for x in cmp.get("seed_spread", []) if x["bucket"] == "all"]
    for s in sorted(spreads, key=lambda x: (_evaluation(x), task_order(x["task"]), x["pooling"])):
        per = " · ".join(f"{v:+.3f}{MARK.get(s['per_seed_mark'][k] or '', '')}"
                         f"{EQUIVALENT_MARK if s.get('per_seed_equivalent', {}).get(k) else ''}"
                         for k, v in s["per_seed"].items())
        tilt = f"{s['n_le_0']} / {s['n_ge_0']}" if "n_le_0" in s else "-"
        rows.append([code(_evaluation(s)), s["task"], _delta_label(s["metric"], s.get("main_metric")),
                     f"{code(_no_seed(s['pooling']))} − {code(_no_seed(s['baseline']))}", per, f"{s['mean']:+.3f}", f"{s['sd']:.3f}",
                     tilt, "-" if s["mde"] is None else f"{s['mde']:.3f}", s["reading"], _equivalence(s)])
    return table(["evaluation", "task", "metric of Δ", "Δ", f"per seed (▲/▼: that seed's test; {EQUIVALENT_MARK}: "
                  f"equivalent {_margin(cmp)})", "mean", "sd", "Δ ≤ 0 / ≥ 0", "MDE80", "reading",
                  f"equivalence {_margin(cmp)}"], rows)


def _evaluation(spread: dict) -> str:
    """The evaluation a spread belongs to: a matched label's settings (``minilm-matched~512`` → ``512``), a
    selection's group (``8449-fp32``: compare --baseline 'model=*,pooling=mean'), else the arms as trained."""
    model = spread["model"]
    if "~" in model:
        return model.partition("~")[2]
    return model if re.fullmatch(r"[\w.:=+-]*\d[\w.:=+-]*", model) and "matched" not in model else "as-trained"


def _no_seed(label: str) -> str:
    """An arm's label without its seed (``modernbert-mini-mean-s0 · mean`` → ``modernbert-mini-mean · mean``): a
    spread's baseline is the same arm's in every seed."""
    return re.sub(r"-s\d+(?= · |$)", "", label)


def counts(cmp: dict) -> str:
    spreads = [x for x in cmp.get("seed_spread", []) if x["bucket"] == "all"]
    by: dict[tuple, list] = {}
    for s in spreads:
        by.setdefault((_evaluation(s), s["pooling"]), []).append(s)
    lines = []
    for (e, p), xs in by.items():
        noise = sum(x["within_noise"] for x in xs)
        sig = [x for x in xs if x["reading"] == SIGNIFICANT]
        up = sum(x["mean"] > 0 for x in sig)
        line = (f"- `{e}`, `{p}` against `{_no_seed(xs[0]['baseline'])}`: {len(xs)} tasks; {noise} within training "
                f"noise; {len(sig)} beyond it and significant in every seed ({up} ▲, {len(sig) - up} ▼); "
                f"{len(xs) - noise - len(sig)} beyond it but not significant in every seed.")
        if all("n_le_0" in x for x in xs):
            n = sum(len(x["per_seed"]) for x in xs)
            line += (f" Tilt: {sum(x['n_le_0'] for x in xs)} of {n} per-seed Δs ≤ 0, "
                     f"{sum(x['n_ge_0'] for x in xs)} ≥ 0.")
        if all("per_seed_equivalent" in x for x in xs):
            same = [x["task"] for x in xs if x["equivalent_every_seed"]]
            line += (f" No difference ({EQUIVALENT}, {_margin(cmp)}): {len(same)} of {len(xs)} tasks"
                     + (f" ({', '.join(same)})" if same else "") + ".")
        lines.append(line)
    return "\n".join(lines) + "\n"


def base_scores() -> str:
    """The untrained starting point: all-MiniLM-L6-v2 (mean-trained) with each pooling, same settings."""
    folder = FOLDER / "base"
    if not folder.is_dir():
        return "_The base model was not evaluated._\n"
    from lmkbench.labels import variant_name
    from lmkbench.report.tables import per_item_score_name
    from lmkbench.results import iter_results

    cells: dict[tuple, dict] = {}
    main: dict[str, str] = {}
    for rec in iter_results(folder):
        cells.setdefault((variant_name(rec.model), rec.task), {})[rec.pooling] = rec.metrics.get(rec.main_metric)
        main[rec.task] = code(rec.main_metric) + ("" if per_item_score_name(rec) == rec.main_metric else " (whole set)")
    pools = _ordered(p for c in cells.values() for p in c)
    rows = [[code(e), t, main[t]]
            + [f"{c[p]:.3f}" if c.get(p) is not None else "-" for p in pools]
            for (e, t), c in sorted(cells.items(), key=lambda kv: (kv[0][0], task_order(kv[0][1])))]
    return table(["evaluation", "task", "metric"] + [code(p) for p in pools], rows)


def longer(cmp: dict) -> str:
    """The same arms trained 3× longer (one seed): each Δ with its per-query CI and mark, beside the three-seed
    Δ (mean ± sd) of the main run, and the mean arm's score after each."""
    long_cmp, long_matched = _load("steps-900/comparison.json"), _load("steps-900/matched.json")
    if long_cmp is None or long_matched is None:
        return "_The longer training was not run._\n"
    spread = {(_evaluation(x), x["task"], x["pooling"]): x for x in cmp.get("seed_spread", []) if x["bucket"] == "all"}
    rows_by = {(r["model"].partition("~")[2] or "as-trained", r["task"], r["pooling"]): r
               for r in long_cmp.get("rows", []) if r["bucket"] == "all"}
    mean_arm = {(e, t): v for a in long_matched["arms"] if a["pooling"] == "mean"
                for e, scores in a.get("evaluations", {}).items() for t, v in scores.items()}
    main, tested = _main_metrics(long_matched), _tested(cmp)
    pools = _ordered(p for (_, _, p) in spread)
    out = []
    for (e, t) in sorted({(e, t) for (e, t, _) in spread}, key=lambda k: (k[0], task_order(k[1]))):
        metric = tested.get(t, "")
        line = [code(e), t, _delta_label(metric, main.get(t)) if metric else "-"]
        for p in pools:
            short, long_ = spread.get((e, t, p)), rows_by.get((e, t, p))
            line.append("-" if short is None else f"{short['mean']:+.3f} ± {short['sd']:.3f}")
            if long_ is None or long_.get("mean_diff") is None:
                line.append("-")
            else:
                ci = "" if long_.get("ci_low") is None else f" [{long_['ci_low']:+.3f}, {long_['ci_high']:+.3f}]"
                eq = EQUIVALENT_MARK if long_.get("equivalent") else ""
                line.append(f"{long_['mean_diff']:+.3f}{MARK.get(long_.get('mark') or '', '')}{eq}{ci}")
        whole = main.get(t)
        line.append("-" if (e, t) not in mean_arm else f"{mean_arm[(e, t)]:.3f}"
                    + (f" ({code(whole)}, whole set)" if whole and whole != metric else ""))
        out.append(line)
    head = ["evaluation", "task", "metric of Δ"]
    for p in pools:
        head += [f"Δ {code(_short(p))} 300 steps (3 seeds)", f"Δ {code(_short(p))} 900 steps (seed 0)"]
    return table(head + ["mean arm, 900 steps"], out)


def render() -> str:
    matched, cmp = _load("matched.json"), _load("comparison.json")
    if matched is None or cmp is None:
        return "_The experiment's results are not in this checkout (`results/extrapolation/`)._\n"
    return "\n".join([
        "**Setup** (from `matched.json`)\n", setup(matched),
        "**Cost** on this machine (wall times recorded per arm)\n", cost(matched),
        "**Scores**, whole set, mean over seeds (min–max), each in its task's main metric\n", scores(matched, cmp),
        "**Each Δ per seed and across seeds** (from `comparison.json`; per-query paired tests, Holm within "
        "each task and seed; MDE80 the largest per-seed minimum detectable effect; each Δ in the per-item score "
        "the test reads, which for clustering is not the whole-set score above; equivalence: each seed's "
        "90% CI of Δ inside the margin, the one reading that says *no difference*, while *within training noise* "
        "says only that the seeds disagree by as much as their mean Δ)\n", deltas(cmp),
        "**Counts**\n", counts(cmp),
        "**The starting point**: all-MiniLM-L6-v2 untrained here (it was trained with mean pooling), each pooling, "
        "same evaluation settings (`base/`)\n", base_scores(),
        "**Three times the training** (`steps-900/`: 900 steps, seed 0 only; its Δ against the mean arm with its "
        f"per-query CI, ▲/▼ and {EQUIVALENT_MARK} (equivalent {_margin(cmp)}), beside the main run's three-seed "
        "mean ± sd, all in the metric of Δ; the mean arm's score in its main metric)\n", longer(cmp)])
