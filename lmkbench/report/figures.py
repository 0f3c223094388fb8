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
import matplotlib.patches
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .tables import Cell

LIGHT = 0.35      # alpha of points and lines of buckets too small to test (n < min_n)

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


class Drawn(str):
    """A figure's ``data:`` URI (a str) that also says where its y-axis starts (``y_low``), so a caption
    can say when it is not 0."""

    y_low: float | None = None

    @classmethod
    def of(cls, uri: str, ax=None) -> "Drawn":
        out = cls(uri)
        out.y_low = float(ax.get_ylim()[0]) if ax is not None else None
        return out

    @property
    def y_from_zero(self) -> bool:
        return self.y_low is None or self.y_low <= 0


def _y_note(ax) -> None:
    low = ax.get_ylim()[0]
    if low > 0:
        ax.annotate(f"y-axis starts at {low:.2f}, not 0", xy=(0, 0), xycoords="axes fraction", xytext=(2, 2),
                    textcoords="offset points", fontsize=7, color="#8a5a00")


def limit_position(limit: float, values: Sequence[float]) -> float | None:
    """Where ``limit`` falls on a categorical axis of increasing ``values`` (interpolated in log2); None when
    outside them."""
    v = [float(x) for x in values]
    if not v or limit < v[0] or limit > v[-1]:
        return None
    for i, (a, b) in enumerate(zip(v, v[1:])):
        if a <= limit <= b:
            return i + (np.log2(limit / a) / np.log2(b / a) if b > a else 0.0)
    return float(len(v) - 1)


def line_figure(labels: Sequence[str], ns: Sequence[int], series: Mapping[str, Sequence[Cell]],
                colors: Mapping[str, str], *, xlabel: str, ylabel: str, baseline: str | None = None,
                fmt: str = "svg", small: Sequence[bool] | None = None, limit_at: float | None = None,
                limit_label: str = "") -> Drawn:
    """Score per bin, one line per pooling with its CI as a band; ``n`` under each x tick label.

    Bins flagged ``small`` (too few items to test) are drawn light, with a hollow marker and no band, so a
    wide interval of a handful of items is not the loudest thing on the figure. ``limit_at`` (a position on
    the x axis) draws the limit named by ``limit_label`` (the max length texts are cut at) as a vertical line. A y-axis that does not start at 0
    says so on the figure (and :class:`Drawn` tells the caption)."""
    small = list(small) if small is not None else [False] * len(labels)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(4.8, 0.95 * len(labels) + 2.2), 3.3))
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        light = np.array(small, dtype=bool)
        for pooling, cells in series.items():
            mean = np.array([c.mean if c.mean is not None else np.nan for c in cells], dtype=float)
            lo = np.array([c.lo if c.lo is not None else np.nan for c in cells], dtype=float)
            hi = np.array([c.hi if c.hi is not None else np.nan for c in cells], dtype=float)
            style = "--" if pooling == baseline else "-"
            label = f"{pooling} (baseline)" if pooling == baseline else pooling
            color = colors[pooling]
            solid = np.where(light, np.nan, mean)
            ax.plot(x, solid, style, marker="o", ms=4, lw=1.6, color=color, label=label)
            if light.any():
                ax.plot(x, mean, ":", lw=1.0, color=color, alpha=LIGHT)
                ax.plot(x[light], mean[light], "o", ms=4, mfc="white", color=color, alpha=LIGHT + 0.2)
            ax.fill_between(x, np.where(light, np.nan, lo), np.where(light, np.nan, hi), color=color, alpha=0.15,
                            lw=0)
        ax.set_xticks(x, [f"{lab}\nn={n}" + (" (few)" if sm else "") for lab, n, sm in zip(labels, ns, small)])
        ax.set_xlim(-0.3, len(labels) - 0.7)
        if limit_at is not None:
            ax.axvline(limit_at, color="#8a5a00", lw=1.2, ls="-.")
            ax.annotate(limit_label or "max length", xy=(limit_at, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=7, color="#8a5a00")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        _y_note(ax)
        return Drawn.of(to_data_uri(fig, fmt), ax)


def delta_figure(labels: Sequence[str], series: Mapping[str, Mapping[str, Sequence[dict | None]]],
                 *, baseline: str, fmt: str = "svg") -> Drawn:
    """Δ against the baseline per length bucket: one panel per pooling, one line per task. Filled markers:
    significant after correction; hollow: not; light: too few pairs to test."""
    from ..order import task_order

    titles = sorted({t for lines in series.values() for t in lines}, key=task_order)
    colors = palette(titles)
    n = len(series)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(5.5, 3.6 * n + 1.6), 3.2), layout="constrained")
        axes = fig.subplots(1, n, squeeze=False, sharey=True)[0]
        x = np.arange(len(labels))
        for ax, (pooling, lines) in zip(axes, series.items()):
            ax.axhline(0, color="#555555", lw=0.8)
            for title, pts in lines.items():
                y = np.array([np.nan if p is None else p["diff"] for p in pts], dtype=float)
                small = np.array([p is not None and p["small"] for p in pts])
                marked = np.array([p is not None and p["marked"] for p in pts])
                c = colors[title]
                ax.plot(x, np.where(small, np.nan, y), "-", lw=1.3, color=c, label=title)
                ax.plot(x, y, ":", lw=0.8, color=c, alpha=LIGHT)
                big = ~small & ~np.isnan(y)
                ax.plot(x[big & marked], y[big & marked], "o", ms=5, color=c)
                ax.plot(x[big & ~marked], y[big & ~marked], "o", ms=5, mfc="white", color=c)
                ax.plot(x[small], y[small], "o", ms=4, mfc="white", color=c, alpha=LIGHT)
            ax.set_title(f"{pooling} − {baseline}")
            ax.set_xticks(x, labels, rotation=30, fontsize=7)
            ax.set_xlabel("document length (tokens)")
            ax.grid(axis="y", color="#dddddd", lw=0.6)
        axes[0].set_ylabel("Δ score vs baseline")
        # one legend for every panel: a task drawn in any panel is listed once, in the order first drawn
        handles = {}
        for ax in axes:
            for h, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, h)
        order = [t for t in titles if t in handles]
        fig.legend([handles[t] for t in order], order, frameon=False, fontsize=7, loc="outside right center")
        return Drawn.of(to_data_uri(fig, fmt), None)


def heatmap_figure(row_labels: Sequence[str], col_labels: Sequence[str], grids: Mapping[str, np.ndarray],
                   counts: Mapping[str, np.ndarray], *, metric: str, ylabel: str = "target length (tokens)",
                   xlabel: str = "needle depth", fmt: str = "svg",
                   beyond: Mapping[str, np.ndarray] | None = None) -> str:
    """One heatmap per pooling (rows: target lengths, columns: depth bins), same 0..1 colour scale;
    each cell shows its mean and n, empty cells are grey. Cells flagged in ``beyond`` (every needle there
    lies past the max length and was cut away) are greyed out and hatched: they measure
    truncation, not pooling."""
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
            past = beyond.get(pooling) if beyond else None
            for (i, j), v in np.ndenumerate(grid):
                if np.isnan(v):
                    continue
                if past is not None and past[i, j]:
                    ax.add_patch(matplotlib.patches.Rectangle((j, i), 1, 1, facecolor="#d0d0d0", edgecolor="white",
                                                              hatch="///", linewidth=0.5))
                    ax.text(j + 0.5, i + 0.5, f"{v:.2f}\npast max\nlength", ha="center", va="center", fontsize=6,
                            color="#666666")
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
