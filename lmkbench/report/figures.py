"""Figures of the report, drawn with matplotlib and returned as ``data:`` URIs to inline in the HTML.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot, so no global state and no GUI
backend): PNG goes through the Agg canvas, SVG through matplotlib's SVG backend with text kept as text
(``svg.fonttype = none``: small files, crisp at any zoom) and a fixed hash salt and no date, so the same
results give byte-identical figures. A ``data:`` URI in an ``<img>`` keeps the report one file that opens
from disk, and anything inside an image (e.g. odd task names) can never run as script in the page.
"""
from __future__ import annotations

import base64
import io
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .tables import Cell

FORMATS = ("svg", "png")
_RC = {"svg.fonttype": "none", "svg.hashsalt": "lmkbench", "font.size": 9, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False, "font.family": "DejaVu Sans"}
_MIME = {"svg": "image/svg+xml", "png": "image/png"}


def palette(poolings: Sequence[str]) -> dict[str, str]:
    """One colour per pooling, the same in every figure of a report (tab10, then tab20)."""
    colors = list(matplotlib.colormaps["tab10"].colors) + list(matplotlib.colormaps["tab20"].colors[1::2])
    return {p: matplotlib.colors.to_hex(colors[i % len(colors)]) for i, p in enumerate(poolings)}


def to_data_uri(fig: Figure, fmt: str = "svg") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {FORMATS}, got {fmt!r}")
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=110, metadata=metadata)
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def line_figure(labels: Sequence[str], ns: Sequence[int], series: Mapping[str, Sequence[Cell]],
                colors: Mapping[str, str], *, xlabel: str, ylabel: str, baseline: str | None = None,
                fmt: str = "svg") -> str:
    """Score per bin, one line per pooling with its CI as a band; ``n`` under each x tick label."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(4.8, 0.95 * len(labels) + 2.2), 3.3))
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        for pooling, cells in series.items():
            mean = np.array([c.mean if c.mean is not None else np.nan for c in cells], dtype=float)
            lo = np.array([c.lo if c.lo is not None else np.nan for c in cells], dtype=float)
            hi = np.array([c.hi if c.hi is not None else np.nan for c in cells], dtype=float)
            style = "--" if pooling == baseline else "-"
            label = f"{pooling} (baseline)" if pooling == baseline else pooling
            ax.plot(x, mean, style, marker="o", ms=4, lw=1.6, color=colors[pooling], label=label)
            ax.fill_between(x, lo, hi, color=colors[pooling], alpha=0.15, lw=0)
        ax.set_xticks(x, [f"{lab}\nn={n}" for lab, n in zip(labels, ns)])
        ax.set_xlim(-0.3, len(labels) - 0.7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        return to_data_uri(fig, fmt)


def heatmap_figure(row_labels: Sequence[str], col_labels: Sequence[str], grids: Mapping[str, np.ndarray],
                   counts: Mapping[str, np.ndarray], *, metric: str, ylabel: str = "target length (tokens)",
                   xlabel: str = "needle depth", fmt: str = "svg") -> str:
    """One heatmap per pooling (rows: target lengths, columns: depth bins), same 0..1 colour scale;
    each cell shows its mean and n, empty cells are grey."""
    n_pool = len(grids)
    ncols = min(3, n_pool)
    nrows = (n_pool + ncols - 1) // ncols
    cell_w, cell_h = 0.55, 0.36
    width = ncols * (cell_w * len(col_labels) + 1.0) + 0.8
    height = nrows * (cell_h * len(row_labels) + 1.1)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(width, 4.5), max(height, 2.2)), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#e6e6e6")
        mesh = None
        for k, (ax, (pooling, grid)) in enumerate(zip(axes.flat, grids.items())):
            mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=1.0,
                                 edgecolors="white", linewidth=0.5)
            n = counts[pooling]
            for (i, j), v in np.ndenumerate(grid):
                if np.isnan(v):
                    continue
                ax.text(j + 0.5, i + 0.5, f"{v:.2f}\nn={int(n[i, j])}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
            ax.set_xticks(np.arange(len(col_labels)) + 0.5, col_labels, fontsize=7)
            ax.set_yticks(np.arange(len(row_labels)) + 0.5, row_labels, fontsize=7)
            ax.set_title(pooling)
            ax.set_xlabel(xlabel)
            if k % ncols == 0:
                ax.set_ylabel(ylabel)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        for ax in list(axes.flat)[n_pool:]:
            ax.set_visible(False)
        if mesh is not None:
            fig.colorbar(mesh, ax=axes, shrink=0.8, label=metric)
        return to_data_uri(fig, fmt)
