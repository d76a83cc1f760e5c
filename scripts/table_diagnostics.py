"""Rule table_diagnostics: every (size, seed)'s diagnostics as one long CSV, plus a summary
(markdown, and its page for the report)."""

import re

from allroads import diagnostics, report_text
from allroads.io import atomic_path, read_json, write_text
from allroads.jobs import job

with job(snakemake) as log:
    rows = []
    for path in snakemake.input:
        size, seed = re.search(r"([^/]+)/seed(\d+)(?:\.\w+)?\.json$", path).groups()
        for metric, value in sorted(read_json(path).items()):
            rows.append({"size": size, "seed": int(seed), "metric": metric, "value": value})
    import pandas as pd

    with atomic_path(snakemake.output.csv) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    summary = diagnostics.summarize(rows)
    md = diagnostics.to_markdown(summary)
    write_text(snakemake.output.md, md)
    what = "Mean ± s.e. over seeds of each diagnostic (allroads/diagnostics.py lists each metric)."
    page = report_text.table_page(snakemake.params.title, what, "", md, [snakemake.output.csv])
    write_text(snakemake.output.html, page)
    log.info("\n%s", md)
