"""What the report says in words: each figure's "This run: …" sentence, read off its table, its
display names, and its table page (the figure's ``.md`` table as HTML).

One sentence function per figure kind (allroads.figures: ``winrate``, ``rouge``, ``bon``,
``rm_fit``), each taking the table's rows (and the paired differences where the kind has them)
as dicts, as :func:`read_csv` gives them. Standard library only: ``snakemake --report`` calls
:func:`this_run` from the Snakefile when it labels a figure, in Snakemake's own environment.
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections.abc import Callable, Sequence

# display names of the policies (a figure's own ``labels`` override them) and of the RM kinds
LABELS = {
    "sft": "SFT",
    "dpo": "DPO",
    "dpo2x": "DPO (2x)",
    "online-sft": "Online DPO (SFT)",
    "online-dpo": "Online DPO (DPO)",
    "online-dpo2x": "Online DPO (DPO 2x)",
}
RM_LABELS = {"global": "global RM", "local": "local RM", "dpo": "DPO RM"}

Rows = list[dict]


def read_csv(path: str) -> Rows:
    """A table's rows, numbers as floats (ints where whole), empty cells as NaN."""
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _number(v: str):
    if v == "":
        return math.nan
    try:
        x = float(v)
    except ValueError:
        return v
    return int(x) if x.is_integer() and "." not in v and "e" not in v.lower() else x


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _sizes(rows: Rows) -> list[str]:
    return list(dict.fromkeys(r["size"] for r in rows))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}".replace("-", "−")


def _rank(order: dict, key: str) -> int:
    """Position of ``key`` in ``order`` (SFT before DPO, the global RM first), else last."""
    return list(order).index(key) if key in order else len(order)


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def _where(lo: float, hi: float) -> str:
    if lo > 0:
        return "above 0"
    if hi < 0:
        return "below 0"
    return "includes 0"


def _paired(table: Rows, diffs: Rows, labels: dict | None, value: str, unit: str) -> str:
    """Each size's paired differences with their interval, then r* per policy where the table
    has it (the toy task's oracle judge)."""
    names = {**LABELS, **(labels or {})}

    def name(policy):
        return names.get(policy, policy)

    parts = []
    for size in _sizes(table):
        rows = [r for r in table if r["size"] == size]
        seeds = max(int(r["n_seeds"]) for r in rows)
        head = f"on {size} ({_seeds(seeds)})"
        d = [r for r in diffs if r["size"] == size]
        if d:
            level = f"{100 * d[0]['ci_level']:.0f}%"
            said = [
                f"{name(r['policy'])} − {name(r['baseline'])} = {_signed(r['diff'])}"
                f"{'' if i else f' {unit}'} ({level} CI {_signed(r['ci_low'])} to "
                f"{_signed(r['ci_high'])}, "
                f"{_where(r['ci_low'], r['ci_high'])})"
                for i, r in enumerate(d)
            ]
        else:
            said = [f"{name(r['policy'])} {_pct(r[value])}" for r in rows]
        text = f"{head}, " + "; ".join(said)
        if all(_finite(r.get("true_reward")) for r in rows):
            rs = ", ".join(f"{name(r['policy'])} {r['true_reward']:.3f}" for r in rows)
            ses = [r["true_reward_se"] for r in rows if _finite(r.get("true_reward_se"))]
            se = f", SE over seeds ≤ {max(ses):.3f}" if ses else ""
            text += f"; mean r* {rs} (references {rows[0]['reference_reward']:.3f}{se})"
        parts.append(text)
    return "This run: " + "; ".join(parts) + "."


def winrate(table: Rows, diffs: Rows, labels: dict | None = None) -> str:
    """Figures 3, 5, 7, 8: winrates against the reference and the differences they claim."""
    return _paired(table, diffs, labels, "winrate", "points")


def rouge(table: Rows, diffs: Rows, labels: dict | None = None) -> str:
    """Figure 6: ROUGE-L F1 (×100) and the differences it claims."""
    return _paired(table, diffs, labels, "rouge_l", "ROUGE-L F1 points")


def bon(table: Rows, diffs: Rows | None = None, labels: dict | None = None) -> str:
    """Figure 10 (several N: each RM's pick from N = 1 to the largest N, per generator) or
    Figure 4 (one N: each global RM size's pick, per policy size)."""
    names = {**LABELS, **(labels or {})}
    ns = sorted({int(r["n"]) for r in table})
    parts = []
    if len(ns) > 1:
        panels = dict.fromkeys((r["size"], r["generator"]) for r in table)
        for size, gen in sorted(panels, key=lambda p: (p[0], _rank(LABELS, p[1]))):
            sub = [r for r in table if r["size"] == size and r["generator"] == gen]
            curves = []
            for kind in sorted({r["rm"] for r in sub}, key=lambda k: _rank(RM_LABELS, k)):
                w = {int(r["n"]): r["winrate"] for r in sub if r["rm"] == kind}
                lo, hi = min(w), max(w)
                curves.append(f"{RM_LABELS.get(kind, kind)} {_pct(w[lo])}% → {_pct(w[hi])}%")
            parts.append(f"{names.get(gen, gen)} samples ({size}): " + ", ".join(curves))
        return f"This run: winrate from N = {ns[0]} to N = {ns[-1]}, " + "; ".join(parts) + "."
    for size in _sizes(table):
        sub = [r for r in table if r["size"] == size]
        picks = ", ".join(
            f"RM {r['rm_size']} {_pct(r['winrate'])}% [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"
            for r in sub
        )
        parts.append(f"policy {size}: {picks}")
    return f"This run: Best-of-{ns[0]} winrate (95% CI), " + "; ".join(parts) + "."


