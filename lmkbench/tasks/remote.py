"""Loaders that fetch data over a network: ``beir-download`` (BEIR's zips) and ``mteb`` (any mteb task).

Both are listed as ``network`` by ``lmkbench tasks`` until their data is local. This module imports
:mod:`~lmkbench.tasks.loaders` (the base class), never the other way round; :mod:`lmkbench.tasks.registry`
imports both. They exist for users with
a network and a GPU (the ``paper`` suite); offline they fail with one clear message.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import LmkbenchError
from ..params import REQUIRED, Param, to_str, to_str_list
from .loaders import Loader, _option_suffix, beir_availability, beir_sources, register_loader


@register_loader
class BeirDownloadLoader(Loader):
    """a BEIR dataset fetched with beir.util.download_and_unzip into $LMKBENCH_DATA/beir (once)"""

    name = "beir-download"
    params = {"dataset": Param(to_str, REQUIRED, "BEIR name, e.g. scifact, msmarco, cqadupstack/android"),
              "split": Param(to_str, "test", "qrels split (msmarco: dev)"),
              "url": Param(to_str, None, "zip URL (default: BEIR's public mirror)"),
              "data_dir": Param(to_str, None, "download folder (default $LMKBENCH_DATA/beir)")}
    path_params = ("data_dir",)
    spec_help = "beir-download:NAME[#split]"

    def folder(self) -> Path:
        from ..data.beir_download import beir_folder

        return beir_folder(self.p["dataset"], self.p["data_dir"])

    def sources(self):
        return beir_sources(self.folder(), self.p["split"])

    def availability(self):
        if self.folder().is_dir():
            return beir_availability(self.folder(), self.p["split"])
        from ..data.beir_download import BEIR_URL

        return "network", f"downloads {self.p['url'] or BEIR_URL.format(name=self.p['dataset'].split('/')[0])}"

    def prepare(self):
        from ..data.beir_download import download_beir

        download_beir(self.p["dataset"], data_dir=self.p["data_dir"], url=self.p["url"])

    def describe(self):
        return f"beir-download:{self.p['dataset']}#{self.p['split']}"

    def load(self, tokenizer=None):
        from ..data.beir import load_beir_folder

        self.prepare()
        data = load_beir_folder(self.folder(), self.p["split"])
        data.source = f"{self.describe()} ({self.folder()})"
        return data

    @classmethod
    def from_spec(cls, arg, options):
        dataset, _, split = arg.partition("#")
        if not dataset:
            raise LmkbenchError("beir-download: name a dataset, e.g. beir-download:scifact")
        split = split or "test"
        name = dataset.replace("/", "_") + ("" if split == "test" else f"-{split}")
        return [{"name": name + _option_suffix(options), "params": {"dataset": dataset, "split": split, **options}}]


@register_loader
class MtebLoader(Loader):
    """any mteb retrieval / classification / clustering task (mteb.get_task(NAME).load_data(): network)"""

    name = "mteb"
    kinds = ("retrieval", "classification", "clustering")
    params = {"task": Param(to_str, None, "mteb task name, e.g. SciFact, LEMBQMSumRetrieval"),
              "task_class": Param(to_str, None, "instead of a name: 'module:Class' of a custom mteb task"),
              "split": Param(to_str, None, "eval split (default: the task's first)"),
              "hf_subset": Param(to_str, None, "subset of a multilingual task, e.g. en"),
              "languages": Param(to_str_list, None, "mteb language filter, e.g. eng")}
    spec_help = "mteb:NAME[#split][?hf_subset=en]"

    def __init__(self, **params):
        super().__init__(**params)
        if not (self.p["task"] or self.p["task_class"]):
            raise LmkbenchError("loader 'mteb' needs parameter 'task' (an mteb task name) or 'task_class'")

    def availability(self):
        if self.p["task_class"]:
            return "yes", ""
        offline = os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1"
        return "network", f"mteb {self.p['task']} from the Hugging Face hub" + (" (offline now)" if offline else "")

    def describe(self):
        return f"mteb:{self.p['task'] or self.p['task_class']}" + (f"#{self.p['split']}" if self.p["split"] else "")

    def kind(self):
        from ..data.mteb_loader import get_mteb_task, mteb_kind

        return mteb_kind(get_mteb_task(self.p["task"], task_class=self.p["task_class"]))

    def load(self, tokenizer=None):
        from ..data.mteb_loader import load_mteb_task

        p = self.p
        return load_mteb_task(p["task"], task_class=p["task_class"], split=p["split"], hf_subset=p["hf_subset"],
                              languages=p["languages"])

    @classmethod
    def from_spec(cls, arg, options):
        task, _, split = arg.partition("#")
        if not task:
            raise LmkbenchError("mteb: name a task, e.g. mteb:SciFact")
        name = task + (f"-{split}" if split else "") + _option_suffix(options)
        return [{"name": name, "params": {"task": task, "split": split or None, **options}}]
