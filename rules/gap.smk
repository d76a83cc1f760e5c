# The gap figure, beyond the paper (allroads.gap): the online-offline gap in mean r* against
# the task's gap knob (Task.stratum), the control run's as its leftmost point. Its own target,
# never in `all`:
#
#   snakemake --cores 2 results/figures/gap.png
#
# Not a registry figure (allroads.figures): those are the paper's, chosen by config `figures`
# into `all`, and read one run's judgments; this one reads two runs' samples through the task.

if not IN_MODULE:

    rule gap:
        """The gap table (CSV + markdown) and figure (PDF and PNG): eval.comparisons' paired
        differences in mean r* per stratum of the knob, paired-bootstrap intervals over
        prompts, per-seed means; the control run's pooled."""
        input:
            lambda wc: [f for r in gap_runs() for f in [r["prompts"]] + [x[3] for x in r["files"]]],
        output:
            csv=f"{R}/tables/gap.csv",
            md=f"{R}/tables/gap.md",
            pdf=f"{R}/figures/gap.pdf",
            png=f"{R}/figures/gap.png",
        log:
            f"{R}/logs/report/gap.log",
        conda:
            "../envs/report.yaml"
        params:
            runs=lambda wc: gap_runs(),
            min_prompts=config["gap"]["min_prompts"],
            bootstrap=config["eval"]["bootstrap"],
        script:
            "../scripts/gap.py"
