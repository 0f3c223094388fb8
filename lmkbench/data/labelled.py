"""Labelled text sets (classification, clustering) from a jsonl file, plus a seeded stratified split.

A row is ``{"text": ..., "label": ..., "split": ..., "_id": ...}`` (field names configurable); ``split`` and
the id are optional. The loader is strict where mistakes would silently change results (missing label,
non-string text, duplicate ids, a split field on only some rows) and lenient where real data is untidy
(empty texts are kept and counted: one mini-newsgroups message has an empty body, and dropping it would
change the item count that results are compared on).

Without a split field every row belongs to ``eval_split`` (clustering uses all of them); a classifier then
needs :func:`stratified_split`, which is deterministic for a seed on every platform because it only uses
sorting and :class:`random.Random` (no numpy/sklearn stream whose algorithm might change between versions).
"""
from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Hashable, Sequence

from ..errors import InputError, LmkbenchError
from ..io import sha256_file
from .files import jsonl_rows
from .types import LabelledData


def load_labelled_jsonl(
    path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    split_field: str = "split",
    id_field: str = "_id",
    eval_split: str = "test",
    train_split: str = "train",
    name: str | None = None,
    title_field: str | None = None,
) -> LabelledData:
    """Read a ``.jsonl`` / ``.jsonl.gz`` file of labelled texts.

    ``title_field`` (e.g. AG News' ``title``) is prepended to the text as ``"title. text"`` (no extra period
    when the title already ends in punctuation), the usual way AG News is embedded.
    Labels may be strings or integers (integers become strings). Rows without an id get ``line<N>``.
    ``info`` records row/label/split counts, ``empty_texts`` and whether the file had a split field;
    ``checksums`` maps the file path to its sha256.
    """
    path = Path(path)
    ids: list[str] = []
    texts: list[str] = []
    labels: list[str] = []
    split_of: list[str | None] = []
    lines: list[int] = []
    seen_ids: dict[str, int] = {}
    for lineno, row in jsonl_rows(path, "labelled data file"):
        text = _text(row, text_field, path, lineno)
        if title_field is not None:
            text = _join_title(_text(row, title_field, path, lineno), text)
        label = _label(row, label_field, path, lineno)
        split = None
        if split_field in row:
            split = row[split_field]
            if not isinstance(split, str) or not split:
                raise InputError(f"expected a non-empty string, got {split!r}", file=path, line=lineno,
                                 field=split_field)
        item_id = row.get(id_field)
        if item_id is None:
            item_id = f"line{lineno}"
        elif isinstance(item_id, (int, str)) and not isinstance(item_id, bool):
            item_id = str(item_id)
        else:
            raise InputError(f"expected a string or integer id, got {type(item_id).__name__}", file=path,
                             line=lineno, field=id_field)
        if item_id in seen_ids:
            raise InputError(f"duplicate id {item_id!r} (first seen on line {seen_ids[item_id]})", file=path,
                             line=lineno, field=id_field)
        seen_ids[item_id] = lineno
        ids.append(item_id)
        texts.append(text)
        labels.append(label)
        split_of.append(split)
        lines.append(lineno)
    if not ids:
        raise InputError("no rows", file=path)

    has_split = [s is not None for s in split_of]
    if any(has_split) and not all(has_split):
        first_missing = lines[has_split.index(False)]
        raise InputError("missing (other rows have it; give it on every row or on none)", file=path,
                         line=first_missing, field=split_field)
    if all(has_split):
        splits: dict[str, list[int]] = {}
        for i, s in enumerate(split_of):
            splits.setdefault(s, []).append(i)
        if eval_split not in splits:
            raise LmkbenchError(f"{path}: eval split {eval_split!r} not found; the file has splits "
                                f"{sorted(splits)}")
    else:
        splits = {eval_split: list(range(len(ids)))}

    return LabelledData(
        name=name or _stem(path),
        ids=ids,
        texts=texts,
        labels=labels,
        splits=splits,
        eval_split=eval_split,
        checksums={str(path): sha256_file(path)},
        source=str(path),
        info={
            "rows": len(ids),
            "empty_texts": sum(1 for t in texts if not t.strip()),
            "labels": dict(sorted(Counter(labels).items())),
            "split_sizes": {k: len(v) for k, v in splits.items()},
            "has_split_field": all(has_split),
            "train_split": train_split if train_split in splits else None,
            "text_field": text_field if title_field is None else f"{title_field}+{text_field}",
            "label_field": label_field,
        },
    )


