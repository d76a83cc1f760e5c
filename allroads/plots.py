"""Figures. Matplotlib with the Agg backend; files are written atomically."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .io import atomic_path  # noqa: E402
from .report_text import LABELS, RM_LABELS  # noqa: E402

RM_COLORS = {"global": "tab:blue", "local": "tab:orange", "dpo": "tab:green"}
SIZE_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
WIDTH = 7.5  # inches: at 150 dpi the report shows it at its size, 9-10 pt text stays readable


def _save(fig, outputs: list[str]) -> None:
    """Every figure: its title and legends inside the file (bbox tight), atomically."""
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip("."), dpi=150, bbox_inches="tight")
    plt.close(fig)


def _title(fig, title: str) -> None:
    fig.suptitle("\n".join(textwrap.wrap(title, 80)), fontsize=11)


def _dots(ax, names, groups, value, lo="ci_low", hi="ci_high", scale=100.0) -> None:
    """Horizontal dot plot: one row per name in ``names`` (top to bottom; a frame's ``_row``),
    one dot per (label, frame) in ``groups`` (model sizes) at ``scale`` × column ``value`` with
    the interval from column ``lo`` to ``hi``; a row absent from a group is skipped."""
    k = len(groups)
    for g, (label, sub) in enumerate(groups):
        color = SIZE_COLORS[g % len(SIZE_COLORS)]
        for i, name in enumerate(names):
            rows = sub[sub["_row"] == name]
            if rows.empty:
                continue
            r = rows.iloc[0]
            y = i + (g - (k - 1) / 2) * 0.8 / k if k > 1 else i
            v, a, b = (scale * r[c] for c in (value, lo, hi))
            ax.errorbar([v], [y], xerr=[[max(v - a, 0)], [max(b - v, 0)]], fmt="o", ms=5,
                        capsize=3, color=color, label=label if i == 0 else None)  # fmt: skip
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # narrow panels: labels apart
    ax.grid(axis="x", color="0.9")


def _se_bounds(df: pd.DataFrame, value: str, se: str) -> pd.DataFrame:
    """``df`` with ``_lo``/``_hi``: ``value`` ± ``se`` (none where the SE is undefined)."""
    e = df[se].fillna(0)
    return df.assign(_lo=df[value] - e, _hi=df[value] + e)


def _in_range(ax, v: float) -> bool:
    a, b = ax.get_xlim()
    return a <= v <= b


def paired_figure(
    table: pd.DataFrame,
    diffs: pd.DataFrame,
    policies: list[str],
    outputs: list[str],
    title: str,
    labels: dict[str, str] | None = None,
    value: str = "winrate",
    xlabel: str = "winrate vs. reference (%)",
    reference: float | None = 50.0,
    unit: str = "points",
):
    """Figures 3 and 5-8: what each policy scores (``value`` × 100, 95% paired-bootstrap
    interval over prompts), the paired differences the figure claims (``diffs``: Δ × 100 with
    its own interval, and the zero line), and the hidden reward r* ± SE over seeds where the
    table has it (the toy task's oracle judge). One dot colour per model size. ``reference``:
    the value of "as good as the reference", drawn when it falls in the plotted range; ``unit``
    of a difference. Returns the (closed) figure."""
    names = {**LABELS, **(labels or {})}
    sizes = list(dict.fromkeys(table["size"]))
    rows = [names.get(p, p) for p in policies if p in set(table["policy"])]
    t = table.assign(_row=table["policy"].map(lambda p: names.get(p, p)))
    d = diffs.assign(
        _row=[f"{names.get(a, a)} − {names.get(b, b)}" for a, b in
              zip(diffs["policy"], diffs["baseline"], strict=True)]
    )  # fmt: skip
    comps = list(dict.fromkeys(d["_row"]))
    has_r = "true_reward" in t and t["true_reward"].notna().all()
    n_seeds = int(table["n_seeds"].max())
    hp, hd = 0.32 * len(rows) + 0.9, 0.32 * max(len(comps), 1) + 0.9
    fig = plt.figure(figsize=(WIDTH, hp + hd + 0.6), layout="constrained")
    grid = fig.add_gridspec(2, 2 if has_r else 1, height_ratios=[hp, hd])
    ax_v = fig.add_subplot(grid[0, 0])
    if has_r:
        t = _se_bounds(t, "true_reward", "true_reward_se")
    groups = [(s, t[t["size"] == s]) for s in sizes]
    if "ci_low" in t:
        _dots(ax_v, rows, groups, value)
        bars = "95% CI over prompts"
    else:  # a table without the bootstrap
        t = _se_bounds(t, value, "se_seeds")
        groups = [(s, t[t["size"] == s]) for s in sizes]
        _dots(ax_v, rows, groups, value, "_lo", "_hi")
        bars = "± SE over seeds"
    ax_v.set_title(xlabel, fontsize=9, loc="left")
    seeds = f"mean of {n_seeds} seed{'s' if n_seeds > 1 else ''}"
    note = f"{bars}, {seeds}" + (f" ({sizes[0]})" if len(sizes) == 1 else "")
    if reference is not None and _in_range(ax_v, reference):
        ax_v.axvline(reference, color="grey", lw=0.8, ls="--")
        note += "\ndashed: as good as the reference"
    ax_v.set_xlabel(note, fontsize=8)
    if has_r:
        ax_r = fig.add_subplot(grid[0, 1], sharey=ax_v)
        _dots(ax_r, rows, groups, "true_reward", "_lo", "_hi", scale=1.0)
        ax_r.tick_params(labelleft=False)
        ax_r.set_title("true reward r* (hidden)", fontsize=9, loc="left")
        ref = float(t["reference_reward"].mean())
        note = "± SE over seeds" if n_seeds > 1 else "one seed: no SE"
        if _in_range(ax_r, ref):
            ax_r.axvline(ref, color="grey", lw=0.8, ls="--")
            note += "\ndashed: the references' r*"
        ax_r.set_xlabel(note, fontsize=8)
    ax_d = fig.add_subplot(grid[1, :])
    if comps:
        _dots(ax_d, comps, [(s, d[d["size"] == s]) for s in sizes], "diff")
    ax_d.axvline(0, color="black", lw=0.9)
    ax_d.set_title(f"paired difference ({unit}): right of 0, the first is better",
                   fontsize=9, loc="left")  # fmt: skip
    ax_d.set_xlabel("95% CI over prompts (paired bootstrap)", fontsize=8)
    if len(sizes) > 1:  # below everything: no dot or interval runs through it
        fig.legend(*ax_v.get_legend_handles_labels(), fontsize=8, frameon=False, title=seeds,
                   title_fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=len(sizes))  # fmt: skip
    _title(fig, title)
    _save(fig, outputs)
    return fig


# --------------------------------------------------------------------------- the RM study


def rm_fit_bars(table: pd.DataFrame, outputs: list[str], title: str) -> None:
    """Figure 9: held-out Bradley–Terry log-likelihood and accuracy of each RM kind, a row per
    RM kind, one dot colour per model size; ± s.e. over seeds. Accuracies: 0.5 is chance."""
    metrics = [m for m in ("loglik", "acc_labels", "acc_rstar") if m in table]
    names = {"loglik": "BT log-likelihood", "acc_labels": "accuracy (labels)",
             "acc_rstar": "accuracy (r*)"}  # fmt: skip
    sizes = list(dict.fromkeys(table["size"]))
    t = table.assign(_row=table["rm"].map(lambda k: RM_LABELS.get(k, k)))
    rows = list(dict.fromkeys(t["_row"]))
    figsize = (WIDTH, 0.4 * len(rows) + 1.6)
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize, sharey=True, layout="constrained")
    for ax, m in zip(axes, metrics, strict=True):
        tm = _se_bounds(t, m, f"{m}_se")
        _dots(ax, rows, [(s, tm[tm["size"] == s]) for s in sizes], m, "_lo", "_hi", scale=1.0)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))  # three panels in one width
        ax.set_title(names[m], fontsize=9)
        if m != "loglik" and _in_range(ax, 0.5):
            ax.axvline(0.5, color="grey", lw=0.8, ls="--")
    pairs, seeds = int(table["val_pairs"].max()), int(table["seeds"].max())
    note = f"{pairs} held-out pairs, mean of {seeds} seed{'s' if seeds != 1 else ''} ± s.e."
    note += "; higher is better"
    if len(sizes) > 1:
        axes[-1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                        title=note, title_fontsize=8)  # fmt: skip
    else:
        fig.supxlabel(f"{sizes[0]}: {note}", fontsize=8)
    _title(fig, title)
    _save(fig, outputs)


def bon_curves(table: pd.DataFrame, outputs: list[str], title: str) -> None:
    """Figure 10: BoN winrate against N, one panel per (size, generator), a line per RM kind,
    error bars the 95% paired-bootstrap interval over prompts. A second row shows r* ± SE over
    seeds when the table has it. The RM kinds sit side by side at each N (no bar hides
    another)."""
    gen_order = {g: i for i, g in enumerate(LABELS)}  # SFT first, as in the paper
    panels = sorted(
        set(zip(table["size"], table["generator"], strict=True)),
        key=lambda p: (p[0], gen_order.get(p[1], 99)),
    )
    kinds = sorted(set(table["rm"]), key=lambda k: list(RM_LABELS).index(k))
    has_r = "true_reward" in table and table["true_reward"].notna().all()
    rows = 2 if has_r else 1
    figsize = (min(WIDTH, 2.6 * len(panels) + 2.2), 2.6 * rows + 0.6)
    fig, axes = plt.subplots(rows, len(panels), figsize=figsize, squeeze=False, sharex="col",
                             layout="constrained")  # fmt: skip
    for j, (size, gen) in enumerate(panels):
        sub = table[(table["size"] == size) & (table["generator"] == gen)]
        for i, kind in enumerate(kinds):
            g = sub[sub["rm"] == kind].sort_values("n")
            x = g["n"] * 1.12 ** (i - (len(kinds) - 1) / 2)  # dodge on the log axis
            color = RM_COLORS.get(kind)
            yerr = [100 * (g["winrate"] - g["ci_low"]), 100 * (g["ci_high"] - g["winrate"])]
            axes[0, j].errorbar(x, 100 * g["winrate"], yerr=[e.clip(lower=0) for e in yerr],
                                marker="o", ms=4, capsize=2, label=RM_LABELS.get(kind, kind),
                                color=color)  # fmt: skip
            if has_r:
                axes[1, j].errorbar(x, g["true_reward"], yerr=g["true_reward_se"].fillna(0),
                                    marker="o", ms=4, capsize=2, color=color)  # fmt: skip
        axes[0, j].set_title(f"{size}, samples from {LABELS.get(gen, gen)}", fontsize=9)
        ns = sorted(sub["n"].unique())
        axes[-1, j].set_xscale("log")
        axes[-1, j].set_xticks(ns, [str(n) for n in ns])
        axes[-1, j].minorticks_off()
        axes[-1, j].set_xlabel("N")
    axes[0, 0].set_ylabel("winrate vs. reference (%)\n95% CI over prompts", fontsize=9)
    if has_r:
        axes[1, 0].set_ylabel("true reward r*\n± SE over seeds", fontsize=9)
    axes[0, -1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _title(fig, title)
    _save(fig, outputs)


def rm_size_bars(
    table: pd.DataFrame, outputs: list[str], title: str, order: list[str] | None = None
) -> None:
    """Figure 4: BoN winrate per policy size (rows), one dot colour per global RM size, sizes
    in ``order`` (the config's); the 95% paired-bootstrap interval over prompts."""
    rank = {s: i for i, s in enumerate(order or [])}
    sizes = sorted(dict.fromkeys(table["size"]), key=lambda s: rank.get(s, len(rank)))
    rm_sizes = sorted(dict.fromkeys(table["rm_size"]), key=lambda s: rank.get(s, len(rank)))
    t = table.assign(_row=[f"policy {s}" for s in table["size"]])
    figsize = (0.75 * WIDTH, 0.45 * len(sizes) * len(rm_sizes) + 1.4)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    groups = [(f"RM {r}", t[t["rm_size"] == r]) for r in rm_sizes]
    _dots(ax, [f"policy {s}" for s in sizes], groups, "winrate")
    n = int(table["n"].max())
    ax.set_xlabel(f"Best-of-{n} winrate vs. reference (%), 95% CI over prompts", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="global RM size", title_fontsize=8)  # fmt: skip
    _title(fig, title)
    _save(fig, outputs)


# --------------------------------------------------------------------------- the gap figure


def gap_figure(
    table: pd.DataFrame, outputs: list[str], title: str, knob: str, caption: str,
    control_label: str = "control",
) -> None:  # fmt: skip
    """The online–offline gap against the gap knob (allroads.gap): per model size a row, the
    control run's pooled differences on their own axis (its r* has its own scale) left of the
    task's, one line per comparison across the strata; dots the paired difference with its
    95% bootstrap interval over prompts, small crosses each seed's mean."""
    sizes = list(dict.fromkeys(table["size"]))
    comps = list(dict.fromkeys(zip(table["policy"], table["baseline"], strict=True)))
    color = {c: SIZE_COLORS[i % len(SIZE_COLORS)] for i, c in enumerate(comps)}
    seeds = [c for c in table.columns if c.startswith("seed_")]
    has_control = (table["run"] == "control").any()
    fig, axes = plt.subplots(
        len(sizes), 2 if has_control else 1, figsize=(WIDTH, 3.0 * len(sizes) + 1.2),
        squeeze=False, layout="constrained",
        gridspec_kw={"width_ratios": [1, 4]} if has_control else None,
    )  # fmt: skip

    def draw(ax, sub, line: bool) -> None:
        xs = list(dict.fromkeys(sub["stratum"]))
        for j, c in enumerate(comps):
            g = sub[(sub["policy"] == c[0]) & (sub["baseline"] == c[1])].sort_values("order")
            if g.empty:
                continue
            x = g["stratum"].map(xs.index) + (j - (len(comps) - 1) / 2) * 0.12
            yerr = [
                (g["diff"] - g["ci_low"]).clip(lower=0),
                (g["ci_high"] - g["diff"]).clip(lower=0),
            ]
            name = f"{LABELS.get(c[0], c[0])} − {LABELS.get(c[1], c[1])}"
            ax.errorbar(x, g["diff"], yerr=yerr, fmt="o-" if line else "o", ms=5, capsize=3,
                        color=color[c], label=name)  # fmt: skip
            for s in seeds:
                ax.plot(x, g[s], "x", ms=4, color=color[c], alpha=0.5)
        n = sub.drop_duplicates("stratum").set_index("stratum")["n_prompts"]
        ax.set_xticks(range(len(xs)), [f"{s}\n(n={n[s]})" for s in xs])
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.axhline(0, color="black", lw=0.9)
        ax.grid(axis="y", color="0.9")

    for i, size in enumerate(sizes):
        ax_t = axes[i, -1]
        draw(ax_t, table[(table["size"] == size) & (table["run"] == "task")], line=True)
        ax_t.set_xlabel(f"{knob} (post-hoc strata of the evaluation prompts)", fontsize=9)
        ax_t.set_title(f"{size}: the task, Δ mean r*", fontsize=9, loc="left")
        if has_control:
            ax_c = axes[i, 0]
            draw(ax_c, table[(table["size"] == size) & (table["run"] == "control")], line=False)
            ax_c.set_title(f"{control_label}, Δ mean r*\n(its own scale)", fontsize=9, loc="left")
            ax_c.set_xlabel("pooled", fontsize=9)
        axes[i, 0].set_ylabel("paired Δ mean r*\n95% CI over prompts", fontsize=9)
    handles, names = [], []
    for ax in axes[:, ::-1].flat:  # the task's comparisons first
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    n_seeds = int(table["n_seeds"].max())
    fig.legend(handles, names, fontsize=8, frameon=False, loc="upper center",
               bbox_to_anchor=(0.5, 0.0), ncol=len(names),
               title=f"mean of up to {n_seeds} seeds; ×: one seed", title_fontsize=8)  # fmt: skip
    fig.text(0.0, -0.12, "\n".join(textwrap.wrap(caption, 120)), fontsize=7, va="top",
             transform=fig.transFigure)  # fmt: skip
    _title(fig, title)
    _save(fig, outputs)
