"""Constants and helpers shared by the report tests (importable, unlike conftest)."""
import math

SCRIPT_QUERY = "<script>alert('xss')</script> what is <b>bold</b> & why?"


def metrics_for_rank(rank: int | None) -> dict[str, float]:
    """Per-query metrics of a query with one relevant document at ``rank`` (None = not retrieved)."""
    r = rank if rank is not None else math.inf
    return {"ndcg_at_10": 1 / math.log2(r + 1) if r <= 10 else 0.0, "mrr_at_10": 1 / r if r <= 10 else 0.0,
            "recall_at_100": 1.0 if r <= 100 else 0.0, "acc_at_1": 1.0 if r == 1 else 0.0}


def run_with_gold(qid: str, gold: str, rank: int | None, n_docs: int = 100) -> list[tuple[str, float]]:
    others = [f"x{qid}_{j}" for j in range(n_docs)]
    if rank is not None:
        others.insert(rank - 1, gold)
    return [(d, round(1.0 - j / 1000, 6)) for j, d in enumerate(others[:n_docs])]
