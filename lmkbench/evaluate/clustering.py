"""Clustering: MiniBatch k-means on frozen embeddings, scored by V-measure, as mteb does it.

Main protocol: mteb 2.26's legacy clustering evaluator (``AbsTaskClusteringLegacy`` →
``mteb._evaluators.ClusteringEvaluator``) applied to one cluster set, the whole eval split:
``sklearn.cluster.MiniBatchKMeans(n_clusters=k, batch_size=500, n_init="auto", compute_labels=True,
random_state=seed)`` is fitted on every embedding, ``k`` is the number of distinct labels, and the
score is ``v_measure_score(labels, kmeans.labels_)``. Run 0 uses ``seed`` (42, mteb's) and reproduces
mteb's number exactly; runs ``1..n_runs-1`` repeat it with ``seed + r``. Reported: the mean over runs
(``v_measure``, the main metric) and the population standard deviation (``v_measure_std``, ``numpy.std``
as mteb). (mteb's legacy text tasks average over several *cluster sets* of one dataset, each with seed
42; we cluster the whole split and average over seeds instead.)

Why this and not mteb's newer ``AbsTaskClustering`` ("fast") protocol as the main one: the fast protocol
embeds only ``max_fraction_of_documents_to_embed = 0.04`` of the documents by default and clusters
bootstrap samples drawn *with replacement* (16,384 draws each), so most texts get no outcome, and
texts drawn twice count twice. Comparing poolings inside document-length buckets needs an outcome for
every text. The fast protocol is still available as a secondary number: with ``bootstrap=True``,
:func:`mteb_bootstrap_v_measure` reproduces mteb's ``AbsTaskClustering`` score exactly (same random
draws) and adds ``v_measure_bootstrap`` and ``v_measure_bootstrap_std``.

Per item (every text of the eval split): ``label``, ``cluster`` (its cluster id in run 0) and
``correct``: 1 when the majority label of its run-0 cluster equals its own label, else 0 (ties between
labels are broken towards the label that sorts first). Summed over items, ``correct`` counts what
cluster *purity* counts, so it is the per-item outcome McNemar's test can compare between poolings.
``correct_rate`` is the same over all runs; its mean over items equals ``metrics["purity"]``.

k-means runs with OpenMP/BLAS limited to one thread (``threadpoolctl``): MiniBatchKMeans takes hundreds of
tiny steps (batches of 500), where thread synchronisation dominates; on a shared 2-core machine one thread
used 20-100× less CPU and gave identical cluster ids.
"""
from __future__ import annotations

import random

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import v_measure_score
from threadpoolctl import threadpool_limits

from ..data.types import LabelledData
from ..errors import LmkbenchError
from ..params import Param, to_bool, to_float, to_int
from .base import EvalOutput, Evaluator, register_evaluator, text_lengths

MTEB_SEED = 42
MTEB_LEGACY_BATCH_SIZE = 500          # ClusteringEvaluator(clustering_batch_size=500)
MTEB_FAST_BATCH_SIZE = 512            # AbsTaskClustering.k_mean_batch_size
MTEB_FAST_SAMPLE_SIZE = 16_384        # AbsTaskClustering.max_documents_per_cluster
MTEB_FAST_N_SAMPLES = 10              # AbsTaskClustering.n_clusters (the number of bootstrap samples)
MTEB_FAST_FRACTION = 0.04             # AbsTaskClustering.max_fraction_of_documents_to_embed
#: per-item fields that are scores (``label`` and ``cluster`` describe the item; v_measure has none per item)
ITEM_SCORES = ("correct", "correct_rate")


def kmeans_assignments(embeddings: np.ndarray, k: int, seed: int, batch_size: int = MTEB_LEGACY_BATCH_SIZE) -> np.ndarray:
    """Cluster ids of one run of mteb's legacy ``ClusteringEvaluator``."""
    model = MiniBatchKMeans(n_clusters=k, batch_size=batch_size, n_init="auto", compute_labels=True,
                            random_state=seed)
    with threadpool_limits(limits=1):
        model.fit(embeddings)
    return np.asarray(model.labels_)