def stratified_split(
    labels: Sequence[str],
    test_fraction: float,
    seed: int,
    *,
    groups: Sequence[Hashable] | None = None,
) -> dict[str, list[int]]:
    """Split row indices into ``{"train": [...], "test": [...]}``, keeping each label's proportion.

    Per label, ``round(n_label * test_fraction)`` rows go to test (at least one row stays on each side when
    the label has two or more rows). Rows sharing a ``groups`` key (e.g. exact duplicate articles) always
    land on the same side, so a duplicate cannot leak from train into test; groups are then assigned whole,
    so a label's test count can miss its target by less than one group. Deterministic for a seed: labels
    and groups are visited in sorted/first-seen order and shuffled with ``random.Random(f"{seed}:{label}")``.
    Returned index lists are sorted.
    """
    if not 0.0 < test_fraction < 1.0:
        raise LmkbenchError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    n = len(labels)
    if groups is not None and len(groups) != n:
        raise LmkbenchError(f"groups has {len(groups)} entries for {n} labels")
    keys = list(groups) if groups is not None else list(range(n))
    members: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    by_label: dict[str, list[Hashable]] = {}
    for k, idx in members.items():
        group_labels = {labels[i] for i in idx}
        if len(group_labels) > 1:
            raise LmkbenchError(f"group {k!r} mixes labels {sorted(group_labels)}")
        by_label.setdefault(labels[idx[0]], []).append(k)

    test: list[int] = []
    train: list[int] = []
    for label in sorted(by_label):
        group_keys = by_label[label]            # first-seen order: deterministic
        rng = random.Random(f"{seed}:{label}")
        order = list(range(len(group_keys)))
        rng.shuffle(order)
        n_label = sum(len(members[k]) for k in group_keys)
        target = round(n_label * test_fraction)
        if n_label >= 2:
            target = min(max(target, 1), n_label - 1)
        taken = 0
        for pos in order:
            idx = members[group_keys[pos]]
            overshoot = taken + len(idx) - target
            if overshoot <= 0 or overshoot < target - taken:   # fits, or lands closer to target than stopping
                test.extend(idx)
                taken += len(idx)
            else:
                train.extend(idx)
    return {"train": sorted(train), "test": sorted(test)}


def _text(row: dict, key: str, path: Path, line: int) -> str:
    if key not in row:
        raise InputError("missing", file=path, line=line, field=key)
    val = row[key]
    if not isinstance(val, str):
        raise InputError(f"expected a string, got {type(val).__name__}", file=path, line=line, field=key)
    return val


def _label(row: dict, key: str, path: Path, line: int) -> str:
    if key not in row:
        raise InputError("missing", file=path, line=line, field=key)
    val = row[key]
    if isinstance(val, int) and not isinstance(val, bool):
        return str(val)
    if not isinstance(val, str):
        raise InputError(f"expected a string or integer label, got {type(val).__name__}", file=path,
                         line=line, field=key)
    if not val.strip():
        raise InputError("empty label", file=path, line=line, field=key)
    return val


def _join_title(title: str, text: str) -> str:
    title, text = title.strip(), text.strip()
    if not title:
        return text
    if not text:
        return title
    sep = " " if re.search(r"[.!?:;]$", title) else ". "
    return f"{title}{sep}{text}"


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name
