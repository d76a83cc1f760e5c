"""Rule table_diagnostics: every (size, seed)'s diagnostics as one long CSV, plus a summary
(markdown, and its page for the report)."""

import re

from allroads import diagnostics, report_text
from allroads.io import atomic_path, read_json
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
    what = "Mean ± s.e. over seeds of each diagnostic (allroads/diagnostics.py lists each metric)."
    report_text.write_table(snakemake.output, snakemake.params.title, what, md)
    log.info("\n%s", md)