def majority_correct(label_codes: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """1 where a text's label is the majority label of its cluster (ties → smallest label code)."""
    _, cluster_index = np.unique(clusters, return_inverse=True)
    counts = np.zeros((cluster_index.max() + 1, label_codes.max() + 1), dtype=np.int64)
    np.add.at(counts, (cluster_index, label_codes), 1)
    majority = counts.argmax(axis=1)
    return (majority[cluster_index] == label_codes).astype(np.int64)


def mteb_bootstrap_v_measure(embeddings: np.ndarray, labels, *, seed: int = MTEB_SEED,
                             fraction: float | None = MTEB_FAST_FRACTION, n_samples: int = MTEB_FAST_N_SAMPLES,
                             sample_size: int = MTEB_FAST_SAMPLE_SIZE,
                             batch_size: int = MTEB_FAST_BATCH_SIZE) -> list[float]:
    """V-measures of mteb 2.26's ``AbsTaskClustering`` (single-level labels), one per bootstrap sample.

    As mteb: ``rng = random.Random(seed)``; when ``fraction`` is set, ``rng.sample`` keeps
    ``int(fraction * n)`` texts (mteb embeds only those); then each of ``n_samples`` samples draws
    ``sample_size`` texts *with replacement* (``rng.choices``) and fits one ``MiniBatchKMeans(k,
    batch_size, init="k-means++", n_init=1, random_state=seed)`` with ``k`` the number of distinct
    labels among the kept texts.
    """
    rng = random.Random(seed)
    labels = np.asarray(labels)
    if fraction is not None:
        keep = rng.sample(range(len(labels)), k=min(len(labels), int(fraction * len(labels))))
        embeddings, labels = embeddings[keep], labels[keep]
    k = np.unique(labels).size
    if k < 2 or len(labels) < k:
        raise LmkbenchError(f"bootstrap clustering kept {len(labels)} texts with {k} label(s); "
                            f"raise bootstrap_fraction (now {fraction}) or set it to None")
    model = MiniBatchKMeans(n_clusters=k, batch_size=batch_size, init="k-means++", n_init=1, random_state=seed)
    scores = []
    for _ in range(n_samples):
        drawn = rng.choices(range(len(labels)), k=sample_size)
        with threadpool_limits(limits=1):
            assignment = model.fit_predict(embeddings[drawn])
        scores.append(float(v_measure_score(labels[drawn], assignment)))
    return scores


@register_evaluator("clustering")
class ClusteringEvaluator(Evaluator):
    """MiniBatch k-means (k = number of labels) scored by V-measure, mteb 2.26's legacy protocol"""

    params = {
        "n_runs": Param(to_int, 10, "seeded k-means runs (seeds seed..seed+n_runs-1)", ge=1),
        "seed": Param(to_int, MTEB_SEED, "seed of run 0", ge=0),
        "batch_size": Param(to_int, MTEB_LEGACY_BATCH_SIZE, "MiniBatchKMeans batch size (mteb legacy)", ge=1),
        "bootstrap": Param(to_bool, False, "also compute mteb's fast bootstrap score"),
        "bootstrap_fraction": Param(to_float, MTEB_FAST_FRACTION, "share of texts the bootstrap keeps "
                                                                  "(None: all)", gt=0, le=1, nullable=True),
    }

    def _rows(self, data: LabelledData) -> list[int]:
        if not data.splits:
            rows = list(range(len(data.ids)))
        elif data.eval_split in data.splits:
            rows = list(data.splits[data.eval_split])
        else:
            raise LmkbenchError(f"{data.name}: no {data.eval_split!r} split to cluster "
                                f"(the data has: {', '.join(data.splits)})")
        n_labels = len({data.labels[r] for r in rows})
        if n_labels < 2:
            raise LmkbenchError(f"{data.name}: clustering needs at least 2 distinct labels, "
                                f"the {data.eval_split!r} split has {n_labels}")
        return rows

    def text_sets(self, data: LabelledData):
        rows = self._rows(data)
        return {"texts": ([data.ids[r] for r in rows], [data.texts[r] for r in rows])}

    def length_of_items(self, data: LabelledData, token_counts, truncated, split=None):
        return text_lengths(data, self._rows(data), "texts", token_counts, truncated, split)

    def evaluate(self, data: LabelledData, embeddings) -> EvalOutput:
        rows = self._rows(data)
        x = np.asarray(embeddings["texts"])
        if len(x) != len(rows):
            raise LmkbenchError(f"{data.name}: got {len(x)} embeddings for {len(rows)} texts to cluster")
        labels = np.array([data.labels[r] for r in rows])
        names, codes = np.unique(labels, return_inverse=True)
        k = len(names)

        v_measures, correct = [], []
        for run in range(self.n_runs):
            clusters = kmeans_assignments(x, k, self.seed + run, self.batch_size)
            v_measures.append(float(v_measure_score(labels, clusters)))
            correct.append(majority_correct(codes, clusters))
            if run == 0:
                first_clusters = clusters
        correct = np.stack(correct)                  # runs × items
        purity = correct.mean(axis=1)
        correct_rate = correct.mean(axis=0)

        per_item = {data.ids[r]: {"label": str(labels[j]), "cluster": int(first_clusters[j]),
                                  "correct": int(correct[0, j]), "correct_rate": float(correct_rate[j])}
                    for j, r in enumerate(rows)}
        metrics = {"v_measure": float(np.mean(v_measures)), "v_measure_std": float(np.std(v_measures)),
                   "purity": float(np.mean(purity)), "purity_std": float(np.std(purity))}
        info = {"protocol": "mteb 2.26 legacy ClusteringEvaluator (MiniBatchKMeans, k = number of labels, "
                            "batch_size 500, n_init='auto') on the whole split, seeds seed..seed+n_runs-1",
                **self.options, "k": k, "n_items": len(rows), "v_measure_per_run": v_measures,
                "per_item_cluster": "run 0"}
        if self.bootstrap:
            boot = mteb_bootstrap_v_measure(x, labels, seed=self.seed, fraction=self.bootstrap_fraction)
            metrics["v_measure_bootstrap"] = float(np.mean(boot))
            metrics["v_measure_bootstrap_std"] = float(np.std(boot))
            info["v_measure_bootstrap_per_sample"] = boot
        return EvalOutput(metrics, per_item, "v_measure", info=info, item_scores=ITEM_SCORES)
