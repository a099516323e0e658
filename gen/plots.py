"""Figures of trade-offs (matplotlib, no pyplot state): scatter plots with a highlighted Pareto front,
per-layer sensitivity, and a whole-or-nothing PNG writer.

Every function builds and returns a :class:`matplotlib.figure.Figure`; nothing is shown or kept
globally, so figures can be made from worker threads and tested. The artists carry ids
(``Artist.get_gid()``) naming what they draw, so a test or a report can read back exactly the
data a figure shows: ``"points"`` (every point), ``"front"`` (the front's markers, in front
order), ``"front-line"`` (the staircase joining them), ``"macs"`` (bars of MAC
share), ``"reference"`` (a reference line) and ``"sensitivity:<label>"`` (one line per option).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

FRONT_COLOR = "tab:red"
POINT_COLOR = "0.6"


def figure(width: float = 6.4, height: float = 4.4):
    """A new figure with one axes, and the axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def front_scatter(ax, x: Sequence[float], y: Sequence[float], front: Sequence[int], *, xerr=None,
                  labels: Sequence[str] | None = None, maximize_y: bool = True) -> None:
    """Draw every point, and the front (indices into ``x``/``y``) highlighted and joined.

    The front's staircase goes through its points in order of ``x``; with ``maximize_y`` a point
    is a step up-right (more ``y`` for more ``x``), else down-right. ``labels`` annotate the
    front's points; ``xerr`` draws horizontal error bars (e.g. an energy's sampling error).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ax.scatter(x, y, s=14, color=POINT_COLOR, zorder=2, label="evaluated points", gid="points")
    if xerr is not None:
        ax.errorbar(x, y, xerr=np.asarray(xerr, dtype=float), fmt="none", ecolor=POINT_COLOR, elinewidth=0.8,
                    zorder=1)
    f = list(front)
    if f:
        ax.scatter(x[f], y[f], s=30, color=FRONT_COLOR, zorder=3, label="Pareto front", gid="front")
        order = sorted(f, key=lambda i: (x[i], -y[i] if maximize_y else y[i]))
        (line,) = ax.step(x[order], y[order], where="post", color=FRONT_COLOR, linewidth=1.0, zorder=2)
        line.set_gid("front-line")
        for i in f if labels is not None else []:
            ax.annotate(labels[i], (x[i], y[i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="best", fontsize=8)


def tradeoff_figure(x, y, front, *, xlabel: str, ylabel: str, title: str = "", xerr=None, labels=None,
                    maximize_y: bool = True):
    """A figure of :func:`front_scatter`."""
    fig, ax = figure()
    front_scatter(ax, x, y, front, xerr=xerr, labels=labels, maximize_y=maximize_y)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def sensitivity_figure(layers: Sequence[str], macs: Sequence[int], reference: float | None,
                       curves: dict[str, Sequence[float | None]], *, title: str = ""):
    """Accuracy with one layer changed at a time (thesis Fig. 5.7): one line per option over the
    layers, the all-exact accuracy as a line, and each layer's share of the MACs as grey bars."""
    fig, ax = figure(max(7.4, 0.9 * len(layers) + 3), 4.4)
    pos = np.arange(len(layers))
    share = np.asarray(macs, dtype=float) / max(1.0, float(np.sum(macs)))
    bx = ax.twinx()
    bx.bar(pos, share, color="0.85", zorder=0, gid="macs")
    bx.set_ylabel("share of MACs")
    bx.set_ylim(0, max(1.0, share.max() * 1.05))
    ax.set_zorder(bx.get_zorder() + 1)
    ax.patch.set_visible(False)
    for label, acc in curves.items():
        ys = np.array([np.nan if a is None else a for a in acc], dtype=float)
        (line,) = ax.plot(pos, ys, marker="o", markersize=3, linewidth=1.0, label=label)
        line.set_gid(f"sensitivity:{label}")
    if reference is not None:
        ax.axhline(reference, color="k", linestyle="--", linewidth=0.8, label="all exact", gid="reference")
    ax.set_xticks(pos, list(layers), rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("top-1 accuracy")
    ax.grid(True, axis="y", linewidth=0.3)
    fig.legend(loc="outside right upper", fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def artist_data(fig, gid: str) -> np.ndarray:
    """The ``(n, 2)`` data of what ``fig`` draws with id ``gid``: scatter offsets, line vertices, or
    bar centres and heights."""
    for ax in fig.axes:
        bars = [p for p in ax.patches if p.get_gid() == gid]
        if bars:
            return np.array([[p.get_x() + p.get_width() / 2, p.get_height()] for p in bars], dtype=float)
        for a in (*ax.collections, *ax.lines):
            if a.get_gid() == gid:
                data = a.get_offsets() if hasattr(a, "get_offsets") else a.get_xydata()
                return np.asarray(data, dtype=float)
    raise KeyError(f"no artist with gid {gid!r}")


def png_bytes(fig, dpi: int = 150) -> bytes:
    """The figure as PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_png(fig, path: str | Path, dpi: int = 150) -> None:
    """Write the figure to ``path`` whole or not at all."""
    from ..util import atomic_output

    data = png_bytes(fig, dpi)
    with atomic_output(path, "wb") as f:
        f.write(data)


__all__ = ["artist_data", "figure", "front_scatter", "png_bytes", "save_png", "sensitivity_figure",
           "tradeoff_figure"]
