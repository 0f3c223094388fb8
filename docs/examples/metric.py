"""A new retrieval metric: hit rate at k, registered beside ndcg/recall/mrr and parsed as ``hit@5``."""
from lmkbench.metrics import CUTOFF, METRICS, parse_metric


@METRICS.register("hit", params=CUTOFF, help="1 if any relevant document is in the top k")
def hit(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """``ranked``: document ids best first; ``judged``: id → relevance grade (> 0 is relevant)."""
    return float(any(judged.get(doc, 0) > 0 for doc in ranked[:k]))


def main():
    metric = parse_metric("hit@2")                       # also "hit_at_2"; the result key is "hit_at_2"
    ranked, judged = ["d3", "d1", "d7"], {"d1": 1, "d9": 2}
    print(metric.key, metric(ranked, judged), parse_metric("hit@1")(ranked, judged))
    assert metric(ranked, judged) == 1.0 and parse_metric("hit_at_1")(ranked, judged) == 0.0


if __name__ == "__main__":
    main()
