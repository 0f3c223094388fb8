"""Statistics layer: length buckets, paired tests, multiple-comparison correction, the Comparison object
and significance-aware ranking.

    from lmkbench.stats import compare
    cmp = compare("results/", baseline="mean", test="ttest", correction="holm")
    print(cmp.to_table()); cmp.to_json("comparison.json"); df = cmp.to_dataframe()
"""
from .buckets import DEFAULT_DEPTH_EDGES, DEFAULT_EDGES, Bucket, bucket_length, parse_edges
from .compare import compare
from .comparison import SCHEMA, Comparison
from .rows import Group, Row
from .correction import CORRECTIONS, adjust
from .ranking import Ranking, RankedSystem, rank_results, rank_systems
from .tests import TESTS, PairedResult, paired_test

__all__ = [
    "DEFAULT_DEPTH_EDGES", "DEFAULT_EDGES", "Bucket", "bucket_length", "parse_edges",
    "SCHEMA", "Comparison", "Group", "Row", "compare",
    "CORRECTIONS", "adjust",
    "Ranking", "RankedSystem", "rank_results", "rank_systems",
    "TESTS", "PairedResult", "paired_test",
]
