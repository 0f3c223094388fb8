"""When a finished result cell may be reused: only if what produced it is what would produce it now.

A cell (task × model label × pooling) on disk is reused by ``lmkbench run`` only when its recorded model
identity (content hash or hub revision), encoder settings (:data:`PRODUCING_SETTINGS`), the task's data
checksums and the evaluator's options equal the current ones; otherwise it is recomputed and the run says
what differed. A record that does not say (written before a key existed) counts as its default.
"""
from __future__ import annotations

from typing import Any

from .results import ResultRecord

#: encoder settings that change a vector, recorded in every dense result's meta (resolved values)
PRODUCING_SETTINGS = ("model_identity", "dtype", "max_length", "long_policy", "positions")
#: what a record written before a key existed means by its absence
LEGACY_DEFAULTS = {"positions": "native", "evaluator_options": {}}


def encoder_settings(description: dict[str, Any]) -> dict[str, Any]:
    """The :data:`PRODUCING_SETTINGS` of a :meth:`PooledEncoder.describe` (resolved values)."""
    return {k: description.get(k) for k in PRODUCING_SETTINGS}


def producing(settings: dict[str, Any], checksums: dict, evaluator_options: dict) -> dict[str, Any]:
    """What would produce a cell now: the system's ``settings`` (an encoder's :func:`encoder_settings`, a lexical
    system's length tokenizer), the data checksums and the evaluator options."""
    return {**settings, "dataset_checksums": dict(checksums or {}), "evaluator_options": dict(evaluator_options or {})}


def differences(record: ResultRecord, expected: dict[str, Any]) -> list[str]:
    """``key: recorded → now`` for every key in ``expected`` that the record does not match (empty: reusable)."""
    out = []
    for key, want in expected.items():
        have = record.meta.get(key, LEGACY_DEFAULTS.get(key))
        if have != want:
            out.append(f"{key}: {_short(have)} → {_short(want)}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
