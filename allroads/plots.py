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


# --------------------------------------------------------------------------- the RM study

RM_LABELS = {"global": "Global RM", "local": "Local RM", "dpo": "DPO RM"}
RM_COLORS = {"global": "tab:blue", "local": "tab:orange", "dpo": "tab:green"}


def _save(fig, outputs: list[str]) -> None:
    fig.tight_layout()
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip("."), dpi=150)
    plt.close(fig)


def rm_fit_bars(table: pd.DataFrame, outputs: list[str]) -> None:
    """Figure 9: held-out Bradley–Terry log-likelihood and accuracy of each RM kind, grouped by
    model size; error bars ± s.e. over seeds."""
    metrics = [m for m in ("loglik", "acc_labels", "acc_rstar") if m in table]
    names = {"loglik": "BT log-likelihood", "acc_labels": "accuracy (labels)",
             "acc_rstar": "accuracy (r*)"}  # fmt: skip
    sizes = list(dict.fromkeys(table["size"]))
    kinds = list(dict.fromkeys(table["rm"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 1.5, 3.2))
    width = 0.8 / len(kinds)
    for ax, m in zip(axes, metrics, strict=True):
        for i, k in enumerate(kinds):
            sub = table[table["rm"] == k].set_index("size").reindex(sizes)
            xs = [j + (i - (len(kinds) - 1) / 2) * width for j in range(len(sizes))]
            ax.bar(xs, sub[m], width, yerr=sub[f"{m}_se"].fillna(0), capsize=3,
                   label=RM_LABELS.get(k, k), color=RM_COLORS.get(k))  # fmt: skip
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_title(names[m], fontsize=10)
        if m != "loglik":
            ax.set_ylim(0.4, 1.0)
            ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    pairs = int(table["val_pairs"].max())
    seeds = int(table["seeds"].max())
    axes[-1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    title=f"{pairs} pairs, {seeds} seed(s), ± s.e.", title_fontsize=8)  # fmt: skip
    _save(fig, outputs)


def bon_curves(table: pd.DataFrame, outputs: list[str], title: str) -> None:
    """Figure 10: BoN winrate against N, one panel per (size, generator), a line per RM kind;
    error bars: the 95% paired-bootstrap interval over prompts. A second row shows r* when
    the table has it."""
    gen_order = {g: i for i, g in enumerate(LABELS)}  # SFT first, as in the paper
    panels = sorted(
        set(zip(table["size"], table["generator"], strict=True)),
        key=lambda p: (p[0], gen_order.get(p[1], 99)),
    )
    has_r = "true_reward" in table
    rows = 2 if has_r else 1
    fig, axes = plt.subplots(rows, len(panels), figsize=(3.4 * len(panels) + 1.5, 3.0 * rows),
                             squeeze=False)  # fmt: skip
    for j, (size, gen) in enumerate(panels):
        sub = table[(table["size"] == size) & (table["generator"] == gen)]
        for kind in sorted(set(sub["rm"]), key=lambda k: list(RM_LABELS).index(k)):
            g = sub[sub["rm"] == kind].sort_values("n")
            color = RM_COLORS.get(kind)
            yerr = [100 * (g["winrate"] - g["ci_low"]), 100 * (g["ci_high"] - g["winrate"])]
            axes[0, j].errorbar(g["n"], 100 * g["winrate"], yerr=[e.clip(lower=0) for e in yerr],
                                marker="o", capsize=3, label=RM_LABELS.get(kind, kind),
                                color=color)  # fmt: skip
            if has_r:
                axes[1, j].errorbar(g["n"], g["true_reward"], yerr=g["true_reward_se"].fillna(0),
                                    marker="o", capsize=3, color=color)  # fmt: skip
        axes[0, j].set_title(f"{size}, samples from {LABELS.get(gen, gen)}", fontsize=9)
        for ax in axes[:, j]:
            ax.set_xscale("log")
            ax.set_xticks(sorted(sub["n"].unique()), [str(n) for n in sorted(sub["n"].unique())])
            ax.set_xlabel("N")
    axes[0, 0].set_ylabel("winrate vs. reference (%)")
    if has_r:
        axes[1, 0].set_ylabel("true reward r*")
    axes[0, -1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       title="95% CI (prompts)", title_fontsize=8)  # fmt: skip
    fig.suptitle(title, fontsize=10)
    _save(fig, outputs)


def rm_size_bars(
    table: pd.DataFrame, outputs: list[str], title: str, order: list[str] | None = None
) -> None:
    """Figure 4: BoN winrate per policy size (groups), one bar per global RM size, sizes in
    ``order`` (the config's); error bars: the 95% paired-bootstrap interval over prompts."""
    rank = {s: i for i, s in enumerate(order or [])}
    sizes = sorted(dict.fromkeys(table["size"]), key=lambda s: rank.get(s, len(rank)))
    rm_sizes = sorted(dict.fromkeys(table["rm_size"]), key=lambda s: rank.get(s, len(rank)))
    fig, ax = plt.subplots(figsize=(3.0 + 1.0 * len(sizes) * len(rm_sizes) / 2, 3.4))
    width = 0.8 / len(rm_sizes)
    for i, r in enumerate(rm_sizes):
        sub = table[table["rm_size"] == r].set_index("size").reindex(sizes)
        xs = [j + (i - (len(rm_sizes) - 1) / 2) * width for j in range(len(sizes))]
        yerr = [100 * (sub["winrate"] - sub["ci_low"]), 100 * (sub["ci_high"] - sub["winrate"])]
        ax.bar(xs, 100 * sub["winrate"], width, yerr=[e.fillna(0).clip(lower=0) for e in yerr],
               capsize=3, label=f"RM {r}")  # fmt: skip
    ax.set_xticks(range(len(sizes)), [f"policy {s}" for s in sizes])
    ax.set_ylabel("BoN winrate vs. reference (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="95% CI (prompts)", title_fontsize=8)  # fmt: skip
    _save(fig, outputs)
