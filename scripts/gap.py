"""Rule gap: the online-offline gap against the task's gap knob, table and figure
(allroads.gap)."""

import pandas as pd

from allroads import gap, plots
from allroads.io import atomic_path, write_text
from allroads.jobs import job
from allroads.report_text import LABELS
from allroads.tasks import get_task

with job(snakemake) as log:
    p, out = snakemake.params, snakemake.output
    b = p.bootstrap
    tables, knob, control_label = [], None, "control"
    for run in p.runs:
        task = get_task(run["task"])
        posts, records = gap.read_scores(task, run["prompts"], [tuple(f) for f in run["files"]])
        stratum_of = None  # the control run: pooled, its own point
        if run["run"] == "task":
            stratum_of, knob = {k: task.stratum(v) for k, v in posts.items()}, task.strata
        else:
            control_label = run["label"]
        tables.append(
            gap.gap_table(records, run["comparisons"], stratum_of, p.min_prompts, b["resamples"],
                          b["seed"], b["level"], run=run["run"])
        )  # fmt: skip
    table = pd.concat(tables, ignore_index=True)
    with atomic_path(out.csv) as tmp:
        table.to_csv(tmp, index=False)
    md = gap.to_markdown(table, knob, LABELS)
    write_text(out.md, md)
    plots.gap_figure(table, [out.pdf, out.png], f"The online–offline gap against {knob}", knob,
                     gap.CAPTION, control_label)  # fmt: skip
    log.info("\n%s", md)
