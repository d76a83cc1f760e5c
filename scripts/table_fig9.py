"""Rule table_fig9: each RM kind's held-out Bradley–Terry log-likelihood and accuracy per size,
mean ± s.e. over seeds, with the number of validation pairs (Figure 9)."""

import re

import pandas as pd

from allroads.io import atomic_path, read_json, write_text
from allroads.jobs import job

with job(snakemake) as log:
    rows = []
    for path in snakemake.input:
        size, seed = re.search(r"([^/]+)/seed(\d+)\.json$", path).groups()
        m = read_json(path)
        for kind in snakemake.params.kinds:
            row = {"size": size, "seed": int(seed), "rm": kind, "val_pairs": m["val_pairs"]}
            for k in ("loglik", "acc_labels", "acc_rstar"):
                if f"val_{kind}_rm_{k}" in m:
                    row[k] = m[f"val_{kind}_rm_{k}"]
            rows.append(row)
    df = pd.DataFrame(rows)
    metrics = [c for c in ("loglik", "acc_labels", "acc_rstar") if c in df]
    g = df.groupby(["size", "rm"], sort=False)
    out = g[metrics].mean()
    se = g[metrics].std(ddof=1) / g[metrics].count().pow(0.5)
    out = out.join(se.add_suffix("_se")).join(g["seed"].count().rename("seeds"))
    out = out.join(g["val_pairs"].first()).reset_index()
    order = {k: i for i, k in enumerate(snakemake.params.kinds)}
    out = out.sort_values(["size", "rm"], key=lambda s: s.map(order) if s.name == "rm" else s)
    with atomic_path(snakemake.output.csv) as tmp:
        out.to_csv(tmp, index=False)
    names = {"loglik": "BT log-likelihood", "acc_labels": "accuracy (labels)",
             "acc_rstar": "accuracy (r*)"}  # fmt: skip
    head = ["size", "RM"] + [f"{names[k]} ± s.e." for k in metrics] + ["seeds", "pairs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in out.to_dict("records"):
        vals = [f"{r[k]:.3f} ± {r[k + '_se']:.3f}" for k in metrics]
        lines.append("| " + " | ".join([r["size"], r["rm"], *vals, str(r["seeds"]),
                                        str(r["val_pairs"])]) + " |")  # fmt: skip
    write_text(snakemake.output.md, "\n".join(lines) + "\n")
    log.info("\n%s", "\n".join(lines))
