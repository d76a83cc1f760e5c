"""Rule table_prereg: the pre-registered criteria (allroads.prereg), met or not, from the
diagnostics of this run and of the control run, as CSV, markdown and the report's page."""

from allroads import prereg, report_text
from allroads.io import atomic_path
from allroads.jobs import job

with job(snakemake) as log:
    control = prereg.read(snakemake.input.control) if snakemake.input.control else None
    rows = prereg.evaluate(prereg.read(snakemake.input.main), control, snakemake.params.thresholds)
    import pandas as pd

    with atomic_path(snakemake.output.csv) as tmp:
        pd.DataFrame(rows, columns=prereg.COLUMNS).to_csv(tmp, index=False)
    md = prereg.to_markdown(rows)
    what = "Each pre-registered criterion, met or not (allroads/prereg.py lists them)."
    report_text.write_table(snakemake.output, snakemake.params.title, what, md)
    log.info("\n%s", md)