def rm_fit(table: Rows, diffs: Rows | None = None, labels: dict | None = None) -> str:
    """Figure 9: each RM kind's held-out Bradley–Terry log-likelihood, ranked."""
    parts = []
    for size in _sizes(table):
        sub = sorted((r for r in table if r["size"] == size), key=lambda r: -r["loglik"])
        fits = ", ".join(
            f"{RM_LABELS.get(r['rm'], r['rm'])} {r['loglik']:.3f}".replace("-", "−")
            + (f" ± {r['loglik_se']:.3f}" if _finite(r.get("loglik_se")) else "")
            for r in sub
        )
        order = " > ".join(RM_LABELS.get(r["rm"], r["rm"]).removesuffix(" RM") for r in sub)
        n = f"{int(sub[0]['val_pairs'])} held-out pairs, {_seeds(int(sub[0]['seeds']))}"
        parts.append(f"{size} ({n}): log-likelihood {fits}, so {order}")
    return "This run: " + "; ".join(parts) + "."


SENTENCES: dict[str, Callable[..., str]] = {
    "winrate": winrate,
    "rouge": rouge,
    "bon": bon,
    "rm_fit": rm_fit,
}


def this_run(kind: str, csv_path: str, diffs_path: str | None = None, labels=None) -> str:
    """The "This run: …" sentence of a figure of ``kind`` from its table files."""
    if kind not in SENTENCES:
        raise ValueError(f"figure kind {kind!r}: no sentence for it (one of {sorted(SENTENCES)})")
    diffs = read_csv(diffs_path) if diffs_path else []
    return SENTENCES[kind](read_csv(csv_path), diffs, labels)


def report_labels(wildcards, input, params) -> dict:
    """A figure's labels in the report (``report(labels=...)``; Snakemake calls it when it makes
    the report, after the figure's rule ran): its title, and this run's sentence read off its
    table (params ``title``, ``kind`` and ``labels``; inputs ``csv`` and ``diffs``, if any)."""
    sentence = this_run(params.kind, input.csv, input.get("diffs"), params.get("labels"))
    return {"figure": sort_label(params.title), "this run": sentence}


def table_labels(wildcards, params) -> dict:
    """A table page's label in the report: its title (param ``title``)."""
    return {"table": sort_label(params.title)}


def sort_label(title: str) -> str:
    """``title`` with one more space before a one-digit figure number: the report lists its
    results sorted as text (Figure 10 before Figure 3); the space sorts first, and HTML shows
    one."""
    return re.sub(r"^(Figure) (\d)\b", r"\1  \2", title)


# --------------------------------------------------------------------------- table pages


def _td(cell: str) -> str:
    """A table cell, numbers (and intervals) right-aligned, names left."""
    num = re.match(r"^[\[(]?[-+−]?\d", cell) is not None
    return f'<td class="{"n" if num else "t"}">{html.escape(cell)}</td>'


def markdown_html(md: str) -> str:
    """Our tables' markdown (pipe tables and plain lines, allroads.winrate.to_markdown and
    friends) as HTML. Hand-written: the report's environment has no markdown package, and
    these files use nothing else."""
    out, rows = [], []

    def flush():
        if rows:
            head, body = rows[0], [r for r in rows[2:]]
            th = "".join(f"<th>{html.escape(c)}</th>" for c in head)  # left: the CSS
            trs = "".join("<tr>" + "".join(_td(c) for c in r) + "</tr>" for r in body)
            out.append(f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
            rows.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush()
        if line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)


STYLE = (
    "body{font-family:system-ui,sans-serif;font-size:14px;margin:1.2em;color:#222}"
    "table{border-collapse:collapse;margin:.6em 0 1.2em}"
    "th,td{border-bottom:1px solid #ddd;padding:.25em .7em;white-space:nowrap;text-align:left}"
    "th{background:#f3f3f3;white-space:normal;vertical-align:bottom}td.n{text-align:right}"
    "p{max-width:60em;line-height:1.4}"
)


def table_page(title: str, caption: str, sentence: str, md: str, sources: Sequence[str]) -> str:
    """A table page for the report: title, caption, this run's sentence (if any), the tables
    and the files they come from."""
    files = ", ".join(f"<code>{html.escape(s)}</code>" for s in sources)
    said = f"<p><b>{html.escape(sentence)}</b></p>" if sentence else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>"
        f"<p>{html.escape(caption)}</p>{said}{markdown_html(md)}<p>Files: {files}.</p>"
        "</body></html>\n"
    )


def write_table(output, title: str, caption: str, md: str) -> None:
    """A long table's markdown (``output.md``) and its report page (``output.html``, from
    ``output.csv``), written atomically: the diagnostics' and pre-registration's tables."""
    from .io import write_text

    write_text(output.md, md)
    write_text(output.html, table_page(title, caption, "", md, [output.csv]))
