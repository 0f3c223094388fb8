"""Statistics layer: length buckets, paired tests and multiple-comparison corrections (registered:
:mod:`.registry`), the one paired-comparison path (:mod:`.paired`), the Comparison object and
significance-aware ranking.

    from lmkbench.stats import compare
    cmp = compare("results/", baseline="mean", test="ttest", correction="holm")
    print(cmp.to_table()); cmp.to_json("comparison.json"); df = cmp.to_dataframe()
"""
from .buckets import DEFAULT_DEPTH_EDGES, DEFAULT_EDGES, Bucket, bucket_length, parse_edges
from .compare import compare
from .comparison import SCHEMA, Comparison
from .rows import Group, Row
from .correction import adjust
from .paired import Block, Contrast, Outcome, run_paired
from .ranking import Ranking, RankedSystem, rank_results, rank_systems
from .registry import CORRECTIONS, STAT_TESTS, register_correction, register_test
from .tests import PairedResult, paired_test

__all__ = [
    "DEFAULT_DEPTH_EDGES", "DEFAULT_EDGES", "Bucket", "bucket_length", "parse_edges",
    "SCHEMA", "Comparison", "Group", "Row", "compare",
    "adjust", "Block", "Contrast", "Outcome", "run_paired",
    "Ranking", "RankedSystem", "rank_results", "rank_systems",
    "CORRECTIONS", "STAT_TESTS", "register_correction", "register_test",
    "PairedResult", "paired_test",
]
