"""PNG figures for the report (matplotlib, headless): training curves, the held-out learning curve,
accuracy by category and stage, equilibrium rate by game."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

# (log key, panel title, y label) for GRPO curves, after the paper's Figure 2.
GRPO_PANELS: list[tuple[str, str, str]] = [
    ("reward", "GRPO mean reward", "reward (hierarchical, −5…+5)"),
    ("completions/mean_length", "GRPO completion length", "tokens"),
    ("grade/format_rate", "GRPO format rate", "share of completions"),
    ("signal/fraction_drawn", "GRPO groups with signal (drawn)", "share of groups with reward variance"),
]


def _pyplot():
    from recon.errors import require

    matplotlib = require("matplotlib", "report", "the report's figures")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(log: Sequence[Mapping], key: str) -> tuple[list[float], list[float]]:
    points = [(row["step"], row[key]) for row in log if key in row and "step" in row and row[key] is not None]
    return [p[0] for p in points], [p[1] for p in points]


def plot_training_curves(sft_log: Sequence[Mapping], grpo_log: Sequence[Mapping], path: Path) -> Path | None:
    """SFT loss and GRPO reward / completion length / format rate against the optimizer step."""
    panels = [(sft_log, "loss", "SFT training loss", "cross-entropy (nats/token)")]
    panels += [(grpo_log, key, title, ylabel) for key, title, ylabel in GRPO_PANELS]
    panels = [p for p in panels if _series(p[0], p[1])[0]]
    if not panels:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (log, key, title, ylabel) in zip(axes[0], panels):
        xs, ys = _series(log, key)
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5)
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(ylabel)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_grouped_bars(
    values: Mapping[str, Mapping[str, float | None]],
    path: Path,
    title: str,
    ylabel: str,
    xlabel: str,
    reference: Mapping[str, float | None] | None = None,
    reference_label: str = "best trivial baseline",
) -> Path | None:
    """Grouped bars: one group per x key (category, game), one bar per series (stage, model).

    `values` maps series → x → value in [0, 1]; `reference` draws a marker per x (e.g. a baseline)."""
    series = list(values)
    xs = sorted({x for s in series for x in values[s]})
    if not xs:
        return None
    plt = _pyplot()
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.25 * len(xs) * max(len(series), 1) + 2)), 4.5))
    for i, name in enumerate(series):
        heights = [100 * (values[name].get(x) or 0.0) for x in xs]
        ax.bar([j + (i - (len(series) - 1) / 2) * width for j in range(len(xs))], heights, width, label=name)
    if reference:
        ref = [(j, 100 * reference[x]) for j, x in enumerate(xs) if reference.get(x) is not None]
        if ref:
            ax.scatter([r[0] for r in ref], [r[1] for r in ref], marker="_", s=400, color="black", label=reference_label, zorder=3)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs, rotation=35, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_learning_curve(curves: Mapping[str, Sequence[tuple[int, float]]], path: Path, baseline: Mapping | None = None) -> Path:
    """Held-out accuracy against the optimizer step, one line per training stage (GRPO's steps continue
    after SFT's last); `baseline` ({name, accuracy}) as a dashed line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    offset = 0
    for stage, points in curves.items():
        xs = [offset + step for step, _ in points]
        ax.plot(xs, [100 * acc for _, acc in points], marker="o", markersize=3, linewidth=1.5, label=stage)
        offset = max(xs)
    if baseline:
        ax.axhline(100 * baseline["accuracy"], color="black", linestyle="--", linewidth=1,
                   label=f"best baseline ({baseline['name']}, full verified eval)")
    ax.set_title("Held-out verified accuracy during training")
    ax.set_xlabel("optimizer step (GRPO after SFT)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
