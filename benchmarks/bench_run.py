"""Task-level figures: several poolings vs one, LMK token overhead, the embedding cache, and lmkbench vs mteb."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from common import Figure, autocast, interleaved, qmsum_doc_texts, scifact_subset_folder, timed

LMK_TOKEN_TARGET = 1 + 1 / 32 + 0.01


def _runner(ctx, poolings, out: Path, cache_dir=False, max_length=None):
    from lmkbench.encoder import PooledEncoder
    from lmkbench.runner import Runner, RunSettings

    s = RunSettings(model=ctx.model_path, poolings=poolings, out_dir=out, max_length=max_length or ctx.max_length,
                    device=ctx.device, dtype=ctx.dtype, cache_dir=cache_dir, overwrite=True, progress=False)
    enc = PooledEncoder(ctx.loaded, s.encoder, progress=False)
    return Runner(s, encoder=enc, log=lambda *a: None)


def _task(folder: Path):
    from lmkbench.tasks import resolve_tasks

    (task,) = resolve_tasks(f"beir:{folder}")
    return task


def poolings_cost(ctx) -> list[Figure]:
    """Figure 2 (cost of ``cls,mean,lmk`` vs ``mean`` on one task) and figure 3 (LMK token overhead)."""
    tmp = Path(tempfile.mkdtemp(prefix="lmkbench-bench-"))
    try:
        q, o = ctx.size("task_queries"), ctx.size("task_other_docs")
        task = _task(scifact_subset_folder(tmp / "scifact", q, o))
        ctx.log(f"[2] one task (SciFact, {q or 'all'} queries, {o if o is not None else 'all'} other docs): "
                "cls,mean,lmk vs mean, no cache")
        one = lambda: _runner(ctx, ["mean"], tmp / "out-mean").run_task(task)  # noqa: E731
        three = lambda: _runner(ctx, ["cls", "mean", "lmk"], tmp / "out-three").run_task(task)  # noqa: E731
        t = interleaved({"mean": one, "cls,mean,lmk": three}, ctx.reps, ctx.sync, ctx.log)
        ratio = t["cls,mean,lmk"].wall_median / t["mean"].wall_median
        from lmkbench.results import read_result

        rec = read_result(next((tmp / "out-three").rglob("lmk*.json")))
        fam = {}
        for set_stats in rec.meta.encode_stats.values():
            for k, v in set_stats["per_family_tokens"].items():
                fam[k] = fam.get(k, 0) + v
        figs = [Figure("task.cost.cls_mean_lmk_vs_mean", t["cls,mean,lmk"].wall_median, "s", ratio,
                       f"mean alone ({t['mean'].wall_median:.1f} s); cpu-time ratio "
                       f"{t['cls,mean,lmk'].cpu_median / t['mean'].cpu_median:.3f}", "<= 2.1",
                       {k: v.as_dict() for k, v in t.items()}),
                Figure("lmk.token_overhead.scifact_truncate", fam["lmk:g=32"], "tokens", fam["lmk:g=32"] / fam["plain"],
                       f"mean ({fam['plain']:,} tokens, same texts, max length {ctx.max_length})",
                       f"<= {LMK_TOKEN_TARGET:.5f}", fam)]
        figs.append(_lmk_tokens_windows(ctx))
        return figs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _lmk_tokens_windows(ctx) -> Figure:
    """Figure 3 on long texts: tokens the encoder would feed for ``lmk:g=32`` vs ``mean`` under
    ``--long windows`` on QMSum (sequences built exactly as the encoder builds them; no forward pass)."""
    from lmkbench.poolings import make_pooling

    texts = qmsum_doc_texts(ctx.size("long_docs"))
    enc = ctx.encoder_for(long_policy="windows")
    contents = enc.tokenize(texts)
    totals = {}
    for spec in ("mean", "lmk:g=32"):
        fam = make_pooling(spec).family()
        totals[spec] = sum(len(s.ids) for c in contents
                           for s in fam.build(c, enc.special, enc.max_length, "windows")[0])
    return Figure("lmk.token_overhead.qmsum_windows", totals["lmk:g=32"], "tokens", totals["lmk:g=32"] / totals["mean"],
                  f"mean ({totals['mean']:,} tokens, {len(texts)} QMSum transcripts, 512-token windows)",
                  f"<= {LMK_TOKEN_TARGET:.5f}", totals)


def cache_rerun(ctx) -> list[Figure]:
    """Figure 4: ``run_task`` again with the embedding cache filled by the first run vs the first run."""
    tmp = Path(tempfile.mkdtemp(prefix="lmkbench-bench-"))
    try:
        q, o = ctx.size("task_queries"), ctx.size("task_other_docs")
        task = _task(scifact_subset_folder(tmp / "scifact", q, o))
        pools = ["cls", "mean", "lmk"]
        ctx.log("[4] embedding cache: first run vs re-run (cls,mean,lmk; fresh runner and encoder each time)")
        first = timed(lambda: _runner(ctx, pools, tmp / "out1", cache_dir=tmp / "cache").run_task(task), ctx.sync)
        ctx.log(f"  first run: {first[0]:.2f} s")
        again = [timed(lambda: _runner(ctx, pools, tmp / "out2", cache_dir=tmp / "cache").run_task(task), ctx.sync)
                 for _ in range(3)]
        rerun = float(np.median([a[0] for a in again]))
        ctx.log(f"  re-runs: {', '.join(f'{a[0]:.2f}' for a in again)} s")
        from lmkbench.results import read_result

        same = all(read_result(p1).metrics == read_result(tmp / "out2" / p1.relative_to(tmp / "out1")).metrics
                   for p1 in (tmp / "out1").rglob("*.json"))
        return [Figure("cache.rerun_speedup", rerun, "s", first[0] / rerun, f"first run ({first[0]:.2f} s); "
                       f"identical metrics: {same}", ">= 20", {"first_s": first[0], "rerun_s": [a[0] for a in again],
                                                               "identical_metrics": same})]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------ mteb


def _silenced(fn):
    """Run ``fn`` with its prints, warnings and progress bars swallowed (they would interleave the figures)."""
    import contextlib
    import io
    import warnings

    def wrapped():
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return fn()

    return wrapped


def end_to_end_vs_mteb(ctx) -> list[Figure]:
    """Figure 5: ``lmkbench run --pooling mean`` vs ``mteb.evaluate`` (sentence-transformers model, same
    max length, local task) on SciFact; each side loads its model and data inside the timed call."""
    import datasets
    import mteb  # noqa: F401  (import cost outside the timing)

    datasets.disable_progress_bars()
    from sentence_transformers import SentenceTransformer

    from lmkbench.cli import main
    from lmkbench.results import iter_results

    tmp = Path(tempfile.mkdtemp(prefix="lmkbench-bench-"))
    try:
        q, o = ctx.size("e2e_queries"), ctx.size("e2e_other_docs")
        folder = scifact_subset_folder(tmp / "scifact", q, o)
        ml = ctx.max_length
        runs = iter(range(1000))

        def ours():
            out = tmp / f"lmk-{next(runs)}"
            code = main(["run", "--model", ctx.model_path, "--pooling", "mean", "--task", f"beir:{folder}",
                         "--out", str(out), "--max-length", str(ml), "--no-cache", "--quiet", "--device", ctx.device,
                         "--dtype", ctx.dtype])
            assert code == 0
            (rec,) = list(iter_results(out))
            return rec.metrics["ndcg_at_10"]

        def theirs():
            import mteb

            st = SentenceTransformer(ctx.model_path, device=ctx.device)
            st.max_seq_length = ml
            with autocast(ctx.device, ctx.dtype):  # the same mixed precision lmkbench uses on CUDA
                from lmkbench.mteb_adapter import local_beir_task

                res = mteb.evaluate(st, local_beir_task(folder, "LmkbenchBenchRetrieval"), cache=None, show_progress_bar=False,
                                    encode_kwargs={"batch_size": 32, "show_progress_bar": False})
            return res.task_results[0].scores["test"][0]["ndcg_at_10"]

        ours, theirs = _silenced(ours), _silenced(theirs)
        ctx.log(f"[5] end to end on SciFact ({q or 'all'} queries, {o if o is not None else 'all'} other docs), "
                f"max length {ml}: lmkbench run vs mteb.evaluate")
        t = interleaved({"mteb.evaluate": theirs, "lmkbench run": ours}, ctx.e2e_reps, ctx.sync, ctx.log)
        a, b = t["lmkbench run"].result, t["mteb.evaluate"].result
        return [Figure("e2e.run_vs_mteb", t["lmkbench run"].wall_median, "s",
                       t["mteb.evaluate"].wall_median / t["lmkbench run"].wall_median,
                       f"mteb.evaluate ({t['mteb.evaluate'].wall_median:.1f} s)", ">= 1.5",
                       {k: v.as_dict() for k, v in t.items()}),
                Figure("e2e.ndcg_at_10.abs_diff", abs(a - b), "", None, f"lmkbench {a:.5f} vs mteb {b:.5f}", "<= 0.0001",
                       {"lmkbench": a, "mteb": b})]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
