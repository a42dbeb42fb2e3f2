"""Plots of plan-model training (matplotlib, headless): written into the artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_learning_curve(history: dict, path: Path, title: str) -> None:
    """Loss and accuracy per epoch, training set against the held-out test set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    for ax, key, label in ((axes[0], "loss", "loss (BCE)"), (axes[1], "accuracy", "accuracy")):
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="held-out test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
