"""Figures. Matplotlib with the Agg backend; files are written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path  # noqa: E402

LABELS = {
    "sft": "SFT",
    "dpo": "DPO",
    "dpo2x": "DPO (2x)",
    "online-sft": "Online DPO (SFT)",
    "online-dpo": "Online DPO (DPO)",
    "online-dpo2x": "Online DPO (DPO 2x)",
}


def winrate_bars(
    table: pd.DataFrame,
    policies: list[str],
    outputs: list[str],
    title: str,
    labels: dict[str, str] | None = None,
    ylabel: str | None = None,
    reference_line: bool = True,
) -> None:
    """Grouped bars: one group per model size, one bar per policy (named by ``labels``, else
    LABELS). Error bars: the 95% paired bootstrap interval over prompts (``ci_low``/``ci_high``)
    when the table has it, else the SE over seeds. ``ylabel``/``reference_line``: for a score
    other than a winrate against the reference (ROUGE-L), no 50% line."""
    names = {**LABELS, **(labels or {})}
    has_ci = "ci_low" in table
    sizes = list(dict.fromkeys(table["size"]))
    fig, ax = plt.subplots(figsize=(3.8 + 1.3 * len(policies) * len(sizes) / 2, 3.6))
    width = 0.8 / len(policies)
    for i, pol in enumerate(policies):
        sub = table[table["policy"] == pol].set_index("size").reindex(sizes)
        xs = [j + (i - (len(policies) - 1) / 2) * width for j in range(len(sizes))]
        if has_ci:
            yerr = [100 * (sub["winrate"] - sub["ci_low"]), 100 * (sub["ci_high"] - sub["winrate"])]
            yerr = [e.fillna(0).clip(lower=0) for e in yerr]
        else:
            yerr = 100 * sub["se_seeds"].fillna(0)
        ax.bar(xs, 100 * sub["winrate"], width, yerr=yerr, capsize=3, label=names.get(pol, pol))
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_ylabel(ylabel or "winrate vs. reference (%)")
    ax.set_title(title, fontsize=10)
    if reference_line:
        ax.axhline(50, color="grey", lw=0.8, ls="--", label="50%: as good as the reference")
    n_seeds = int(table["n_seeds"].max())
    bars = "95% CI (prompts)" if has_ci else "± SE"
    ax.legend(  # beside the axes: no bar, error bar or the 50% line runs through it
        fontsize=8, frameon=False, title=f"{n_seeds} seed{'s' if n_seeds > 1 else ''}, mean, {bars}", title_fontsize=8,
        loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, alignment="left",
    )  # fmt: skip
    fig.tight_layout()
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip("."), dpi=150)
    plt.close(fig)
