"""Fetch a BEIR dataset with BEIR's own download utility, once, into a local cache folder.

``beir.util.download_and_unzip`` writes straight to its final paths, so an interrupted download leaves a
half-written zip that the next call would trust. Here it runs inside a private temporary folder and the
unpacked dataset is moved into place with one rename, so the cache holds either a whole dataset or none.
The zip's sha256 is recorded next to it (``<dataset>.zip.sha256``) for provenance.

Names are BEIR's (``scifact``, ``msmarco``, ``nfcorpus``, ...); ``cqadupstack/android`` means the
``android`` folder inside ``cqadupstack.zip``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import LmkbenchError
from ..io import atomic_write_text, sha256_file

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"


def default_data_dir() -> Path:
    """``$LMKBENCH_DATA`` or ``~/.cache/lmkbench/data``: where downloaded datasets live."""
    env = os.environ.get("LMKBENCH_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lmkbench" / "data"


def beir_folder(name: str, data_dir=None) -> Path:
    """Where dataset ``name`` is (or will be) once downloaded."""
    return Path(data_dir or default_data_dir() / "beir") / name


def download_beir(name: str, *, data_dir=None, url: str | None = None) -> Path:
    """The local folder of BEIR dataset ``name``, downloading and unpacking it first when absent."""
    folder = beir_folder(name, data_dir)
    if folder.is_dir():
        return folder
    archive = name.split("/")[0]
    root = Path(data_dir or default_data_dir() / "beir")
    root.mkdir(parents=True, exist_ok=True)
    url = url or BEIR_URL.format(name=archive)
    try:
        from beir import util as beir_util
    except ImportError:
        raise LmkbenchError("beir-download tasks need the 'beir' package (pip install beir)") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{archive}.", dir=root))
    try:
        try:
            unpacked = Path(beir_util.download_and_unzip(url, str(tmp)))
        except Exception as exc:  # requests/zipfile errors: say what failed and where from
            raise LmkbenchError(f"could not download BEIR dataset {archive!r} from {url}: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                                "(beir-download needs a network)") from None
        if not unpacked.is_dir():
            raise LmkbenchError(f"{url}: the archive did not unpack to a folder named {archive!r}")
        zip_file = tmp / f"{archive}.zip"
        target = root / archive
        if not target.exists():
            os.replace(unpacked, target)
        if zip_file.exists():
            atomic_write_text(root / f"{archive}.zip.sha256", f"{sha256_file(zip_file)}  {archive}.zip  {url}\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not folder.is_dir():
        raise LmkbenchError(f"BEIR archive {archive!r} has no folder {name!r} (looked for {folder})")
    return folder
